import ComRecKernels

// How a network runs over a whole image. Generic (specialised, no existentials) so that the same
// model code runs with ComRecRuntime's thread pool on Linux (ThreadedNetworkRunner) and with one
// thread and a chosen kernel family in an Embedded build (SerialNetworkRunner).
//
// Tiles: the tiled executor streams rows through 4-row rings per layer, so its memory depends on
// the width and the depth, not on the tile height, and each tile recomputes only the halo rows at
// its edges. The default is therefore the fewest tiles: one per thread.

/// Runs packed layers over one image; the buffers and sizes are those of `TiledNetworkRun.init`.
/// `base` may be the same memory as `output` (each output byte reads only its own base byte),
/// never the same as `input`.
public protocol NetworkRunner {
    func run(
        layers: [Conv3x3Packed], input: UnsafePointer<UInt8>, inputWidth: Int, inputHeight: Int,
        base: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>, outputWidth: Int, outputHeight: Int)
}

/// One thread, tiles in order, kernel family `Kernel`. What an Embedded build or a single-core
/// board runs; the bytes are those of every other runner.
public struct SerialNetworkRunner<Kernel: Conv3x3Kernel>: NetworkRunner {
    /// Output rows per tile; 0: one tile.
    public var tileHeight: Int

    public init(tileHeight: Int = 0) {
        self.tileHeight = tileHeight
    }

    public func run(
        layers: [Conv3x3Packed], input: UnsafePointer<UInt8>, inputWidth: Int, inputHeight: Int,
        base: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>, outputWidth: Int, outputHeight: Int
    ) {
        let plan = TiledNetworkRun(
            layers: layers, input: input, inputWidth: inputWidth, inputHeight: inputHeight,
            base: base, output: output, outputWidth: outputWidth, outputHeight: outputHeight, tileHeight: tileHeight)
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: plan.scratchBytes, alignment: 64)
        defer { scratch.deallocate() }
        for tile in 0..<plan.tileCount { plan.runTile(tile, scratch: scratch, kernel: Kernel.self) }
    }
}
