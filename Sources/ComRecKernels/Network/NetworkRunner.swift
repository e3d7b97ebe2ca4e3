// How a whole network runs over one image: the one abstraction that every model is executed
// through. A runner decides how the tiles of a NetworkTilePlan are scheduled and which kernel
// family computes them; the bytes written never depend on that choice.
//
// A struct holding a function rather than a protocol, so that a codec profile can capture a
// runner without existentials (Embedded Swift has none) and a build chooses its runner by value:
// `serial` (here, Embedded-safe: one thread, a kernel family fixed at build time) or `threaded`
// (ComRecRuntime: a thread pool and the kernel family chosen from the CPU).

public struct NetworkRunner: Sendable {
    /// Runs tiles `tiles` of `plan`, each exactly once, in any order and on any of the runner's
    /// threads, and returns when all are done. `scratch` holds `threadCount * plan.scratchBytes`
    /// bytes (64-byte aligned): the runner allocates nothing.
    public typealias TileBody = @Sendable (
        _ plan: NetworkTilePlan, _ tiles: Range<Int>, _ scratch: UnsafeMutableRawPointer
    ) -> Void

    /// Threads the runner uses (the caller's included).
    public let threadCount: Int
    /// The kernel family's name (`KernelISA` raw values: avx512vnni, avx2, neondot, neon, portable).
    public let kernelFamily: String
    /// How the runner picks direct or Winograd per layer.
    public let algorithms: ConvAlgorithmPolicy
    /// Output rows per tile of a whole-image `run`; 0: one tile per thread.
    public let tileHeight: Int
    private let tiles: TileBody

    public init(
        threadCount: Int, kernelFamily: String, algorithms: ConvAlgorithmPolicy = .measured, tileHeight: Int = 0,
        tiles: @escaping TileBody
    ) {
        precondition(threadCount >= 1)
        self.threadCount = threadCount
        self.kernelFamily = kernelFamily
        self.algorithms = algorithms
        self.tileHeight = tileHeight
        self.tiles = tiles
    }

    /// One line for reports: "2 threads, avx2 kernels" (", direct only" or ", Winograd forced" when
    /// the algorithm choice is forced).
    public var summary: String {
        let forced = algorithms == .direct ? ", direct only" : (algorithms == .winograd ? ", Winograd forced" : "")
        return "\(threadCount) thread\(threadCount == 1 ? "" : "s"), \(kernelFamily) kernels\(forced)"
    }

    /// The plan of `layers` over whole buffers (the sizes and aliasing rules of
    /// `NetworkTilePlan.init`), with this runner's algorithm choice; `tileHeight` output rows per
    /// tile (0: this runner's own choice).
    public func plan(
        layers: [Conv3x3Packed], input: UnsafePointer<UInt8>, inputWidth: Int, inputHeight: Int,
        base: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>, outputWidth: Int, outputHeight: Int,
        tileHeight: Int = 0
    ) -> NetworkTilePlan {
        var height = tileHeight > 0 ? tileHeight : self.tileHeight
        if height <= 0 { height = max(1, (outputHeight + threadCount - 1) / threadCount) }
        return NetworkTilePlan(
            layers: layers, input: input, inputWidth: inputWidth, inputHeight: inputHeight,
            base: base, output: output, outputWidth: outputWidth, outputHeight: outputHeight, tileHeight: height,
            algorithms: algorithms.algorithms(for: layers, family: kernelFamily))
    }

    /// Runs tiles `tiles` of `plan` with scratch memory the caller owns (see `TileBody`).
    public func runTiles(_ plan: NetworkTilePlan, _ tiles: Range<Int>, scratch: UnsafeMutableRawPointer) {
        if tiles.isEmpty { return }
        self.tiles(plan, tiles, scratch)
    }

    /// Runs `layers` over whole images: `base` may be the same memory as `output` (each output byte
    /// reads only its own base byte), never the same as `input`. Allocates the tiles' scratch
    /// (`threadCount * plan.scratchBytes`, which grows with the width), or fails without running.
    public func run(
        layers: [Conv3x3Packed], input: UnsafePointer<UInt8>, inputWidth: Int, inputHeight: Int,
        base: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>, outputWidth: Int, outputHeight: Int
    ) throws(AllocationFailure) {
        let plan = plan(layers: layers, input: input, inputWidth: inputWidth, inputHeight: inputHeight,
                        base: base, output: output, outputWidth: outputWidth, outputHeight: outputHeight)
        let (bytes, overflow) = threadCount.multipliedReportingOverflow(by: plan.scratchBytes)
        guard !overflow else { throw AllocationFailure(bytes: Int.max) }
        let scratch = try allocateLarge(UInt8.self, count: bytes, alignment: 64)
        defer { releaseLarge(scratch) }
        tiles(plan, 0..<plan.tileCount, UnsafeMutableRawPointer(scratch))
    }

    /// One thread, tiles in order, kernel family `Kernel` (`family` names it in reports). What an
    /// Embedded build or a single-core board runs. `tileHeight`: output rows per tile; 0, one tile
    /// (tiles only add halo work here: the scratch memory does not depend on the tile height).
    /// `algorithms` picks direct or Winograd per layer (by default the measured faster one).
    public static func serial<Kernel: Conv3x3Kernel>(
        _: Kernel.Type, family: String, tileHeight: Int = 0, algorithms: ConvAlgorithmPolicy = .measured
    ) -> NetworkRunner {
        NetworkRunner(threadCount: 1, kernelFamily: family, algorithms: algorithms, tileHeight: tileHeight) {
            plan, tiles, scratch in
            for tile in tiles { plan.runTile(tile, scratch: scratch, kernel: Kernel.self) }
        }
    }

    /// `serial` with the portable kernels: runs anywhere.
    public static let portable = serial(PortableConv3x3.self, family: "portable")
}
