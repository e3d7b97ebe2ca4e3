import ComRecRuntime
import XCTest

final class ThreadPoolTests: XCTestCase {
    func testEveryTaskRunsOnceOnAValidWorker() {
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
                    XCTAssertEqual(counts[t], 1)
                    XCTAssertTrue((0..<threads).contains(workers[t]))
                }
                counts.deallocate()
                workers.deallocate()
            }
        }
    }

    func testPoolIsReusableAndReleases() {
        for _ in 0..<20 {
            let pool = ThreadPool(threads: 3)
            for _ in 0..<5 { pool.run(tasks: 7) { _, _ in } }
        }
    }
}

private struct PointerBox: @unchecked Sendable {
    let counts: UnsafeMutablePointer<Int>
    let workers: UnsafeMutablePointer<Int>
}
