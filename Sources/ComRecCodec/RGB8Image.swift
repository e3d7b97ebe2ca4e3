import ComRecKernels

/// An 8-bit RGB image in memory: `height` rows of `width` pixels, 3 bytes per pixel (R, G, B),
/// rows packed with no padding. Every image that passes between ComRec's layers has this form.
/// Its pixels are a LargeBuffer: making an image fails as `ComRecError.outOfMemory` when the
/// system refuses the memory, where an array would stop the process.
public struct RGB8Image: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes.
    public var pixels: LargeBuffer<UInt8>

    /// An image filled with `value` in every channel.
    public init(width: Int, height: Int, value: UInt8 = 0) throws(ComRecError) {
        precondition(width >= 0 && height >= 0)
        self.width = width
        self.height = height
        self.pixels = try ComRecError.allocating { () throws(AllocationFailure) in
            try LargeBuffer(repeating: value, count: width * height * 3)
        }
    }

    /// An image over existing pixels; `pixels.count` must be `width * height * 3`.
    public init(width: Int, height: Int, pixels: LargeBuffer<UInt8>) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3)
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image with a copy of `pixels` (`width * height * 3` bytes).
    public init(width: Int, height: Int, pixels: [UInt8]) throws(ComRecError) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3)
        self.width = width
        self.height = height
        self.pixels = try ComRecError.allocating { () throws(AllocationFailure) in try LargeBuffer(pixels) }
    }

    public var pixelCount: Int { width * height }

    /// The three bytes of pixel (x, y).
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}

extension RGB8Image {
    /// A new `width` x `height` image that `fill` writes from this image's pixels (a network or a
    /// resampler: source, then destination, both packed RGB); memory that either needs and the
    /// system refuses is `outOfMemory`.
    public func transformed(
        width: Int, height: Int,
        by fill: (UnsafePointer<UInt8>, UnsafeMutablePointer<UInt8>) throws(AllocationFailure) -> Void
    ) throws(ComRecError) -> RGB8Image {
        var out = try RGB8Image(width: width, height: height)
        try pixels.withUnsafeBufferPointer { src throws(ComRecError) in
            try out.pixels.withUnsafeMutableBufferPointer { dst throws(ComRecError) in
                try ComRecError.allocating { () throws(AllocationFailure) in try fill(src.baseAddress!, dst.baseAddress!) }
            }
        }
        return out
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
    public func greyChannel() throws(ComRecError) -> LargeBuffer<UInt8> {
        try ComRecError.allocating { () throws(AllocationFailure) in
            try LargeBuffer(uninitializedCount: pixelCount) { grey in
                pixels.withUnsafeBufferPointer { p in
                    for i in 0..<pixelCount { grey[i] = p[3 * i] }
                }
            }
        }
    }
}
