import ComRecRuntime
import Foundation
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

    /// A pool runs many jobs in a row, each completely, and its threads end when it is released:
    /// the process's thread count comes back to where it was.
    func testPoolIsReusableAndReleasesItsThreads() throws {
        let before = try processThreadCount()
        for round in 0..<20 {
            let pool = ThreadPool(threads: 3)
            XCTAssertEqual(try processThreadCount(), before + 2, "round \(round): the caller is the third thread")
            for job in 0..<5 {
                let done = UnsafeMutablePointer<Int>.allocate(capacity: 7)
                done.initialize(repeating: 0, count: 7)
                let box = PointerBox(counts: done, workers: done)
                pool.run(tasks: 7) { task, _ in box.counts[task] = job + 1 }
                XCTAssertEqual(Array(UnsafeBufferPointer(start: done, count: 7)), Array(repeating: job + 1, count: 7))
                done.deallocate()
            }
        }
        XCTAssertEqual(try processThreadCount(), before, "released pools leave no threads behind")
    }

    /// Threads of this process, from /proc/self/status (Linux).
    func processThreadCount() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix("Threads:") })
        return try XCTUnwrap(Int(line.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)))
    }
}

private struct PointerBox: @unchecked Sendable {
    let counts: UnsafeMutablePointer<Int>
    let workers: UnsafeMutablePointer<Int>
}
