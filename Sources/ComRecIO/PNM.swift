import ComRecCodec
import ComRecKernels

/// Binary Netpbm images: PGM (P5, grey) and PPM (P6, RGB), 8 or 16 bits per sample.
public enum PNM {
    /// Decodes P5/P6 to RGB8. Samples with a maxval other than 255 are scaled to 0...255 with
    /// rounding: v8 = (v * 255 + maxval / 2) / maxval (16-bit samples are big-endian, as the
    /// format says). The claimed size is checked against `maxPixels` before allocating.
    public static func decode(_ bytes: [UInt8], maxPixels: Int = defaultMaxPixels) throws -> RGB8Image {
        try decode(bytes, options: ImageReadOptions(maxPixels: maxPixels))
    }

    /// The same within `options`' pixel limit and working-memory check (WorkingMemory.admit).
    public static func decode(_ bytes: [UInt8], options: ImageReadOptions) throws -> RGB8Image {
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "P") else { throw invalid("it does not start with P5 or P6") }
        let channels: Int
        switch bytes[1] {
        case UInt8(ascii: "5"): channels = 1
        case UInt8(ascii: "6"): channels = 3
        case UInt8(ascii: "1"), UInt8(ascii: "2"), UInt8(ascii: "3"), UInt8(ascii: "4"), UInt8(ascii: "7"):
            throw ComRecIOError(.unsupportedNetpbm(type: Character(Unicode.Scalar(bytes[1]))))
        default:
            throw invalid("it does not start with P5 or P6")
        }
        var position = 2
        func number(_ what: String) throws -> Int {
            // Whitespace and '#' comments (to the end of the line) may precede each number.
            while position < bytes.count {
                let b = bytes[position]
                if b == UInt8(ascii: "#") {
                    while position < bytes.count, bytes[position] != 10, bytes[position] != 13 { position += 1 }
                } else if b == 32 || (9...13).contains(b) {
                    position += 1
                } else {
                    break
                }
            }
            var value = 0, digits = 0
            while position < bytes.count, (48...57).contains(bytes[position]) {
                value = value * 10 + Int(bytes[position] - 48)
                digits += 1
                position += 1
                if digits > 9 { throw invalid("the \(what) has too many digits") }
            }
            if digits == 0 { throw invalid(position >= bytes.count ? "the header is truncated" : "the \(what) is not a number") }
            return value
        }
        let width = try number("width")
        let height = try number("height")
        let maxval = try number("maxval")
        // Exactly one whitespace byte separates the header from the samples.
        guard position < bytes.count, bytes[position] == 32 || (9...13).contains(bytes[position]) else {
            throw invalid("the header is truncated")
        }
        position += 1
        guard (1...65535).contains(maxval) else { throw invalid("maxval \(maxval) is not in 1...65535") }
        let sampleBytes = maxval > 255 ? 2 : 1
        try WorkingMemory.admit(width: width, height: height, options: options)
        let needed = width * height * channels * sampleBytes
        guard bytes.count - position >= needed else {
            throw invalid("the pixel data is truncated (\(bytes.count - position) of \(needed) bytes)")
        }
        var image = try RGB8Image(width: width, height: height)
        let half = maxval / 2
        try image.pixels.withUnsafeMutableBufferPointer { pixels throws(ComRecIOError) in
            for i in 0..<(width * height) {
                for c in 0..<3 {
                    let sample = i * channels + (channels == 3 ? c : 0)
                    let at = position + sample * sampleBytes
                    let v = sampleBytes == 2 ? Int(bytes[at]) << 8 | Int(bytes[at + 1]) : Int(bytes[at])
                    guard v <= maxval else { throw invalid("a sample (\(v)) is over maxval \(maxval)") }
                    pixels[3 * i + c] = maxval == 255 ? UInt8(v) : UInt8((v * 255 + half) / maxval)
                }
            }
        }
        return image
    }

    private static func invalid(_ why: String) -> ComRecIOError {
        ComRecIOError(.pnm(why))
    }
}

extension PNM {
    /// The binary PPM (P6) or, for `grey`, PGM (P5) header of a `width x height` image with maxval 255.
    static func header(width: Int, height: Int, grey: Bool = false) -> [UInt8] {
        Array("\(grey ? "P5" : "P6")\n\(width) \(height)\n255\n".utf8)
    }

    /// `image` as binary PPM (P6, maxval 255).
    public static func encode(_ image: RGB8Image) -> [UInt8] {
        header(width: image.width, height: image.height) + image.pixels
    }

    /// A binary PPM (or, for `grey`, PGM) written a row at a time into an AtomicOutput.
    public final class RowWriter {
        private let output: AtomicOutput
        private let rowBytes: Int

        /// Starts a P6 (P5 for `grey`) image of `width x height` in `output`.
        public init(output: AtomicOutput, width: Int, height: Int, grey: Bool = false) throws {
            self.output = output
            rowBytes = width * (grey ? 1 : 3)
            try PNM.header(width: width, height: height, grey: grey).withUnsafeBytes { try output.append($0) }
        }

        /// Writes the next row (width * 3 bytes, width for grey).
        public func write(row: UnsafePointer<UInt8>) throws {
            try output.append(UnsafeRawBufferPointer(start: row, count: rowBytes))
        }
    }
}
