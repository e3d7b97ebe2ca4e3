import CComRecPool
import ComRecCodec
import ComRecKernels
import ComRecModels
import ComRecNetworks
#if COMREC_AVX2  // the host library for AVX2 CPUs (scripts/boards.sh x86_64-avx2)
import ComRecKernelsAVX2
#endif

// A comrec_context: the profiles on a runner of its own threads (a CComRecPool pool), the pixel
// limit and the message of its last failure. Contexts share only the read-only weights.

#if arch(arm64) && COMREC_NEON_DOT
typealias BoardKernel = NeonDotConv3x3
let boardKernelFamily: StaticString = "neondot"
let boardKernelFamilyName = "neondot"
#elseif arch(x86_64) && COMREC_AVX2
typealias BoardKernel = AVX2Conv3x3
let boardKernelFamily: StaticString = "avx2"
let boardKernelFamilyName = "avx2"
#elseif arch(arm64)
typealias BoardKernel = NeonConv3x3
let boardKernelFamily: StaticString = "neon"
let boardKernelFamilyName = "neon"
#else
typealias BoardKernel = PortableConv3x3
let boardKernelFamily: StaticString = "portable"
let boardKernelFamilyName = "portable"
#endif

final class Context {
    let threads: Int
    let pool: OpaquePointer?
    private(set) var profiles: [Profile]
    private(set) var algorithms = ConvAlgorithmPolicy.measured
    /// With the measured choice, the same profiles on direct convolutions: what a decode falls
    /// back to when the caller's arena is too small for the measured choice (direct needs the
    /// least arena). Nil when the caller forced an algorithm.
    private(set) var smallestArenaProfiles: [Profile]?
    var maxPixels = defaultMaxPixels
    /// The last failure's details, NUL-terminated.
    let message = UnsafeMutablePointer<CChar>.allocate(capacity: Context.messageBytes)
    static let messageBytes = 256
    /// Where an encode's write callback is kept while libjpeg may call it (Encode.swift).
    let writeTarget = UnsafeMutablePointer<WriteTarget>.allocate(capacity: 1)
    /// The memory of the call heap (CComRecPool.h) that a call's own records come from, so that
    /// no call after set-up takes anything from the C library's heap (scripts/boards.sh routes the
    /// library's Swift allocations there). A call's records take about 4 KB.
    private var callHeapMemory = UnsafeMutableRawPointer.allocate(byteCount: Context.callHeapBytes, alignment: 64)
    static let callHeapBytes = 16 * 1024

    init?(threads: Int) {
        self.threads = threads
        if threads > 1 {
            guard let pool = crc_pool_create(Int32(threads)) else {
                message.deallocate()
                writeTarget.deallocate()
                return nil
            }
            self.pool = pool
        } else {
            pool = nil
        }
        profiles = boardProfiles(runner: boardRunner(threads: threads, pool: pool, algorithms: .measured))
        smallestArenaProfiles = boardProfiles(runner: boardRunner(threads: threads, pool: pool, algorithms: .direct))
        message[0] = 0
        writeTarget.initialize(to: WriteTarget())
        // Decode every network now, so that no later call allocates for weights.
        for profile in profiles {
            _ = profile.networks?.model()
            for enhancer in profile.enhancers { _ = enhancer.model.networks?.model() }
        }
    }

    deinit {
        crc_pool_destroy(pool)
        message.deallocate()
        writeTarget.deallocate()
        callHeapMemory.deallocate()
    }

    /// Runs the work of one C API call with its records on the context's call heap. A record that
    /// outlives the call (a global the call was the first to need) keeps the block it is in for
    /// good, and the context takes a new block for the next call: nothing is left pointing at
    /// memory that is reused.
    func call(_ work: () -> Int32) -> Int32 {
        var heap = crc_call_heap()
        crc_call_heap_init(&heap, callHeapMemory, Context.callHeapBytes)
        crc_call_heap_begin(&heap)
        let status = work()
        if crc_call_heap_end(&heap) != 0 {
            callHeapMemory = UnsafeMutableRawPointer.allocate(byteCount: Context.callHeapBytes, alignment: 64)
        }
        return status
    }

    func profile(named name: String) -> Profile? { profiles.first { $0.name == name } }

    /// Runs the networks with `algorithms` from now on (the weights are shared and already decoded).
    func use(_ algorithms: ConvAlgorithmPolicy) {
        self.algorithms = algorithms
        profiles = boardProfiles(runner: boardRunner(threads: threads, pool: pool, algorithms: algorithms))
        smallestArenaProfiles = algorithms == .measured
            ? boardProfiles(runner: boardRunner(threads: threads, pool: pool, algorithms: .direct)) : nil
    }

    /// Records `text` as the last failure's details and returns `status`.
    func fail(_ status: Status, _ text: String) -> Int32 {
        var count = 0
        for byte in text.utf8 where count < Context.messageBytes - 1 {
            message[count] = CChar(bitPattern: byte)
            count += 1
        }
        message[count] = 0
        return status.rawValue
    }

    func fail(_ error: ComRecError) -> Int32 { fail(Status(error), error.description) }

    func succeed() -> Int32 {
        message[0] = 0
        return Status.ok.rawValue
    }
}

/// The profiles of the board libraries. A firmware build that needs fewer profiles defines
/// COMREC_ONLY_FAST (fast, without its enhancer for trellis JPEGs with the standard's tables and
/// its RecCNN for rounded compact JPEGs with the standard's tables, and bicubic), and its linker
/// drops the other weights.
func boardProfiles(runner: NetworkRunner) -> [Profile] {
    #if COMREC_ONLY_FAST
    return [
        .bicubic,
        Profile.fastWithoutStandardTrellis(runner: runner),
    ]
    #else
    return Profile.registered(runner: runner)
    #endif
}

/// What a pool task needs: the plan, the first tile and the scratch of every worker.
private struct TileJob {
    let plan: NetworkTilePlan
    let firstTile: Int
    let scratch: UnsafeMutableRawPointer
}

private struct PoolHandle: @unchecked Sendable {
    let pool: OpaquePointer?
}

/// Tiles on the pool's threads (or the caller's alone) with the build's kernel family.
func boardRunner(threads: Int, pool: OpaquePointer?, algorithms: ConvAlgorithmPolicy) -> NetworkRunner {
    let handle = PoolHandle(pool: pool)
    return NetworkRunner(threadCount: threads, kernelFamily: boardKernelFamilyName, algorithms: algorithms) { plan, tiles, scratch in
        guard let pool = handle.pool, tiles.count > 1 else {
            for tile in tiles { plan.runTile(tile, scratch: scratch, kernel: BoardKernel.self) }
            return
        }
        var job = TileJob(plan: plan, firstTile: tiles.lowerBound, scratch: scratch)
        withUnsafeMutablePointer(to: &job) { pointer in
            crc_pool_run(pool, Int32(tiles.count), { context, task, worker in
                let job = context!.assumingMemoryBound(to: TileJob.self).pointee
                job.plan.runTile(job.firstTile + Int(task), scratch: job.scratch + Int(worker) * job.plan.scratchBytes,
                                 kernel: BoardKernel.self)
            }, pointer)
        }
    }
}

@_cdecl("comrec_context_create")
public func comrec_context_create(_ threads: Int32, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let out else { return Status.argument.rawValue }
    out.pointee = nil
    guard (1...64).contains(threads) else { return Status.argument.rawValue }
    guard let context = Context(threads: Int(threads)) else { return Status.threads.rawValue }
    out.pointee = OpaquePointer(Unmanaged.passRetained(context).toOpaque())
    return Status.ok.rawValue
}

@_cdecl("comrec_context_destroy")
public func comrec_context_destroy(_ context: OpaquePointer?) {
    guard let context else { return }
    Unmanaged<Context>.fromOpaque(UnsafeRawPointer(context)).release()
}

@_cdecl("comrec_context_message")
public func comrec_context_message(_ context: OpaquePointer?) -> UnsafePointer<CChar> {
    guard let context = contextObject(context) else { return comrec_status_string(Status.argument.rawValue) }
    return UnsafePointer(context.message)
}

@_cdecl("comrec_context_set_max_pixels")
public func comrec_context_set_max_pixels(_ context: OpaquePointer?, _ maxPixels: UInt64) -> Int32 {
    guard let context = contextObject(context) else { return Status.argument.rawValue }
    guard maxPixels >= 1 && maxPixels <= UInt64(Int.max) else {
        return context.fail(.argument, "the pixel limit must be 1...\(Int.max) on this target, not \(maxPixels)")
    }
    context.maxPixels = Int(maxPixels)
    return context.succeed()
}

/// The context behind a C handle (not retained: the caller owns it).
func contextObject(_ handle: OpaquePointer?) -> Context? {
    guard let handle else { return nil }
    return Unmanaged<Context>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

@_cdecl("comrec_context_set_convolution")
public func comrec_context_set_convolution(_ handle: OpaquePointer?, _ choice: Int32) -> Int32 {
    guard let context = contextObject(handle) else { return Status.argument.rawValue }
    switch choice {
    case 0: context.use(.measured)
    case 1: context.use(.direct)
    case 2: context.use(.winograd)
    default: return context.fail(.argument, "convolution choice \(choice) is not COMREC_CONVOLUTION_MEASURED, _DIRECT or _WINOGRAD")
    }
    return context.succeed()
}
