import ComRecKernels

// The runner that codec profiles use (Profile.learned in ComRecCodec). With ComRecRuntime (every
// SwiftPM build) it is the thread pool with the best kernel family; in an Embedded build, where
// only ComRecKernels is on the module path, one thread with the portable kernels.
//
// Settings, read once at first use (or set with `configure`):
//   COMREC_THREADS  threads (default: the CPUs online)
//   COMREC_ISA      kernel family (ComRecRuntime/KernelISA.swift; default: the best supported)

#if canImport(ComRecRuntime)
import ComRecRuntime
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ComRecRuntime's executor: tiles of output rows over its thread pool.
public struct ThreadedNetworkRunner: NetworkRunner {
    public let executor: NetworkExecutor
    /// Output rows per tile; 0: one tile per thread.
    public var tileHeight: Int

    public init(executor: NetworkExecutor, tileHeight: Int = 0) {
        self.executor = executor
        self.tileHeight = tileHeight
    }

    public func run(
        layers: [Conv3x3Packed], input: UnsafePointer<UInt8>, inputWidth: Int, inputHeight: Int,
        base: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>, outputWidth: Int, outputHeight: Int
    ) {
        executor.run(
            layers: layers, input: input, inputWidth: inputWidth, inputHeight: inputHeight, base: base,
            output: output, outputWidth: outputWidth, outputHeight: outputHeight, tileHeight: tileHeight)
    }
}

public typealias DefaultNetworkRunner = ThreadedNetworkRunner

/// The process-wide runner of codec profiles.
public enum ModelEngine {
    /// Threads of the default runner: COMREC_THREADS if set, else the CPUs online.
    public static func defaultThreadCount() -> Int {
        if let raw = getenv("COMREC_THREADS"), let n = Int(String(cString: raw)), n >= 1 { return min(n, 256) }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Replaces the default runner's settings (nil: the environment's or the default). Tests use it
    /// to run profiles on every kernel family and thread count.
    public static func configure(threads: Int? = nil, isa: KernelISA? = nil, tileHeight: Int = 0) throws {
        let runner = ThreadedNetworkRunner(
            executor: NetworkExecutor(pool: ThreadPool(threads: threads ?? defaultThreadCount()), isa: try KernelISA.select(override: isa)),
            tileHeight: tileHeight)
        EngineState.shared.lock()
        EngineState.shared.runner = runner
        EngineState.shared.unlock()
    }

    /// Calls `body` with the default runner, one caller at a time (the pool is not reentrant).
    public static func withDefaultRunner<T>(_ body: (ThreadedNetworkRunner) -> T) -> T {
        let state = EngineState.shared
        state.lock()
        defer { state.unlock() }
        if state.runner == nil {
            let isa: KernelISA
            do {
                isa = try KernelISA.select()
            } catch {
                fatalError("comrec: \(error)")
            }
            state.runner = ThreadedNetworkRunner(
                executor: NetworkExecutor(pool: ThreadPool(threads: defaultThreadCount()), isa: isa))
        }
        return body(state.runner!)
    }

    /// The default runner's thread count and kernel family, for reports.
    public static var description: String {
        withDefaultRunner { "\($0.executor.pool.threadCount) threads, \($0.executor.isa.rawValue) kernels" }
    }
}

private final class EngineState: @unchecked Sendable {
    static let shared = EngineState()
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    var runner: ThreadedNetworkRunner?

    init() { pthread_mutex_init(mutex, nil) }
    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
}

#else

public typealias DefaultNetworkRunner = SerialNetworkRunner<PortableConv3x3>

/// The process-wide runner of codec profiles: one thread, portable kernels (Embedded build).
public enum ModelEngine {
    public static func withDefaultRunner<T>(_ body: (DefaultNetworkRunner) -> T) -> T {
        body(DefaultNetworkRunner())
    }

    public static var description: String { "1 thread, portable kernels" }
}

#endif

extension LearnedModel {
    /// `makeCompact` with the process-wide runner.
    public func makeCompact(image: UnsafePointer<UInt8>, width: Int, height: Int, compact: UnsafeMutablePointer<UInt8>) {
        ModelEngine.withDefaultRunner { makeCompact(image: image, width: width, height: height, compact: compact, runner: $0) }
    }

    /// `reconstruct` with the process-wide runner.
    public func reconstruct(
        compact: UnsafePointer<UInt8>, compactWidth: Int, compactHeight: Int,
        width: Int, height: Int, output: UnsafeMutablePointer<UInt8>
    ) {
        ModelEngine.withDefaultRunner {
            reconstruct(compact: compact, compactWidth: compactWidth, compactHeight: compactHeight,
                        width: width, height: height, output: output, runner: $0)
        }
    }

    /// `enhance` with the process-wide runner.
    public func enhance(image: UnsafePointer<UInt8>, width: Int, height: Int, output: UnsafeMutablePointer<UInt8>) {
        ModelEngine.withDefaultRunner { enhance(image: image, width: width, height: height, output: output, runner: $0) }
    }
}
