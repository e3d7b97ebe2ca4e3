import ComRecKernels

// How a network runs over a whole image. Generic (specialised, no existentials) so that the same
// model code runs with ComRecRuntime's thread pool on Linux (ThreadedNetworkRunner) and with one
// thread and a chosen kernel family in an Embedded build (SerialNetworkRunner).

/// Runs packed layers over one image; the buffers and sizes are those of `TiledNetworkRun.init`.
/// `base` may be the same memory as `output` (each output byte reads only its own base byte),
/// never the same as `input`.
public protocol NetworkRunner {
    func run(
        layers: [Conv3x3Packed], input: UnsafePointer<UInt8>, inputWidth: Int, inputHeight: Int,
        base: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>, outputWidth: Int, outputHeight: Int)
}

/// Scratch memory the tiled runs of all threads may take together when the tile height is
/// planned: 96 MiB. One tile per thread (the least halo work) whenever that fits; a 768 x 512
/// image always does, a 20-megapixel `paper` decode is cut into thinner tiles.
public let defaultScratchBudget = 96 << 20

/// Output rows per tile for `threads` threads: one tile per thread when their scratch fits
/// `scratchBudget`, otherwise more tiles (a multiple of the thread count, so that threads stay
/// evenly loaded) until it fits or tiles are 8 rows high. Tiles recompute a halo of one row per
/// remaining layer above and below, so fewer, taller tiles do less work.
public func planTileHeight(
    layers: [Conv3x3Packed], inputWidth: Int, inputHeight: Int, outputWidth: Int, outputHeight: Int,
    threads: Int, scratchBudget: Int = defaultScratchBudget
) -> Int {
    precondition(threads >= 1)
    // The plan only sizes buffers; it never touches these pointers.
    let dummy = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    defer { dummy.deallocate() }
    var tiles = threads
    while true {
        let height = max(1, (outputHeight + tiles - 1) / tiles)
        let plan = TiledNetworkRun(
            layers: layers, input: dummy, inputWidth: inputWidth, inputHeight: inputHeight,
            base: dummy, output: dummy, outputWidth: outputWidth, outputHeight: outputHeight, tileHeight: height)
        if threads * plan.scratchBytes <= scratchBudget || height <= 8 { return height }
        tiles = max(tiles + threads, (tiles * 3 / 2 + threads - 1) / threads * threads)
    }
}

/// How a runner cuts an image into tiles: a fixed height, or planned within a scratch budget.
public struct TilePolicy: Sendable {
    /// Output rows per tile; 0 plans it with `planTileHeight` within `scratchBudget`.
    public var tileHeight: Int
    public var scratchBudget: Int

    public init(tileHeight: Int = 0, scratchBudget: Int = defaultScratchBudget) {
        self.tileHeight = tileHeight
        self.scratchBudget = scratchBudget
    }

    /// The tile height for one run with `threads` threads.
    public func height(
        layers: [Conv3x3Packed], inputWidth: Int, inputHeight: Int, outputWidth: Int, outputHeight: Int, threads: Int
    ) -> Int {
        tileHeight > 0 ? tileHeight : planTileHeight(
            layers: layers, inputWidth: inputWidth, inputHeight: inputHeight, outputWidth: outputWidth,
            outputHeight: outputHeight, threads: threads, scratchBudget: scratchBudget)
    }
}

/// One thread, tiles in order, kernel family `Kernel`. What an Embedded build or a single-core
/// board runs; the bytes are those of every other runner.
public struct SerialNetworkRunner<Kernel: Conv3x3Kernel>: NetworkRunner {
    public var tiles: TilePolicy

    public init(tileHeight: Int = 0, scratchBudget: Int = defaultScratchBudget) {
        tiles = TilePolicy(tileHeight: tileHeight, scratchBudget: scratchBudget)
    }

    public func run(
        layers: [Conv3x3Packed], input: UnsafePointer<UInt8>, inputWidth: Int, inputHeight: Int,
        base: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>, outputWidth: Int, outputHeight: Int
    ) {
        let height = tiles.height(
            layers: layers, inputWidth: inputWidth, inputHeight: inputHeight, outputWidth: outputWidth,
            outputHeight: outputHeight, threads: 1)
        let plan = TiledNetworkRun(
            layers: layers, input: input, inputWidth: inputWidth, inputHeight: inputHeight,
            base: base, output: output, outputWidth: outputWidth, outputHeight: outputHeight, tileHeight: height)
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: plan.scratchBytes, alignment: 64)
        defer { scratch.deallocate() }
        for tile in 0..<plan.tileCount { plan.runTile(tile, scratch: scratch, kernel: Kernel.self) }
    }
}
