/// The scans of a JPEG: its SOS markers. The segments before the first scan are stepped over by
/// their lengths (an APPn payload may hold any bytes); after it, entropy-coded data never has 0xFF
/// before 0xDA (0xFF is followed by 0x00 or a restart marker) and neither has a DHT segment, so
/// each 0xFF 0xDA there starts a scan. A baseline file has one; 0 when no scan is found.
public func scanCount(_ file: [UInt8]) -> Int {
    var i = 2
    while i + 3 < file.count, file[i] == 0xFF, file[i + 1] != 0xDA {
        i += 2 + (Int(file[i + 2]) << 8 | Int(file[i + 3]))
    }
    guard i + 1 < file.count, file[i] == 0xFF, file[i + 1] == 0xDA else { return 0 }
    return zip(file[i...], file[(i + 1)...]).filter { $0 == 0xFF && $1 == 0xDA }.count
}
