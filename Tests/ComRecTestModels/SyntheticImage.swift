// The synthetic images of the golden vectors: Training/comrec_train/golden.py's synthetic_image,
// in the same unsigned 32-bit integer arithmetic, so that the hashes in Fixtures/golden/ can be
// checked without image files (also in the Embedded build under qemu). Change both together.

/// RGB8 pixels (`height` rows of `width` pixels) of golden.synthetic_image(width, height, seed).
public func goldenSyntheticImage(width: Int, height: Int, seed: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: width * height * 3)
    let dx = max(width - 1, 1), dy = max(height - 1, 1)
    for y in 0..<height {
        for x in 0..<width {
            for c in 0..<3 {
                var h = (UInt32(truncatingIfNeeded: x) &* 73_856_093) ^ (UInt32(truncatingIfNeeded: y) &* 19_349_663)
                    ^ (UInt32(truncatingIfNeeded: c + 3 * seed) &* 83_492_791)
                h ^= h >> 13
                h = h &* 1_274_126_177
                h ^= h >> 16
                let ramp = (x * 255 / dx * (c + 1) + y * 255 / dy * (3 - c)) / 4
                let block = (x / 5 + y / 7 + seed) % 3 == 0 ? 96 : 0
                let value = ramp + block + Int(h & 63) - 32
                out[(y * width + x) * 3 + c] = UInt8(min(max(value, 0), 255))
            }
        }
    }
    return out
}
