// The hosted network runners: tiles of output rows spread over a ThreadPool, with the kernel family
// chosen by KernelISA. The bytes written do not depend on the thread count, the tile height or the
// family.
import ComRecKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension NetworkRunner {
    /// Tiles over `pool`'s threads with family `isa` (the caller checked that the CPU runs it).
    /// `tileHeight`: output rows per tile; 0, one tile per thread, which recomputes the least halo
    /// (the scratch memory does not depend on the tile height). Calls from several threads take
    /// turns: a pool runs one network at a time, whichever runners share it.
    /// `algorithms` picks direct or Winograd per layer (by default the measured faster one for `isa`).
    public static func threaded(
        pool: ThreadPool, isa: KernelISA, tileHeight: Int = 0, algorithms: ConvAlgorithmPolicy = .measured
    ) -> NetworkRunner {
        NetworkRunner(threadCount: pool.threadCount, kernelFamily: isa.rawValue, algorithms: algorithms, tileHeight: tileHeight) {
            plan, tiles, scratch in
            let job = Unchecked((plan, scratch))
            pool.run(tasks: tiles.count) { task, worker in
                let (plan, scratch) = job.value
                isa.runTile(plan, tiles.lowerBound + task, scratch: scratch + worker * plan.scratchBytes)
            }
        }
    }

    /// A new pool of `threads` threads with family `isa` (nil: COMREC_ISA, else the best the CPU
    /// runs) and algorithm policy `algorithms` (nil: COMREC_CONV, else measured). Throws when the
    /// family is unknown or unsupported, or COMREC_CONV names no policy.
    public static func threaded(
        threads: Int, isa: KernelISA? = nil, tileHeight: Int = 0, algorithms: ConvAlgorithmPolicy? = nil
    ) throws(KernelISAError) -> NetworkRunner {
        threaded(pool: ThreadPool(threads: threads), isa: try KernelISA.select(override: isa), tileHeight: tileHeight,
                 algorithms: try ConvAlgorithmPolicy.select(override: algorithms))
    }

    /// Threads of the shared runner: COMREC_THREADS if set (1...256), else the CPUs online.
    public static func defaultThreadCount() -> Int {
        if let raw = getenv("COMREC_THREADS"), let n = Int(String(cString: raw)), n >= 1 { return min(n, 256) }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// The process's runner, made on first use from the environment (COMREC_THREADS, COMREC_ISA,
    /// COMREC_CONV) and kept, so that its threads are created once. Throws (every time) when
    /// COMREC_ISA names a family that is unknown or that this CPU cannot run, or COMREC_CONV names
    /// no algorithm policy.
    public static func shared() throws(KernelISAError) -> NetworkRunner {
        try SharedRunner.value.get()
    }
}

private enum SharedRunner {
    static let value: Result<NetworkRunner, KernelISAError> = Result { () throws(KernelISAError) in
        try NetworkRunner.threaded(threads: NetworkRunner.defaultThreadCount())
    }
}

/// Carries non-Sendable values (pointers, plans) into pool tasks; the pool's `run` returns only
/// when every task is done, so nothing outlives the call.
struct Unchecked<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
