import CComRecImage
import ComRecCodec
import ComRecKernels

// The encoder's own path to JPEG coefficients, for trellis quantisation (TrellisQuantiser.swift):
// colour conversion, chroma averaging and the forward DCT here, then the quantised coefficients
// handed to libjpeg-turbo (jpeg_write_coefficients), which writes the tables, the Huffman coding
// and the markers exactly as its own encoder does. Integer arithmetic throughout (same bytes on
// every ISA); samples and coefficients carry 4 fractional bits (1/16 units), so no precision is
// lost to 8-bit rounding before the DCT.

/// (c(u) / 2) * cos((2n + 1) u pi / 16) * 8192, rounded; c(0) = 1 / sqrt(2): the orthonormal
/// 8-point DCT-II (which is JPEG's, T.81 A.3.3) in 13-bit fixed point, row u, column n.
private let dctBasis: [Int32] = [
    2896, 2896, 2896, 2896, 2896, 2896, 2896, 2896,
    4017, 3406, 2276, 799, -799, -2276, -3406, -4017,
    3784, 1567, -1567, -3784, -3784, -1567, 1567, 3784,
    3406, -799, -4017, -2276, 2276, 4017, 799, -3406,
    2896, -2896, -2896, 2896, 2896, -2896, -2896, 2896,
    2276, -4017, 799, 3406, -3406, -799, 4017, -2276,
    1567, -3784, 3784, -1567, -1567, 3784, -3784, 1567,
    799, -2276, 3406, -4017, 4017, -3406, 2276, -799,
]

/// One component's samples minus 128 (level shift), in 1/16 units, padded by repeating the last
/// column and row to whole blocks, as libjpeg pads its own.
struct ComponentPlane {
    let widthInBlocks: Int
    let heightInBlocks: Int
    var samples: LargeBuffer<Int16>

    var stride: Int { widthInBlocks * 8 }

    /// The block's forward DCT (natural order, 1/16 units); `scratch` holds 64 values between the
    /// row and the column pass.
    func transform(blockColumn: Int, blockRow: Int, into out: UnsafeMutablePointer<Int32>,
                   scratch rows: UnsafeMutablePointer<Int32>) {
        let origin = blockRow * 8 * stride + blockColumn * 8
        samples.withUnsafeBufferPointer { plane in
            dctBasis.withUnsafeBufferPointer { basis in
                for y in 0..<8 {
                    let line = origin + y * stride
                    for u in 0..<8 {
                        var sum: Int32 = 0
                        for n in 0..<8 { sum &+= Int32(plane[line + n]) &* basis[u * 8 + n] }
                        rows[y * 8 + u] = sum
                    }
                }
                for v in 0..<8 {
                    for u in 0..<8 {
                        var sum: Int64 = 0
                        for y in 0..<8 { sum &+= Int64(basis[v * 8 + y]) &* Int64(rows[y * 8 + u]) }
                        out[v * 8 + u] = Int32((sum + (1 << 25)) >> 26)
                    }
                }
            }
        }
    }

    /// Calls `body` with each block's index (row by row) and its forward DCT, from one buffer.
    func forEachBlock(_ body: (_ index: Int, _ coefficients: UnsafeMutablePointer<Int32>) -> Void) {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: 128) { buffer in
            let coefficients = buffer.baseAddress!, scratch = coefficients + 64
            for row in 0..<heightInBlocks {
                for column in 0..<widthInBlocks {
                    transform(blockColumn: column, blockRow: row, into: coefficients, scratch: scratch)
                    body(row * widthInBlocks + column, coefficients)
                }
            }
        }
    }
}

/// The image's planes and quantised coefficients for a JPEG at `settings`.
struct CoefficientEncoder {
    let width: Int
    let height: Int
    let components: Int
    let subsampled: Bool

    init(width: Int, height: Int, settings: JPEGSettings) {
        self.width = width
        self.height = height
        components = settings.grey ? 1 : 3
        subsampled = !settings.grey && settings.chroma == .subsampled420
    }

    /// Blocks of component `c` as libjpeg counts them.
    func blocks(_ c: Int) -> (wide: Int, high: Int) {
        var wide: UInt32 = 0, high: UInt32 = 0
        _ = crc_jpeg_component_blocks(UInt32(width), UInt32(height), Int32(components), subsampled ? 0 : 1, Int32(c),
                                      &wide, &high)
        return (Int(wide), Int(high))
    }

    /// The level-shifted YCbCr planes (JFIF's conversion, T.871), chroma averaged over 2x2 pixels
    /// when subsampled.
    func planes(_ image: RGB8Image) throws(ComRecError) -> [ComponentPlane] {
        var planes: [ComponentPlane] = []
        for c in 0..<components {
            let (wide, high) = blocks(c)
            let stride = wide * 8, rowsNeeded = high * 8
            let factor = c > 0 && subsampled ? 2 : 1
            let ownWidth = (width + factor - 1) / factor, ownHeight = (height + factor - 1) / factor
            var samples = try ComRecError.allocating { () throws(AllocationFailure) in
                try LargeBuffer<Int16>(repeating: 0, count: stride * rowsNeeded)
            }
            image.pixels.withUnsafeBufferPointer { pixels in samples.withUnsafeMutableBufferPointer { samples in
                for y in 0..<rowsNeeded {
                    let sy = min(y, ownHeight - 1)
                    for x in 0..<stride {
                        let sx = min(x, ownWidth - 1)
                        var sum = 0
                        for dy in 0..<factor {
                            for dx in 0..<factor {
                                let px = min(sx * factor + dx, width - 1), py = min(sy * factor + dy, height - 1)
                                sum += sample(pixels, (py * width + px) * 3, component: c)
                            }
                        }
                        // sum is in 1/16 units times factor^2; the level shift is 128 * 16.
                        let count = factor * factor
                        samples[y * stride + x] = Int16((sum + count / 2) / count - 2048)
                    }
                }
            } }
            planes.append(ComponentPlane(widthInBlocks: wide, heightInBlocks: high, samples: samples))
        }
        return planes
    }

    /// One pixel's component in 1/16 units, not level-shifted (Y 0...4080; Cb, Cr centred at 2048).
    @inline(__always)
    private func sample(_ pixels: UnsafeBufferPointer<UInt8>, _ i: Int, component: Int) -> Int {
        let r = Int(pixels[i]), g = Int(pixels[i + 1]), b = Int(pixels[i + 2])
        if components == 1 { return r * 16 }
        // JFIF coefficients * 65536; the sum * 16 / 65536 gives 1/16 units.
        let mixed: Int
        switch component {
        case 0: mixed = 19595 * r + 38470 * g + 7471 * b
        case 1: mixed = -11059 * r - 21709 * g + 32768 * b + (128 << 16)
        default: mixed = 32768 * r - 27439 * g - 5329 * b + (128 << 16)
        }
        return (mixed + 2048) >> 12
    }

    /// Squared-error weight of each component: its share of RGB squared error per coefficient
    /// (Y 3; Cb 0.344^2 + 1.772^2 = 3.26; Cr 1.402^2 + 0.714^2 = 2.48), times the pixels a
    /// subsampled chroma sample covers, times 4 for integer precision.
    func weight(_ c: Int) -> Int {
        let perPixel = c == 0 ? 12 : c == 1 ? 13 : 10
        return c > 0 && subsampled ? 4 * perPixel : perPixel
    }

    /// The trellis-quantised coefficients of every component, one after the other (each in
    /// crc_jpeg_encode_coefficients' layout), and where each component's start. The code lengths
    /// come from the symbols that rounding would make, so the DCT runs twice per block (once to
    /// count, once to choose) rather than keeping 4 bytes per coefficient between the passes. The
    /// AC levels are chosen block by block, then the DC levels along each component's chain of
    /// blocks (DCTrellis.swift). A second trellis pass, with code lengths from the first pass's
    /// symbols, gained nothing under the enhancers and 0.1-0.6 points on plain JPEG, for another
    /// DCT and trellis pass over every block (docs/results.md, "DC levels chosen along a chain");
    /// it is not done.
    func quantise(
        _ image: RGB8Image, quality: Int, tables: JPEGTables, tuning: TrellisTuning
    ) throws(ComRecError) -> (blocks: LargeBuffer<Int16>, starts: [Int]) {
        let planes = try planes(image)
        let tables = (0..<components).map { JPEGQuality.table(quality: quality, chroma: $0 > 0, tables: tables) }
        // Rounding's AC symbol counts per Huffman table (luma, chroma).
        var counts = [[Int](repeating: 0, count: 256), [Int](repeating: 0, count: 256)]
        var dcCounts = [[Int](repeating: 0, count: DCRateModel.categories), [Int](repeating: 0, count: DCRateModel.categories)]
        // Each block's DC: rounded in the counting pass, then its coefficient for the DC chain.
        var dc = try planes.map { plane throws(ComRecError) in
            try ComRecError.allocating { () throws(AllocationFailure) in
                try LargeBuffer<Int32>(repeating: 0, count: plane.widthInBlocks * plane.heightInBlocks)
            }
        }
        // The DC chain's scratch, one byte per block of the component with the most (luma).
        var paths = try ComRecError.allocating { () throws(AllocationFailure) in
            try LargeBuffer<UInt8>(repeating: 0, count: dc[0].count)
        }
        var rounded = [Int16](repeating: 0, count: 64)
        for c in 0..<components {
            let steps = tables[c]
            dc[c].withUnsafeMutableBufferPointer { dc in
                rounded.withUnsafeMutableBufferPointer { block in
                    planes[c].forEachBlock { index, coefficients in
                        dc[index] = Int32(roundedLevel(Int(coefficients[0]), step: Int(steps[0]), limit: 2047))
                        for k in 1..<64 {
                            block[k] = Int16(roundedLevel(Int(coefficients[k]), step: Int(steps[k]), limit: largestACMagnitude))
                        }
                        countACSymbols(block.baseAddress!, into: &counts[min(c, 1)])
                    }
                }
                DCRateModel.count(UnsafeBufferPointer(dc), into: &dcCounts[min(c, 1)])
            }
        }
        let typicalStep = geometricMean(tables[0])
        // lambda per 1/16 bit in (1/16-unit error)^2 * weight units: weight 4 * RGB share, error^2
        // * 256, bits * 16 -> lambda_int = 64 * lambda_real; lambda_real = scale * 3 * step^2.
        let scale = tuning.lambdaScale ?? TrellisTuning.plainLambdaScale
        let lambda = Int64((scale * 3 * 64 * Double(typicalStep * typicalStep)).rounded())
        var starts: [Int] = [], total = 0
        for plane in planes {
            starts.append(total)
            total += plane.widthInBlocks * plane.heightInBlocks * 64
        }
        var out = try ComRecError.allocating { () throws(AllocationFailure) in
            try LargeBuffer<Int16>(repeating: 0, count: total)
        }
        for c in 0..<components {
            var trellis = TrellisQuantiser(weight: Int64(weight(c)), lambda: lambda, rate: ACRateModel(counts: counts[min(c, 1)]))
            tables[c].withUnsafeBufferPointer { steps in
                out.withUnsafeMutableBufferPointer { blocks in
                    dc[c].withUnsafeMutableBufferPointer { dc in
                        planes[c].forEachBlock { index, coefficients in
                            dc[index] = coefficients[0]
                            trellis.quantise(UnsafePointer(coefficients), steps: steps.baseAddress!,
                                             into: blocks.baseAddress! + starts[c] + index * 64)
                        }
                        paths.withUnsafeMutableBufferPointer { paths in
                            chooseDCLevels(UnsafeBufferPointer(dc), step: Int(steps[0]), weight: Int64(weight(c)), lambda: lambda,
                                           rate: DCRateModel(counts: dcCounts[min(c, 1)]), paths: paths,
                                           into: blocks.baseAddress! + starts[c])
                        }
                    }
                }
            }
        }
        return (out, starts)
    }
}

/// The geometric mean of a table's 63 AC steps, rounded to an integer (by integer search, so that
/// it is the same on every platform): the step a typical coefficient sees.
func geometricMean(_ table: [UInt16]) -> Int {
    // The largest g with g^63 <= product, compared in log2 sixteenths.
    var logSum = 0
    for step in table[1...] { logSum += log2Sixteenths(UInt64(step)) }
    var g = 1
    while g < 255 && log2Sixteenths(UInt64(g + 1)) * 63 <= logSum { g += 1 }
    return g
}
