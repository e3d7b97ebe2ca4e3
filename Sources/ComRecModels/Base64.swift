// Base64 (RFC 4648, standard alphabet, '=' padding) decoding for the weight blobs of generated
// models. Generated files hold each network's weights in one StaticString literal: the Swift
// compiler handles a megabyte string literal in a fraction of a second, where an [Int8] array
// literal of 100k elements took 19 s (docs/models.md). Embedded-safe: no Foundation.

/// Decodes `text`, skipping line breaks and spaces. Returns nil on any other character outside the
/// alphabet, on padding in the middle, or on a length that is not a whole number of groups.
/// One table lookup per character: the shipped profiles' blobs (about 1 MB of text) decode in well
/// under a millisecond, which matters because every `comrec` process decodes them at start-up.
public func decodeBase64(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
    let padSymbol: UInt8 = 64, skipped: UInt8 = 65, invalid: UInt8 = 255
    var table = [UInt8](repeating: invalid, count: 256)
    for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
        table[Int(c)] = UInt8(i)
    }
    table[0x3D] = padSymbol  // '='
    for c: UInt8 in [0x0A, 0x0D, 0x20] { table[Int(c)] = skipped }
    var valid = true
    let out = table.withUnsafeBufferPointer { table in
        [UInt8](unsafeUninitializedCapacity: text.count / 4 * 3 + 3) { out, written in
            var n = 0, group: UInt32 = 0, count = 0, padding = 0
            for byte in text {
                let value = table[Int(byte)]
                if value < padSymbol {
                    // A symbol after padding, or after a padded group (count -1), is malformed.
                    guard padding == 0 else { valid = false; break }
                } else if value == padSymbol {
                    // Padding only in the last group, after at least two symbols.
                    guard count >= 2 else { valid = false; break }
                    padding += 1
                } else if value == skipped {
                    continue
                } else {
                    valid = false
                    break
                }
                group = group << 6 | UInt32(value & 63)
                count += 1
                if count == 4 {
                    out[n] = UInt8(truncatingIfNeeded: group >> 16)
                    out[n + 1] = UInt8(truncatingIfNeeded: group >> 8)
                    out[n + 2] = UInt8(truncatingIfNeeded: group)
                    n += 3 - padding
                    count = padding > 0 ? -1 : 0  // nothing may follow a padded group
                    group = 0
                }
            }
            if count != 0 && count != -1 { valid = false }
            written = n
        }
    }
    return valid ? out : nil
}
