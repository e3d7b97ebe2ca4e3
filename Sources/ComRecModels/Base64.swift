// Base64 (RFC 4648, standard alphabet, '=' padding) decoding for the weight blobs of generated
// models. Generated files hold each network's weights in one StaticString literal: the Swift
// compiler handles a megabyte string literal in a fraction of a second, where an [Int8] array
// literal of 100k elements took 19 s (docs/models.md). Embedded-safe: no Foundation.

/// Decodes `text`, skipping line breaks and spaces. Returns nil on any other character outside the
/// alphabet, on padding in the middle, or on a length that is not a whole number of groups.
public func decodeBase64(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(text.count / 4 * 3)
    var group: UInt32 = 0, count = 0, padding = 0
    for byte in text {
        if byte == 0x0A || byte == 0x0D || byte == 0x20 { continue }
        let value: UInt32
        switch byte {
        case 0x41...0x5A: value = UInt32(byte - 0x41)  // A-Z
        case 0x61...0x7A: value = UInt32(byte - 0x61) + 26  // a-z
        case 0x30...0x39: value = UInt32(byte - 0x30) + 52  // 0-9
        case 0x2B: value = 62  // +
        case 0x2F: value = 63  // /
        case 0x3D:  // '=': only in the last group, after at least two symbols
            guard count >= 2 else { return nil }
            padding += 1
            value = 0
        default: return nil
        }
        if padding > 0 && byte != 0x3D { return nil }
        group = group << 6 | value
        count += 1
        if count == 4 {
            out.append(UInt8(truncatingIfNeeded: group >> 16))
            if padding < 2 { out.append(UInt8(truncatingIfNeeded: group >> 8)) }
            if padding < 1 { out.append(UInt8(truncatingIfNeeded: group)) }
            if padding > 0 { count = -1 }  // nothing may follow a padded group
            else { count = 0 }
            group = 0
        } else if count == 0 {
            return nil  // a symbol after a padded group
        }
    }
    return count == 0 || count == -1 ? out : nil
}
