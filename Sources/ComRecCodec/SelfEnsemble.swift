import ComRecKernels

// A network's self-ensemble: the image restored in each of the eight orientations of a square
// (flips and transposes), each result turned back and the eight averaged. A network trained on
// photos in every orientation makes slightly different errors in each, and their mean is better
// than any one: about 0.1 dB for `comrec enhance --effort 2`, at eight times the work
// (docs/results.md, "Full mode").

/// One of the eight orientations: transposed (x and y swapped) first, then flipped.
public struct Orientation: Equatable, Sendable {
    public let transposed: Bool
    public let flippedHorizontally: Bool
    public let flippedVertically: Bool

    public init(transposed: Bool, flippedHorizontally: Bool, flippedVertically: Bool) {
        self.transposed = transposed
        self.flippedHorizontally = flippedHorizontally
        self.flippedVertically = flippedVertically
    }

    /// All eight, the identity first.
    public static let all: [Orientation] = (0..<8).map {
        Orientation(transposed: $0 & 4 != 0, flippedHorizontally: $0 & 1 != 0, flippedVertically: $0 & 2 != 0)
    }

    /// The size of a `width` x `height` image in this orientation.
    func size(width: Int, height: Int) -> (width: Int, height: Int) {
        transposed ? (height, width) : (width, height)
    }

    /// The pixel of a `width` x `height` source that lands at (x, y) of the oriented image.
    @inline(__always)
    func source(x: Int, y: Int, width: Int, height: Int) -> (x: Int, y: Int) {
        let oriented = size(width: width, height: height)
        let fx = flippedHorizontally ? oriented.width - 1 - x : x
        let fy = flippedVertically ? oriented.height - 1 - y : y
        return transposed ? (fy, fx) : (fx, fy)
    }
}

extension RGB8Image {
    /// This image in `orientation`.
    public func oriented(_ orientation: Orientation) throws(ComRecError) -> RGB8Image {
        let size = orientation.size(width: width, height: height)
        return try transformed(width: size.width, height: size.height) { src, dst in
            for y in 0..<size.height {
                for x in 0..<size.width {
                    let from = orientation.source(x: x, y: y, width: width, height: height)
                    let s = (from.y * width + from.x) * 3, d = (y * size.width + x) * 3
                    dst[d] = src[s]
                    dst[d + 1] = src[s + 1]
                    dst[d + 2] = src[s + 2]
                }
            }
        }
    }

    /// This image grown to `width` x `height` (at least its own) by repeating its last column and
    /// its last row.
    public func padded(toWidth newWidth: Int, height newHeight: Int) throws(ComRecError) -> RGB8Image {
        precondition(newWidth >= width && newHeight >= height && width > 0 && height > 0)
        return try transformed(width: newWidth, height: newHeight) { src, dst in
            for y in 0..<newHeight {
                let row = src + min(y, height - 1) * width * 3
                let out = dst + y * newWidth * 3
                out.update(from: row, count: width * 3)
                for x in width..<newWidth {
                    (out + x * 3).update(from: row + (width - 1) * 3, count: 3)
                }
            }
        }
    }
}

/// `restore` run on `image` in every orientation of `orientations`, each result turned back, and
/// the results averaged (each sum rounded half up: the same bytes everywhere). The image is first
/// padded to a multiple of `grid` on each side (repeating its last column and row), so that in
/// every orientation the JPEG's blocks (8 x 8; 16 x 16 for 4:2:0 chroma) start where they did.
public func selfEnsemble(
    _ image: RGB8Image, orientations: [Orientation] = Orientation.all, grid: Int = 16,
    restore: (RGB8Image) throws(ComRecError) -> RGB8Image
) throws(ComRecError) -> RGB8Image {
    precondition(!orientations.isEmpty && grid > 0)
    let width = image.width, height = image.height
    let padded = try image.padded(toWidth: (width + grid - 1) / grid * grid, height: (height + grid - 1) / grid * grid)
    var sums = try ComRecError.allocating { () throws(AllocationFailure) in
        try LargeBuffer<UInt32>(repeating: 0, count: width * height * 3)
    }
    for orientation in orientations {
        let restored = try restore(try padded.oriented(orientation))
        let oriented = orientation.size(width: padded.width, height: padded.height)
        precondition(restored.width == oriented.width && restored.height == oriented.height, "restore must keep the size")
        restored.pixels.withUnsafeBufferPointer { out in
            sums.withUnsafeMutableBufferPointer { sum in
                // Where each pixel of the (unpadded) image went in this orientation.
                for y in 0..<oriented.height {
                    for x in 0..<oriented.width {
                        let at = orientation.source(x: x, y: y, width: padded.width, height: padded.height)
                        guard at.x < width && at.y < height else { continue }
                        let s = (y * oriented.width + x) * 3, d = (at.y * width + at.x) * 3
                        sum[d] += UInt32(out[s])
                        sum[d + 1] += UInt32(out[s + 1])
                        sum[d + 2] += UInt32(out[s + 2])
                    }
                }
            }
        }
    }
    let count = UInt32(orientations.count)
    return try image.transformed(width: width, height: height) { _, dst in
        sums.withUnsafeBufferPointer { sum in
            for i in 0..<sum.count { dst[i] = UInt8((sum[i] + count / 2) / count) }
        }
    }
}
