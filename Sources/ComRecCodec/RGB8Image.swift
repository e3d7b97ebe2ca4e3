/// An 8-bit RGB image in memory: `height` rows of `width` pixels, 3 bytes per pixel (R, G, B),
/// rows packed with no padding. Every image that passes between ComRec's layers has this form.
public struct RGB8Image: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes.
    public var pixels: [UInt8]

    /// An image filled with `value` in every channel.
    public init(width: Int, height: Int, value: UInt8 = 0) {
        precondition(width >= 0 && height >= 0)
        self.width = width
        self.height = height
        self.pixels = [UInt8](repeating: value, count: width * height * 3)
    }

    /// An image over existing pixels; `pixels.count` must be `width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3)
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public var pixelCount: Int { width * height }

    /// The three bytes of pixel (x, y).
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}

/// The size of the compact image for an original of `width` x `height`: both sides halved,
/// rounded up (the resamplers' ceil(W / 2) x ceil(H / 2)).
public func compactSize(width: Int, height: Int) -> (width: Int, height: Int) {
    ((width + 1) / 2, (height + 1) / 2)
}

extension RGB8Image {
    /// Whether every pixel has three equal channels: a grey image, whatever file it came from
    /// (grey PNG or JPEG, PGM, or colour without colour), which ComRec stores as grey.
    public var isGrey: Bool {
        pixels.withUnsafeBufferPointer { p in
            var i = 0
            while i < p.count {
                if p[i] != p[i + 1] || p[i] != p[i + 2] { return false }
                i += 3
            }
            return true
        }
    }

    /// The first channel of every pixel (`width * height` bytes): a grey image's samples.
    public func greyChannel() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: pixelCount) { grey, count in
            pixels.withUnsafeBufferPointer { p in
                for i in 0..<pixelCount { grey[i] = p[3 * i] }
            }
            count = pixelCount
        }
    }
}
