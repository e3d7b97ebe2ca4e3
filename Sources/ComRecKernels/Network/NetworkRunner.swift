// How a whole network runs over one image: the one abstraction that every model is executed
// through. A runner decides how the tiles of a NetworkTilePlan are scheduled and which kernel
// family computes them; the bytes written never depend on that choice.
//
// A struct holding a function rather than a protocol, so that a codec profile can capture a
// runner without existentials (Embedded Swift has none) and a build chooses its runner by value:
// `serial` (here, Embedded-safe: one thread, a kernel family fixed at build time) or `threaded`
// (ComRecRuntime: a thread pool and the kernel family chosen from the CPU).

public struct NetworkRunner: Sendable {
    /// Runs packed layers over one image; the buffers and sizes are those of
    /// `NetworkTilePlan.init`. `base` may be the same memory as `output` (each output byte reads
    /// only its own base byte), never the same as `input`.
    public typealias Body = @Sendable (
        _ layers: [Conv3x3Packed], _ input: UnsafePointer<UInt8>, _ inputWidth: Int, _ inputHeight: Int,
        _ base: UnsafePointer<UInt8>, _ output: UnsafeMutablePointer<UInt8>, _ outputWidth: Int, _ outputHeight: Int
    ) -> Void

    /// Threads the runner uses (the caller's included).
    public let threadCount: Int
    /// The kernel family's name (`KernelISA` raw values: avx512vnni, avx2, neondot, neon, portable).
    public let kernelFamily: String
    /// How the runner picks direct or Winograd per layer.
    public let algorithms: ConvAlgorithmPolicy
    private let body: Body

    public init(threadCount: Int, kernelFamily: String, algorithms: ConvAlgorithmPolicy = .measured, body: @escaping Body) {
        precondition(threadCount >= 1)
        self.threadCount = threadCount
        self.kernelFamily = kernelFamily
        self.algorithms = algorithms
        self.body = body
    }

    /// One line for reports: "2 threads, avx2 kernels" (", direct only" or ", Winograd forced" when
    /// the algorithm choice is forced).
    public var summary: String {
        let forced = algorithms == .direct ? ", direct only" : (algorithms == .winograd ? ", Winograd forced" : "")
        return "\(threadCount) thread\(threadCount == 1 ? "" : "s"), \(kernelFamily) kernels\(forced)"
    }

    /// Runs `layers` over `input` into `output` (see `Body`).
    public func run(
        layers: [Conv3x3Packed], input: UnsafePointer<UInt8>, inputWidth: Int, inputHeight: Int,
        base: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>, outputWidth: Int, outputHeight: Int
    ) {
        body(layers, input, inputWidth, inputHeight, base, output, outputWidth, outputHeight)
    }

    /// One thread, tiles in order, kernel family `Kernel` (`family` names it in reports). What an
    /// Embedded build or a single-core board runs. `tileHeight`: output rows per tile; 0, one tile
    /// (tiles only add halo work here: the scratch memory does not depend on the tile height).
    /// `algorithms` picks direct or Winograd per layer (by default the measured faster one).
    public static func serial<Kernel: Conv3x3Kernel>(
        _: Kernel.Type, family: String, tileHeight: Int = 0, algorithms: ConvAlgorithmPolicy = .measured
    ) -> NetworkRunner {
        NetworkRunner(threadCount: 1, kernelFamily: family, algorithms: algorithms) {
            layers, input, inputWidth, inputHeight, base, output, outputWidth, outputHeight in
            let plan = NetworkTilePlan(
                layers: layers, input: input, inputWidth: inputWidth, inputHeight: inputHeight,
                base: base, output: output, outputWidth: outputWidth, outputHeight: outputHeight, tileHeight: tileHeight,
                algorithms: algorithms.algorithms(for: layers, family: family))
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: plan.scratchBytes, alignment: 64)
            defer { scratch.deallocate() }
            for tile in 0..<plan.tileCount { plan.runTile(tile, scratch: scratch, kernel: Kernel.self) }
        }
    }

    /// `serial` with the portable kernels: runs anywhere.
    public static let portable = serial(PortableConv3x3.self, family: "portable")
}
