// Runs a whole network on one image: tiles of output rows (TiledNetworkRun, in ComRecKernels)
// spread over a ThreadPool, with the kernel family chosen by KernelISA. The bytes written do not
// depend on the thread count, the tile height or the family.
import ComRecKernels

public struct NetworkExecutor: Sendable {
    public let pool: ThreadPool
    public let isa: KernelISA

    public init(pool: ThreadPool, isa: KernelISA) {
        self.pool = pool
        self.isa = isa
    }

    /// Runs `layers` (see `TiledNetworkRun.init` for the buffers and sizes). `tileHeight` is in
    /// output rows; 0 means one tile per thread, which recomputes the least halo (the scratch
    /// memory does not depend on the tile height).
    public func run(
        layers: [Conv3x3Packed], input: UnsafePointer<UInt8>, inputWidth: Int, inputHeight: Int,
        base: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>, outputWidth: Int, outputHeight: Int,
        tileHeight: Int
    ) {
        var height = tileHeight
        if height <= 0 { height = max(1, (outputHeight + pool.threadCount - 1) / pool.threadCount) }
        let plan = TiledNetworkRun(
            layers: layers, input: input, inputWidth: inputWidth, inputHeight: inputHeight,
            base: base, output: output, outputWidth: outputWidth, outputHeight: outputHeight,
            tileHeight: height)
        let threads = pool.threadCount
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: threads * plan.scratchBytes, alignment: 64)
        defer { scratch.deallocate() }
        let job = Unchecked((plan, scratch, isa))
        pool.run(tasks: plan.tileCount) { tile, worker in
            let (plan, scratch, isa) = job.value
            isa.runTile(plan, tile, scratch: scratch + worker * plan.scratchBytes)
        }
    }
}

/// Carries non-Sendable values (pointers, plans) into pool tasks; the pool's `run` returns only
/// when every task is done, so nothing outlives the call.
struct Unchecked<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
