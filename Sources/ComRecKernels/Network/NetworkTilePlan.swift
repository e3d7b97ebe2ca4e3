// Tiled execution of a whole network: the output is cut into bands of rows ("tiles"); a tile is
// computed by streaming rows through the layers. Every layer keeps a ring of its last 5 output
// rows; to produce row y, layer l first asks layer l-1 for the rows it reads (s*y - 1 ... s*y + 1),
// which recursively asks the layer below, so each row of each layer is computed once per tile and
// the memory is 5 rows per layer (plus a zero row, a discard row, one row of accumulators and the
// Winograd kernels' block scratch): it depends on the
// width and the depth, not on the tile height or the image height. A tile starts with the rows its
// first output row needs (its top halo, one row per layer) and ends with its bottom halo, so tiles
// only recompute halo rows at their edges: fewer, taller tiles do less work at no memory cost.
// Rows outside the image are zero padding in the whole-image computation too, so a tile's bytes
// never depend on the tile height or on which thread runs it. A layer computed with Winograd
// F(2x2, 3x3) (`algorithms`) makes its output rows two at a time, r and r + 1, from input rows
// r - 1 ... r + 2; the second row of a pair past the image goes to the discard row.
//
// This file is Embedded-safe and single-threaded: ComRecRuntime hands tiles to its thread pool.

/// The plan of one run of a network over one image, cut into tiles: what a NetworkRunner executes.
/// Build it, allocate `scratchBytes` per thread, then call `runTile(_:scratch:kernel:)` for every
/// tile in `0..<tileCount`, in any order and on any threads (tiles write disjoint output rows).
public struct NetworkTilePlan {
    public let layers: [Conv3x3Packed]
    /// How each layer is computed (`layers.count` entries).
    public let algorithms: [ConvAlgorithm]
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
    let ringBytes: [Int]
    let zeroRowBytes: Int
    let winogradBytes: Int
    let shuffle: Bool

    /// - input: RGB8 `inputWidth x inputHeight`, rows packed.
    /// - base, output: RGB8 `outputWidth x outputHeight`. The output size is the network's natural
    ///   output size (stride-2 layers halve rounding up, pixel shuffle doubles) or smaller (crop).
    /// - tileHeight: output rows per tile (rounded up to even under pixel shuffle); 0 means one tile.
    /// - algorithms: per layer (empty: all direct); `.winogradF2x3` only for layers that carry
    ///   Winograd weights.
    public init(
        layers: [Conv3x3Packed], input: UnsafePointer<UInt8>, inputWidth: Int, inputHeight: Int,
        base: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>, outputWidth: Int, outputHeight: Int,
        tileHeight: Int, algorithms: [ConvAlgorithm] = []
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
            // A hidden tensor holds paddedOutChannels(outChannels) bytes per pixel and the next
            // layer reads kernelInChannels(inChannels): the two agree only for multiples of 16.
            precondition(
                l == layers.count - 1 || layer.outChannels % 16 == 0,
                "hidden layers must have a multiple of 16 output channels")
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
        let algorithms = algorithms.isEmpty ? [ConvAlgorithm](repeating: .direct, count: layers.count) : algorithms
        precondition(algorithms.count == layers.count, "one algorithm per layer")
        var winogradBytes = 0
        for l in 0..<layers.count where algorithms[l] == .winogradF2x3 {
            precondition(layers[l].winogradWeights != nil && l < layers.count - 1,
                          "layer \(l) has no Winograd weights (only stride-1 hidden layers do)")
            winogradBytes = max(winogradBytes, roundUp64(winogradScratchBytes(inChannels: layers[l].kernelIn)))
        }
        self.algorithms = algorithms
        self.winogradBytes = winogradBytes
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
        // Ring l holds rows of layer l's input: the expanded RGB8 input for l = 0 (12 channels),
        // layer l-1's U7 output otherwise.
        var ringBytes: [Int] = [], zero = 0
        for l in 0..<layers.count {
            let rowBytes = (widths[l] + 2) * layers[l].kernelIn
            ringBytes.append(roundUp64(NetworkTilePlan.ringRows * rowBytes))
            zero = max(zero, rowBytes)
        }
        self.ringBytes = ringBytes
        self.zeroRowBytes = roundUp64(zero)
        let accBytes = roundUp64(gridWidth * last.kernelOut * 4)
        // Zero row, discard row (a Winograd pair's second row past the image), accumulators.
        var total = 2 * zeroRowBytes + accBytes + winogradBytes + 64
        for r in ringBytes { total += r }
        self.scratchBytes = total
    }

    /// Rows each layer keeps: a direct 3x3 layer reads 3 consecutive rows of its input, a Winograd
    /// pair 4 (y - 1 ... y + 2), and a Winograd producer may have made one row past the last one
    /// asked for: 5.
    static let ringRows = 5

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
        let stream = RowStream(run: self, scratch: aligned.assumingMemoryBound(to: UInt8.self))
        defer { stream.deallocate() }
        NetworkTilePlan.rowRanges(tile: tile, tileRows: tileRows, layers: layers, heights: heights, into: stream.ranges)
        for l in 0..<n { stream.next[l] = stream.ranges[2 * l] }  // the first row each ring will get
        let last = layers[n - 1]
        for y in stream.ranges[2 * n]..<stream.ranges[2 * n + 1] {
            stream.produceInput(of: n - 1, forOutputRow: y, kernel: K.self)
            stream.convolve(layer: n - 1, row: y, into: stream.accRow, requantize: false, kernel: K.self)
            finishRow(y, accumulators: stream.accRow.assumingMemoryBound(to: Int32.self), layer: last)
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

/// The rings of one tile run: `ring(l)` holds rows `next[l] - 5 ..< next[l]` of layer l's input
/// (row r in slot r % 5).
struct RowStream {
    let run: NetworkTilePlan
    let rings: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>>
    let next: UnsafeMutablePointer<Int>
    let ranges: UnsafeMutablePointer<Int>
    let zeroRow: UnsafeMutablePointer<UInt8>
    let discardRow: UnsafeMutablePointer<UInt8>
    let accRow: UnsafeMutableRawPointer
    let winogradScratch: UnsafeMutableRawPointer

    init(run: NetworkTilePlan, scratch: UnsafeMutablePointer<UInt8>) {
        self.run = run
        let n = run.layers.count
        rings = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>>.allocate(capacity: n)
        next = UnsafeMutablePointer<Int>.allocate(capacity: n)
        ranges = UnsafeMutablePointer<Int>.allocate(capacity: 2 * (n + 1))
        var p = scratch
        for l in 0..<n {
            rings[l] = p
            p += run.ringBytes[l]
        }
        zeroRow = p
        zeroRow.initialize(repeating: 0, count: run.zeroRowBytes)
        discardRow = p + run.zeroRowBytes
        winogradScratch = UnsafeMutableRawPointer(discardRow + run.zeroRowBytes)
        accRow = winogradScratch + run.winogradBytes
    }

    func deallocate() {
        rings.deallocate()
        next.deallocate()
        ranges.deallocate()
    }

    @inline(__always) func rowBytes(_ l: Int) -> Int { (run.widths[l] + 2) * run.layers[l].kernelIn }

    /// Row r of layer l's input (a ring slot), or the zero row outside the image.
    func inputRow(_ l: Int, _ r: Int) -> UnsafeMutablePointer<UInt8> {
        if r < 0 || r >= run.heights[l] { return zeroRow }
        precondition(r < next[l] && r >= next[l] - NetworkTilePlan.ringRows, "row no longer in the ring")
        return rings[l] + (r % NetworkTilePlan.ringRows) * rowBytes(l)
    }

    /// Makes sure layer l's input holds every row that layer l's output row y reads.
    func produceInput<K: Conv3x3Kernel>(of l: Int, forOutputRow y: Int, kernel: K.Type) {
        let last = min(run.layers[l].stride * y + 1, run.heights[l] - 1)
        while next[l] <= last {
            let r = next[l]
            let row = rings[l] + (r % NetworkTilePlan.ringRows) * rowBytes(l)
            let channels = run.layers[l].kernelIn
            if l == 0 {
                expandRGB8Row(run.input + r * run.inputWidth * 3, width: run.inputWidth, into: row + channels)
            } else if run.algorithms[l - 1] == .winogradF2x3 {
                // Rows r and r + 1 at once; the second goes to the discard row past the image.
                produceInput(of: l - 1, forOutputRow: r + 1, kernel: K.self)
                let hasSecond = r + 1 < run.heights[l]
                let second = hasSecond ? rings[l] + ((r + 1) % NetworkTilePlan.ringRows) * rowBytes(l) : discardRow
                convolvePair(layer: l - 1, row: r, into: row + channels, and: second + channels, kernel: K.self)
                clearBorders(row, width: run.widths[l], channels: channels)
                clearBorders(second, width: run.widths[l], channels: channels)
                next[l] = hasSecond ? r + 2 : r + 1
                continue
            } else {
                produceInput(of: l - 1, forOutputRow: r, kernel: K.self)
                convolve(layer: l - 1, row: r, into: UnsafeMutableRawPointer(row + channels), requantize: true, kernel: K.self)
            }
            clearBorders(row, width: run.widths[l], channels: channels)
            next[l] = r + 1
        }
    }

    /// Output rows y and y + 1 of stride-1 layer l with Winograd F(2x2, 3x3), requantised.
    func convolvePair<K: Conv3x3Kernel>(
        layer l: Int, row y: Int, into first: UnsafeMutablePointer<UInt8>, and second: UnsafeMutablePointer<UInt8>,
        kernel: K.Type
    ) {
        let layer = run.layers[l]
        K.conv3x3WinogradF2x3(Conv3x3RowPair(
            row0: inputRow(l, y - 1), row1: inputRow(l, y), row2: inputRow(l, y + 1), row3: inputRow(l, y + 2),
            inChannels: layer.kernelIn, outChannels: layer.kernelOut, width: run.widths[l + 1],
            weights: layer.winogradWeights!, bias: layer.bias, multipliers: layer.multipliers,
            output0: UnsafeMutableRawPointer(first), output1: UnsafeMutableRawPointer(second), requantize: true,
            scratch: winogradScratch))
    }

    /// Output row y of layer l, from the rows of its input ring.
    func convolve<K: Conv3x3Kernel>(
        layer l: Int, row y: Int, into output: UnsafeMutableRawPointer, requantize: Bool, kernel: K.Type
    ) {
        let layer = run.layers[l], s = layer.stride
        K.conv3x3(Conv3x3Row(
            row0: inputRow(l, s * y - 1), row1: inputRow(l, s * y), row2: inputRow(l, s * y + 1),
            inChannels: layer.kernelIn, outChannels: layer.kernelOut, stride: s, width: run.widths[l + 1],
            weights: layer.weights, bias: layer.bias, multipliers: layer.multipliers,
            output: output, requantize: requantize))
    }
}

@inline(__always) func roundUp64(_ n: Int) -> Int { (n + 63) & ~63 }

/// Zeroes the left and right border pixels of a padded row of `width` pixels.
@inline(__always) func clearBorders(_ row: UnsafeMutablePointer<UInt8>, width: Int, channels: Int) {
    row.update(repeating: 0, count: channels)
    (row + (width + 1) * channels).update(repeating: 0, count: channels)
}
