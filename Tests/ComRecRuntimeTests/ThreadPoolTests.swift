import ComRecRuntime
import Foundation
import Testing

@Suite(.serialized) struct ThreadPoolTests {
    @Test func everyTaskRunsOnceOnAValidWorker() {
        for threads in [1, 2, 4] {
            let pool = ThreadPool(threads: threads)
            for tasks in [0, 1, 3, 100] {
                let counts = UnsafeMutablePointer<Int>.allocate(capacity: max(tasks, 1))
                counts.initialize(repeating: 0, count: max(tasks, 1))
                let workers = UnsafeMutablePointer<Int>.allocate(capacity: max(tasks, 1))
                let box = PointerBox(counts: counts, workers: workers)
                pool.run(tasks: tasks) { task, worker in
                    box.counts[task] += 1  // each task index is handed out once: no race
                    box.workers[task] = worker
                }
                for t in 0..<tasks {
                    #expect(counts[t] == 1)
                    #expect((0..<threads).contains(workers[t]))
                }
                counts.deallocate()
                workers.deallocate()
            }
        }
    }

    /// A pool runs many jobs in a row, each completely, and its threads end when it is released.
    ///
    /// Only the pool's own threads are counted (they carry `workerThreadName`): the Swift runtime
    /// and the test harness start threads of their own at any moment. Other tests make pools in
    /// parallel in this process, so the body runs alone in a child process (an exit test). A
    /// joined thread can stay listed in /proc for a moment after `pthread_join` returns (the
    /// kernel wakes the joiner before it reaps the thread), so "gone" means gone within a second.
    /// An issue recorded in the child is reported here, with its comment.
    @Test func poolIsReusableAndReleasesItsThreads() async {
        await #expect(processExitsWith: .success, "pool rounds in a child process") {
            for round in 0..<20 {
                let before = try poolThreads(settlingAt: 0)
                #expect(before == 0, "round \(round): \(before) pool threads before the pool")
                do {
                    let pool = ThreadPool(threads: 3)
                    let during = try poolThreads(settlingAt: 2)
                    #expect(during == 2, "round \(round): the caller is the third thread (\(during) pool threads)")
                    for job in 0..<5 {
                        let done = UnsafeMutablePointer<Int>.allocate(capacity: 7)
                        done.initialize(repeating: 0, count: 7)
                        let box = PointerBox(counts: done, workers: done)
                        pool.run(tasks: 7) { task, _ in box.counts[task] = job + 1 }
                        let results = Array(UnsafeBufferPointer(start: done, count: 7))
                        #expect(results == Array(repeating: job + 1, count: 7), "round \(round), job \(job): \(results)")
                        done.deallocate()
                    }
                }
                let after = try poolThreads(settlingAt: 0)
                #expect(after == 0, "round \(round): the released pool leaves \(after) threads behind")
            }
        }
    }
}

/// Threads of this process named `workerThreadName` (from /proc/self/task, Linux), read again
/// for up to a second until there are `expected`: a new worker names itself only once it runs,
/// and a joined one can stay listed a moment after `pthread_join` returns. Returns the last count.
private func poolThreads(settlingAt expected: Int) throws -> Int {
    var count = -1
    for _ in 0..<100 {
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")
        count = tasks.filter { task in
            let comm = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
            return comm.trimmingCharacters(in: .whitespacesAndNewlines) == workerThreadName
        }.count
        if count == expected { break }
        usleep(10_000)
    }
    return count
}

private struct PointerBox: @unchecked Sendable {
    let counts: UnsafeMutablePointer<Int>
    let workers: UnsafeMutablePointer<Int>
}
