import ComRecKernels
import ComRecModels
import ComRecRuntime
import ComRecTestModels
import Testing

/// A streamed run (rows in, rows out, an arena) gives the bytes of the whole-image run for every
/// job, wiring, size, thread count and tile height, reads each source row once, and stays inside
/// its arena.
@Suite struct StreamedRunTests {
    // 21 and 85 wide with odd heights: the widened last source row (3 bytes more than the
    // width) ends exactly at a 64-byte boundary of the arena.
    static let sizes = [(1, 1), (2, 3), (5, 7), (21, 5), (37, 29), (40, 131), (85, 3)]

    @Test(arguments: [1, 3], [ConvAlgorithmPolicy.direct, .winograd])
    func streamedEqualsWholeImage(threads: Int, algorithms: ConvAlgorithmPolicy) throws {
        let runner = NetworkRunner.threaded(pool: ThreadPool(threads: threads), isa: .portable, algorithms: algorithms)
        let halves = [TestPaperModel.model, TestFastModel.model]
        let enhancers = [TestPaperFullModel.model, TestFastFullModel.model]
        for (width, height) in StreamedRunTests.sizes {
            let image = goldenSyntheticImage(width: width, height: height, seed: width * 31 + height)
            let cw = (width + 1) / 2, ch = (height + 1) / 2
            let compactInput = goldenSyntheticImage(width: cw, height: ch, seed: width + height)
            for tileRows in [1, 4, 64, StreamedRun.fitted(bandBytes: 1000), StreamedRun.fitted(bandBytes: 1 << 30)] {
                for model in halves {
                    var compact = [UInt8](repeating: 0, count: cw * ch * 3)
                    try model.makeCompact(image: image, width: width, height: height, compact: &compact, runner: runner)
                    let streamedCompact = try streamed(model, .compact, width, height, image, runner, tileRows)
                    #expect(streamedCompact == compact, "\(model.profile) compact \(width)x\(height), tiles of \(tileRows)")

                    var whole = [UInt8](repeating: 0, count: width * height * 3)
                    try model.reconstruct(compact: compactInput, compactWidth: cw, compactHeight: ch,
                                      width: width, height: height, output: &whole, runner: runner)
                    let streamedWhole = try streamed(model, .reconstruct, width, height, compactInput, runner, tileRows)
                    #expect(streamedWhole == whole, "\(model.profile) reconstruct \(width)x\(height), tiles of \(tileRows)")
                }
                for model in enhancers {
                    var whole = [UInt8](repeating: 0, count: width * height * 3)
                    try model.enhance(image: image, width: width, height: height, output: &whole, runner: runner)
                    let streamedWhole = try streamed(model, .enhance, width, height, image, runner, tileRows)
                    #expect(streamedWhole == whole, "\(model.profile) enhance \(width)x\(height), tiles of \(tileRows)")
                }
            }
        }
    }

    @Test func arenaDependsOnTheWidthOnly() throws {
        for model in [TestPaperModel.model, TestFastModel.model] {
            let short = StreamedRun(model: model, job: .reconstruct, width: 300, height: 1000, runner: .portable)
            let tall = StreamedRun(model: model, job: .reconstruct, width: 300, height: 50_000, runner: .portable)
            let wide = StreamedRun(model: model, job: .reconstruct, width: 600, height: 1000, runner: .portable)
            #expect(short.arenaBytes == tall.arenaBytes, "\(model.profile)")
            #expect(wide.arenaBytes > short.arenaBytes, "\(model.profile)")
        }
    }

    @Test func tooSmallArenaAndStoppedStreamsAreErrors() throws {
        let model = TestFastModel.model
        let run = StreamedRun(model: model, job: .reconstruct, width: 20, height: 20, runner: .portable, tileRows: 2)
        let arena = UnsafeMutableRawPointer.allocate(byteCount: run.arenaBytes, alignment: 64)
        defer { arena.deallocate() }
        #expect(throws: StreamedRunError.arenaTooSmall(needed: run.arenaBytes, given: run.arenaBytes - 1)) {
            try run.run(arena: arena, arenaBytes: run.arenaBytes - 1, source: { _ in true }, sink: { _, _ in true })
        }
        var given = 0
        #expect(throws: StreamedRunError.sourceFailed) {
            try run.run(arena: arena, arenaBytes: run.arenaBytes, source: { row in
                given += 1
                row.update(repeating: 9, count: 30)
                return given < 4
            }, sink: { _, _ in true })
        }
        #expect(given == 4, "no row is asked for after the source failed")
        var taken = 0
        #expect(throws: StreamedRunError.sinkFailed) {
            try run.run(arena: arena, arenaBytes: run.arenaBytes, source: { row in
                row.update(repeating: 9, count: 30)
                return true
            }, sink: { _, _ in
                taken += 1
                return taken < 3
            })
        }
        #expect(taken == 3)
    }
}

/// `job` of `model` streamed row by row from `input`, with the arena between two guard zones
/// that must come back untouched; the source must be read exactly once per row.
private func streamed(
    _ model: LearnedModel, _ job: StreamedJob, _ width: Int, _ height: Int, _ input: [UInt8],
    _ runner: NetworkRunner, _ tileRows: Int
) throws -> [UInt8] {
    let run = StreamedRun(model: model, job: job, width: width, height: height, runner: runner, tileRows: tileRows)
    let guardBytes = 256
    let memory = UnsafeMutablePointer<UInt8>.allocate(capacity: run.arenaBytes + 2 * guardBytes)
    defer { memory.deallocate() }
    memory.initialize(repeating: 0xA5, count: run.arenaBytes + 2 * guardBytes)
    var out: [UInt8] = []
    var nextSourceRow = 0, nextSinkRow = 0
    try run.run(arena: memory + guardBytes, arenaBytes: run.arenaBytes, source: { row in
        precondition(nextSourceRow < run.sourceHeight, "a source row past the end was asked for")
        let start = nextSourceRow * run.sourceWidth * 3
        for i in 0..<(run.sourceWidth * 3) { row[i] = input[start + i] }
        nextSourceRow += 1
        return true
    }, sink: { y, row in
        precondition(y == nextSinkRow, "rows out of order")
        nextSinkRow += 1
        out += UnsafeBufferPointer(start: row, count: run.sinkWidth * 3)
        return true
    })
    #expect(nextSourceRow == run.sourceHeight, "every source row read once")
    #expect(nextSinkRow == run.sinkHeight, "every output row given once")
    let front = UnsafeBufferPointer(start: memory, count: guardBytes)
    let back = UnsafeBufferPointer(start: memory + guardBytes + run.arenaBytes, count: guardBytes)
    #expect(front.allSatisfy { $0 == 0xA5 } && back.allSatisfy { $0 == 0xA5 }, "writes outside the arena")
    return out
}
