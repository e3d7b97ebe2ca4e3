// A fixed-size pool of pthreads, created once. `run(tasks:_:)` hands out task indices in order
// to the workers and the calling thread (worker index 0; the other threads are 1..<threadCount)
// and returns when all are done. Calls from several threads take turns (a mutex per pool). Results never
// depend on which worker runs a task: callers give each task disjoint output.
import CComRecCPU
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The name every worker thread carries (what `top -H`, `ps -L` and debuggers show), so a
/// process embedding the codec can tell its threads from the codec's.
public let workerThreadName = "comrec-worker"

/// Names the calling thread; Linux keeps at most 15 bytes of it.
private func nameThisThread(_ name: String) {
    ccomrec_name_this_thread(name)
}

public final class ThreadPool: @unchecked Sendable {
    /// Threads that run tasks, the caller's included.
    public let threadCount: Int
    private let state = PoolState()
    private var threads: [pthread_t] = []
    /// Held for a whole `run`: callers on several threads take turns (each run uses every worker
    /// index, so two at once would share per-worker scratch memory).
    private let turn = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    /// Starts `threads - 1` worker threads; the caller of `run` is the remaining one (worker 0).
    public init(threads: Int) {
        precondition(threads >= 1, "a pool needs at least one thread")
        threadCount = threads
        pthread_mutex_init(turn, nil)
        state.workers = threads - 1
        for index in 1..<threads {
            let context = Unmanaged.passRetained(WorkerContext(state: state, index: index)).toOpaque()
            #if canImport(Glibc)
            var thread = pthread_t()
            #else
            var thread: pthread_t? = nil
            #endif
            let rc = pthread_create(&thread, nil, { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                nameThisThread(workerThreadName)
                context.state.workerLoop(index: context.index)
                return nil
            }, context)
            precondition(rc == 0, "pthread_create failed: \(rc)")
            #if canImport(Glibc)
            self.threads.append(thread)
            #else
            self.threads.append(thread!)
            #endif
        }
    }

    deinit {
        state.stop()
        for thread in threads { pthread_join(thread, nil) }
        pthread_mutex_destroy(turn)
        turn.deallocate()
    }

    /// Runs `body(task, worker)` for every task in `0..<tasks`; `worker` is in `0..<threadCount`
    /// and no two concurrent calls share one, so it can index per-thread scratch memory. Calls
    /// from several threads take turns; `body` must not call `run` on the same pool (deadlock).
    public func run(tasks: Int, _ body: @escaping (_ task: Int, _ worker: Int) -> Void) {
        if tasks <= 0 { return }
        pthread_mutex_lock(turn)
        defer { pthread_mutex_unlock(turn) }
        if threadCount == 1 || tasks == 1 {
            for t in 0..<tasks { body(t, 0) }
            return
        }
        state.run(tasks: tasks, body)
    }
}

/// What the pool and its workers share; the workers keep it alive until they are joined.
private final class PoolState: @unchecked Sendable {
    let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    var workers = 0
    // Guarded by mutex.
    var body: ((Int, Int) -> Void)?
    var taskCount = 0
    var nextTask = 0
    var busyWorkers = 0
    var generation = 0
    var stopping = false

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(done, nil)
    }

    deinit {
        pthread_cond_destroy(wake)
        pthread_cond_destroy(done)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        wake.deallocate()
        done.deallocate()
    }

    func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }

    func run(tasks: Int, _ body: @escaping (Int, Int) -> Void) {
        pthread_mutex_lock(mutex)
        self.body = body
        taskCount = tasks
        nextTask = 0
        busyWorkers = workers
        generation += 1
        pthread_cond_broadcast(wake)
        drainTasks(worker: 0, body: body)
        while busyWorkers > 0 { pthread_cond_wait(done, mutex) }
        self.body = nil
        pthread_mutex_unlock(mutex)
    }

    /// Takes tasks until none are left. Called and returns with the mutex held.
    func drainTasks(worker: Int, body: (Int, Int) -> Void) {
        while nextTask < taskCount {
            let task = nextTask
            nextTask += 1
            pthread_mutex_unlock(mutex)
            body(task, worker)
            pthread_mutex_lock(mutex)
        }
    }

    func workerLoop(index: Int) {
        pthread_mutex_lock(mutex)
        // Generation 0 is "no job yet": a worker that starts late must still take part in a job
        // that began before it got the mutex.
        var seen = 0
        while true {
            while generation == seen && !stopping { pthread_cond_wait(wake, mutex) }
            if stopping { break }
            seen = generation
            if let body = body { drainTasks(worker: index, body: body) }
            busyWorkers -= 1
            if busyWorkers == 0 { pthread_cond_signal(done) }
        }
        pthread_mutex_unlock(mutex)
    }
}

private final class WorkerContext {
    let state: PoolState
    let index: Int
    init(state: PoolState, index: Int) {
        self.state = state
        self.index = index
    }
}
