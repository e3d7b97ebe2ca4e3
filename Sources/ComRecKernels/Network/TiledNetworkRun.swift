// Tiled execution of a whole network: the output is cut into bands of rows ("tiles"); each tile
// runs every layer on just the rows it needs, i.e. its rows plus a halo that grows by one row per
// layer above and below (the receptive field), clipped at the image edges. Rows outside the image
// are zero padding in the whole-image computation too, so a tile's bytes never depend on the tile
// height or on which thread runs it. Memory is two band buffers per thread, sized by the tile,
// not by the image height.
//
// This file is Embedded-safe and single-threaded: ComRecRuntime hands tiles to its thread pool.

/// One run of a network over one image, cut into tiles. Build it, allocate `scratchBytes` per
/// thread, then call `runTile(_:scratch:kernel:)` for every tile in `0..<tileCount`, in any order
/// and on any threads (tiles write disjoint output rows).
public struct TiledNetworkRun {
    public let layers: [Conv3x3Packed]
    public let input: UnsafePointer<UInt8>
    public let inputWidth: Int
    public let inputHeight: Int
    public let base: UnsafePointer<UInt8>
    public let output: UnsafeMutablePointer<UInt8>
    public let outputWidth: Int
    public let outputHeight: Int
    /// Rows of the last convolution's output per tile (half the output rows when it pixel-shuffles).
    public let tileRows: Int
    public let tileCount: Int
    /// Scratch memory one thread needs (64-byte aligned pieces inside).
    public let scratchBytes: Int

    // widths[l], heights[l]: size of layer l's input; index layers.count is the last layer's output.
    let widths: [Int]
    let heights: [Int]
    let bandBytes: Int
    let zeroRowBytes: Int
    let shuffle: Bool

    /// - input: RGB8 `inputWidth x inputHeight`, rows packed.
    /// - base, output: RGB8 `outputWidth x outputHeight`. The output size is the network's natural
    ///   output size (stride-2 layers halve rounding up, pixel shuffle doubles) or smaller (crop).
    /// - tileHeight: output rows per tile (rounded up to even under pixel shuffle); 0 means one tile.
    public init(
        layers: [Conv3x3Packed], input: UnsafePointer<UInt8>, inputWidth: Int, inputHeight: Int,
        base: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>, outputWidth: Int, outputHeight: Int,
        tileHeight: Int
    ) {
        precondition(layers.count >= 2, "a network has a first and a last layer")
        precondition(inputWidth > 0 && inputHeight > 0 && outputWidth > 0 && outputHeight > 0)
        precondition(layers[0].kind == .firstConv3x3 && layers[0].inChannels == 3, "first layer reads RGB8")
        let last = layers[layers.count - 1]
        precondition(
            (last.kind == .lastConv3x3Residual && last.outChannels == 3)
                || (last.kind == .lastConv3x3PixelShuffleResidual && last.outChannels == 12),
            "the last layer is a 3-channel residual or a 12-channel pixel-shuffled residual")
        var widths = [inputWidth], heights = [inputHeight]
        for l in 0..<layers.count {
            let layer = layers[l]
            precondition(layer.stride == 1 || layer.stride == 2)
            if l > 0 {
                precondition(layer.inChannels == layers[l - 1].outChannels, "channel counts must chain")
                precondition(l == layers.count - 1 || layer.kind == .conv3x3, "only the first and last layers are special")
            }
            widths.append((widths[l] + layer.stride - 1) / layer.stride)
            heights.append((heights[l] + layer.stride - 1) / layer.stride)
        }
        let shuffle = last.kind == .lastConv3x3PixelShuffleResidual
        let gridWidth = widths[layers.count], gridHeight = heights[layers.count]
        precondition(
            outputWidth <= gridWidth * (shuffle ? 2 : 1) && outputHeight <= gridHeight * (shuffle ? 2 : 1),
            "output larger than the network's output")
        self.layers = layers
        self.input = input
        self.inputWidth = inputWidth
        self.inputHeight = inputHeight
        self.base = base
        self.output = output
        self.outputWidth = outputWidth
        self.outputHeight = outputHeight
        self.widths = widths
        self.heights = heights
        self.shuffle = shuffle
        let rows = tileHeight <= 0 ? gridHeight : (shuffle ? (tileHeight + 1) / 2 : tileHeight)
        self.tileRows = min(rows, gridHeight)
        self.tileCount = (gridHeight + tileRows - 1) / tileRows
        // The largest band any tile needs, over the expanded input and every hidden layer.
        var band = 0, zero = 0
        let ranges = UnsafeMutablePointer<Int>.allocate(capacity: 2 * (layers.count + 1))
        defer { ranges.deallocate() }
        for t in 0..<tileCount {
            TiledNetworkRun.rowRanges(tile: t, tileRows: tileRows, layers: layers, heights: heights, into: ranges)
            for l in 0..<layers.count {  // band l holds the input of layer l
                let rows = ranges[2 * l + 1] - ranges[2 * l]
                band = max(band, rows * (widths[l] + 2) * layers[l].kernelIn)
            }
        }
        for l in 0..<layers.count { zero = max(zero, (widths[l] + 2) * layers[l].kernelIn) }
        self.bandBytes = roundUp64(band)
        self.zeroRowBytes = roundUp64(zero)
        let accBytes = roundUp64(gridWidth * last.kernelOut * 4)
        self.scratchBytes = 2 * bandBytes + zeroRowBytes + accBytes + 64
    }

    /// Row ranges [lo, hi) of every layer's input for tile `tile`: ranges[2l], ranges[2l+1] for
    /// layer l's input, and the last pair for the last layer's output (the tile itself).
    static func rowRanges(
        tile: Int, tileRows: Int, layers: [Conv3x3Packed], heights: [Int], into ranges: UnsafeMutablePointer<Int>
    ) {
        let n = layers.count
        var lo = tile * tileRows, hi = min(lo + tileRows, heights[n])
        ranges[2 * n] = lo
        ranges[2 * n + 1] = hi
        var l = n - 1
        while l >= 0 {
            // Output rows [lo, hi) of layer l read input rows s*lo - 1 ... s*(hi-1) + 1.
            let s = layers[l].stride
            lo = max(0, s * lo - 1)
            hi = min(heights[l], s * (hi - 1) + 2)
            ranges[2 * l] = lo
            ranges[2 * l + 1] = hi
            l -= 1
        }
    }

    /// Runs tile `tile` with kernel family `K`, using `scratch` (`scratchBytes`, any alignment).
    public func runTile<K: Conv3x3Kernel>(_ tile: Int, scratch: UnsafeMutableRawPointer, kernel: K.Type) {
        precondition(tile >= 0 && tile < tileCount)
        let n = layers.count
        let aligned = UnsafeMutableRawPointer(bitPattern: (Int(bitPattern: scratch) + 63) & ~63)!
        var src = aligned.assumingMemoryBound(to: UInt8.self)
        var dst = src + bandBytes
        let zeroRow = dst + bandBytes
        let accRow = UnsafeMutableRawPointer(zeroRow + zeroRowBytes)
        zeroRow.initialize(repeating: 0, count: zeroRowBytes)
        let ranges = UnsafeMutablePointer<Int>.allocate(capacity: 2 * (n + 1))
        defer { ranges.deallocate() }
        TiledNetworkRun.rowRanges(tile: tile, tileRows: tileRows, layers: layers, heights: heights, into: ranges)

        // The first layer's input: RGB8 rows expanded to 12 U7 channels, in padded rows.
        var inLo = ranges[0]
        var inStride = (widths[0] + 2) * 12
        for y in ranges[0]..<ranges[1] {
            let row = src + (y - inLo) * inStride
            clearBorders(row, width: widths[0], channels: 12)
            expandRGB8Row(input + y * inputWidth * 3, width: inputWidth, into: row + 12)
        }
        for l in 0..<n {
            let layer = layers[l]
            let kin = layer.kernelIn, kout = layer.kernelOut
            let inHeight = heights[l], outWidth = widths[l + 1]
            let outLo = ranges[2 * l + 2], outHi = ranges[2 * l + 3]
            let outStride = (outWidth + 2) * kout
            let lastLayer = l == n - 1
            for y in outLo..<outHi {
                var pointers = (zeroRow, zeroRow, zeroRow)
                for ky in 0..<3 {
                    let iy = layer.stride * y + ky - 1
                    if iy >= 0 && iy < inHeight {
                        let p = src + (iy - inLo) * inStride
                        if ky == 0 { pointers.0 = p } else if ky == 1 { pointers.1 = p } else { pointers.2 = p }
                    }
                }
                let out = lastLayer ? accRow : UnsafeMutableRawPointer(dst + (y - outLo) * outStride + kout)
                K.conv3x3(Conv3x3Row(
                    row0: pointers.0, row1: pointers.1, row2: pointers.2,
                    inChannels: kin, outChannels: kout, stride: layer.stride, width: outWidth,
                    weights: layer.weights, bias: layer.bias, multipliers: layer.multipliers,
                    output: out, requantize: !lastLayer))
                if lastLayer {
                    finishRow(y, accumulators: accRow.assumingMemoryBound(to: Int32.self), layer: layer)
                } else {
                    clearBorders(dst + (y - outLo) * outStride, width: outWidth, channels: kout)
                }
            }
            swap(&src, &dst)
            inLo = outLo
            inStride = outStride
        }
    }

    /// The last layer's epilogue for grid row `y`: residual (optionally pixel-shuffled) onto the
    /// base image, cropped to the output size.
    func finishRow(_ y: Int, accumulators acc: UnsafePointer<Int32>, layer: Conv3x3Packed) {
        let kout = layer.kernelOut, m = layer.multipliers
        if !shuffle {
            if y >= outputHeight { return }
            let b = base + y * outputWidth * 3, o = output + y * outputWidth * 3
            for x in 0..<outputWidth {
                for c in 0..<3 {
                    let r = requantize(acc[x * kout + c], m[c], lo: -255, hi: 255)
                    o[3 * x + c] = addResidual(b[3 * x + c], r)
                }
            }
            return
        }
        for dy in 0..<2 {
            let oy = 2 * y + dy
            if oy >= outputHeight { return }
            let b = base + oy * outputWidth * 3, o = output + oy * outputWidth * 3
            for ox in 0..<outputWidth {
                let a = acc + (ox >> 1) * kout + dy * 2 + (ox & 1)
                for c in 0..<3 {
                    let r = requantize(a[4 * c], m[c * 4 + dy * 2 + (ox & 1)], lo: -255, hi: 255)
                    o[3 * ox + c] = addResidual(b[3 * ox + c], r)
                }
            }
        }
    }
}

@inline(__always) func roundUp64(_ n: Int) -> Int { (n + 63) & ~63 }

/// Zeroes the left and right border pixels of a padded row of `width` pixels.
@inline(__always) func clearBorders(_ row: UnsafeMutablePointer<UInt8>, width: Int, channels: Int) {
    row.update(repeating: 0, count: channels)
    (row + (width + 1) * channels).update(repeating: 0, count: channels)
}
