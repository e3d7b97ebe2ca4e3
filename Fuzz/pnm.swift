// libFuzzer target: the PPM/PGM reader (PNM.decode, Sources/ComRecIO/PNM.swift) and the format
// detection that routes a file to it. Images are limited to 2^20 pixels.
// Properties: no trap, no sanitizer report; a decoded image has width * height * 3 bytes and is
// within the limit.
import ComRecCodec
import ComRecIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNM(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzInput(data, size)
    _ = ImageFormat.detect(bytes)
    do {
        let image = try PNM.decode(bytes, maxPixels: 1 << 20)
        require(image.pixels.count == image.width * image.height * 3 && image.width * image.height <= 1 << 20,
                "a \(image.width) x \(image.height) image of \(image.pixels.count) bytes")
    } catch {
        _ = "\(error)"
    }
    return 0
}
