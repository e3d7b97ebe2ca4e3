// Tiled execution of a whole network: the output is cut into bands of rows ("tiles"); a tile is
// computed by streaming rows through the layers. Every layer keeps a ring of the last 3 to 5 rows
// of its input (`ringRows(reader:writer:)`); to produce row y, layer l first asks layer l-1 for the
// rows it reads (s*y - 1 ... s*y + 1), which recursively asks the layer below, so each row of each
// layer is computed once per tile and the memory is those rows per layer (plus a zero row, a
// discard row, one row of accumulators and the Winograd kernels' block scratch): it depends on the
// width and the depth, not on the tile height or the image height. A tile starts with the rows its
// first output row needs (its top halo, one row per layer) and ends with its bottom halo, so tiles
// only recompute halo rows at their edges: fewer, taller tiles do less work at no memory cost.
// Rows outside the image are zero padding in the whole-image computation too, so a tile's bytes
// never depend on the tile height or on which thread runs it. A layer computed with Winograd
// F(2x2, 3x3) (`algorithms`) makes its output rows two at a time, r and r + 1, from input rows
// r - 1 ... r + 2; the second row of a pair past the image goes to the discard row.
//
// The input, base and output need not be whole images: each is a window of consecutive rows
// (`inputRows`, `baseRows`, `outputRows`), so that a caller can stream an image through the plan
// a band of tiles at a time (`inputRows(forTiles:)` says what a band reads), with memory that
// depends on the width and never on the height. A row outside its window is a precondition
// failure, never a read or write outside the caller's buffers.
//
// This file is Embedded-safe and single-threaded: ComRecRuntime hands tiles to its thread pool.

/// The plan of one run of a network over one image, cut into tiles: what a NetworkRunner executes.
/// Build it, allocate `scratchBytes` per thread, then call `runTile(_:scratch:kernel:)` for every
/// tile in `0..<tileCount`, in any order and on any threads (tiles write disjoint output rows).
public struct NetworkTilePlan {
    public let layers: [Conv3x3Packed]
    /// How each layer is computed (`layers.count` entries).
    public let algorithms: [ConvAlgorithm]
    /// Rows `inputRows` of the RGB8 input (`inputWidth * 3` bytes per row); by default all of them.
    public var input: UnsafePointer<UInt8>
    public var inputRows: Range<Int>
    public let inputWidth: Int
    public let inputHeight: Int
    /// Rows `baseRows` of the base, `baseRowBytes` apart (at least `outputWidth * 3`).
    public var base: UnsafePointer<UInt8>
    public var baseRows: Range<Int>
    public var baseRowBytes: Int
    /// Rows `outputRows` of the output (`outputWidth * 3` bytes per row).
    public var output: UnsafeMutablePointer<UInt8>
    public var outputRows: Range<Int>
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
    /// Rows of each layer's input ring (`ringRows(reader:writer:)`).
    let ringRows: [Int]
    let zeroRowBytes: Int
    let winogradBytes: Int
    let bookkeepingBytes: Int
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
        self.inputRows = 0..<inputHeight
        self.inputWidth = inputWidth
        self.inputHeight = inputHeight
        self.base = base
        self.baseRows = 0..<outputHeight
        self.baseRowBytes = outputWidth * 3
        self.output = output
        self.outputRows = 0..<outputHeight
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
        var ringBytes: [Int] = [], ringRows: [Int] = [], zero = 0
        for l in 0..<layers.count {
            let rowBytes = (widths[l] + 2) * layers[l].kernelIn
            let rows = NetworkTilePlan.ringRows(reader: algorithms[l], writer: l > 0 ? algorithms[l - 1] : nil)
            ringRows.append(rows)
            ringBytes.append(roundUp64(rows * rowBytes))
            zero = max(zero, rowBytes)
        }
        self.ringBytes = ringBytes
        self.ringRows = ringRows
        self.zeroRowBytes = roundUp64(zero)
        let accBytes = roundUp64(gridWidth * last.kernelOut * 4)
        // The rings' addresses, the next row of each ring and the tile's row ranges.
        self.bookkeepingBytes = roundUp64(layers.count * (MemoryLayout<UnsafeMutablePointer<UInt8>>.stride + MemoryLayout<Int>.stride) + 2 * (layers.count + 1) * MemoryLayout<Int>.stride)
        // Zero row, discard row (a Winograd pair's second row past the image), accumulators.
        var total = 2 * zeroRowBytes + accBytes + winogradBytes + bookkeepingBytes + 64
        for r in ringBytes { total += r }
        self.scratchBytes = total
    }

    /// Rows a layer's input ring keeps: what the layer reads at once (3 consecutive rows for a
    /// direct 3x3 layer, 4 for a Winograd pair: y - 1 ... y + 2), plus one when the layer that
    /// writes the ring computes Winograd pairs (it may have made one row past the last one asked
    /// for). Filling a row overwrites the row this many rows above it, which no read still needs.
    static func ringRows(reader: ConvAlgorithm, writer: ConvAlgorithm?) -> Int {
        (reader == .winogradF2x3 ? 4 : 3) + (writer == .winogradF2x3 ? 1 : 0)
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
        let aligned = scratch.alignedUp(toMultipleOf: 64)
        let stream = RowStream(run: self, scratch: aligned.assumingMemoryBound(to: UInt8.self))
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
            let b = baseRow(y), o = outputRow(y)
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
            let b = baseRow(oy), o = outputRow(oy)
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

extension NetworkTilePlan {
    /// Grid rows: rows of the last convolution's output (half the output rows under pixel shuffle).
    public var gridHeight: Int { heights[layers.count] }

    /// Output rows per grid row: 2 under pixel shuffle, else 1.
    public var outputRowsPerGridRow: Int { shuffle ? 2 : 1 }

    /// The input rows that tiles `tiles` read (a band of consecutive tiles). Exact for direct
    /// layers; a Winograd layer computes its rows in pairs and may read one more row below, which
    /// this range includes.
    public func inputRows(forTiles tiles: Range<Int>) -> Range<Int> {
        precondition(!tiles.isEmpty && tiles.lowerBound >= 0 && tiles.upperBound <= tileCount)
        let n = layers.count
        var lo = tiles.lowerBound * tileRows, hi = min(tiles.upperBound * tileRows, heights[n])
        var l = n - 1
        while l >= 0 {
            let s = layers[l].stride
            if algorithms[l] == .winogradF2x3 { hi += 1 }
            lo = max(0, s * lo - 1)
            hi = min(heights[l], s * (hi - 1) + 2)
            l -= 1
        }
        return lo..<hi
    }

    /// The output rows (and base rows) that tiles `tiles` write.
    public func outputRows(forTiles tiles: Range<Int>) -> Range<Int> {
        precondition(!tiles.isEmpty && tiles.lowerBound >= 0 && tiles.upperBound <= tileCount)
        let k = outputRowsPerGridRow
        return min(outputHeight, tiles.lowerBound * tileRows * k)..<min(outputHeight, tiles.upperBound * tileRows * k)
    }

    @inline(__always) func inputRow(_ r: Int) -> UnsafePointer<UInt8> {
        precondition(inputRows.contains(r), "input row outside the window the caller gave")
        return input + (r - inputRows.lowerBound) * inputWidth * 3
    }

    @inline(__always) func baseRow(_ y: Int) -> UnsafePointer<UInt8> {
        precondition(baseRows.contains(y), "base row outside the window the caller gave")
        return base + (y - baseRows.lowerBound) * baseRowBytes
    }

    @inline(__always) func outputRow(_ y: Int) -> UnsafeMutablePointer<UInt8> {
        precondition(outputRows.contains(y), "output row outside the window the caller gave")
        return output + (y - outputRows.lowerBound) * outputWidth * 3
    }
}

/// The rings of one tile run: `ring(l)` holds rows `next[l] - R ..< next[l]` of layer l's input,
/// row r in slot r % R, where R is `run.ringRows[l]`.
struct RowStream {
    let run: NetworkTilePlan
    let rings: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>>
    let next: UnsafeMutablePointer<Int>
    let ranges: UnsafeMutablePointer<Int>
    let zeroRow: UnsafeMutablePointer<UInt8>
    let discardRow: UnsafeMutablePointer<UInt8>
    let accRow: UnsafeMutableRawPointer
    let winogradScratch: UnsafeMutableRawPointer

    /// Carves everything out of `scratch` (`run.scratchBytes`, 64-byte aligned): a tile run
    /// allocates nothing.
    init(run: NetworkTilePlan, scratch: UnsafeMutablePointer<UInt8>) {
        self.run = run
        let n = run.layers.count
        let book = UnsafeMutableRawPointer(scratch)
        rings = book.bindMemory(to: UnsafeMutablePointer<UInt8>.self, capacity: n)
        next = (book + n * MemoryLayout<UnsafeMutablePointer<UInt8>>.stride).bindMemory(to: Int.self, capacity: n)
        ranges = (book + n * (MemoryLayout<UnsafeMutablePointer<UInt8>>.stride + MemoryLayout<Int>.stride)).bindMemory(to: Int.self, capacity: 2 * (n + 1))
        var p = scratch + run.bookkeepingBytes
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

    @inline(__always) func rowBytes(_ l: Int) -> Int { (run.widths[l] + 2) * run.layers[l].kernelIn }

    /// Row r of layer l's input (a ring slot), or the zero row outside the image.
    func inputRow(_ l: Int, _ r: Int) -> UnsafeMutablePointer<UInt8> {
        if r < 0 || r >= run.heights[l] { return zeroRow }
        precondition(r < next[l] && r >= next[l] - run.ringRows[l], "row no longer in the ring")
        return rings[l] + (r % run.ringRows[l]) * rowBytes(l)
    }

    /// Makes sure layer l's input holds every row that layer l's output row y reads.
    func produceInput<K: Conv3x3Kernel>(of l: Int, forOutputRow y: Int, kernel: K.Type) {
        let last = min(run.layers[l].stride * y + 1, run.heights[l] - 1)
        while next[l] <= last {
            let r = next[l]
            let row = rings[l] + (r % run.ringRows[l]) * rowBytes(l)
            let channels = run.layers[l].kernelIn
            if l == 0 {
                expandRGB8Row(run.inputRow(r), width: run.inputWidth, into: row + channels)
            } else if run.algorithms[l - 1] == .winogradF2x3 {
                // Rows r and r + 1 at once; the second goes to the discard row past the image.
                produceInput(of: l - 1, forOutputRow: r + 1, kernel: K.self)
                let hasSecond = r + 1 < run.heights[l]
                let second = hasSecond ? rings[l] + ((r + 1) % run.ringRows[l]) * rowBytes(l) : discardRow
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
