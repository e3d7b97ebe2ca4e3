// LargeBuffer: memory an input sizes, whose refusal is an error rather than a stopped process.
import ComRecKernels
import Testing

@Suite struct LargeBufferTests {
    @Test func copiesAreValuesAndCompareByContents() throws {
        let a = try LargeBuffer<UInt8>([1, 2, 3, 4])
        var b = a
        #expect(a == b)
        b[0] = 9
        #expect(Array(a) == [1, 2, 3, 4], "a write to a copy leaves the original alone")
        #expect(Array(b) == [9, 2, 3, 4] && a != b)
        b.withUnsafeMutableBufferPointer { $0[3] = 7 }
        #expect(Array(b) == [9, 2, 3, 7])
        #expect(try LargeBuffer<Int16>(repeating: -5, count: 3) == LargeBuffer<Int16>([-5, -5, -5]))
        #expect(try LargeBuffer<UInt8>(repeating: 0, count: 0).isEmpty)
        let filled = try LargeBuffer<Int32>(uninitializedCount: 4) { for i in $0.indices { $0[i] = Int32(i * i) } }
        #expect(Array(filled) == [0, 1, 4, 9])
    }

    /// A refusal is an AllocationFailure naming the bytes asked for, whether the system refuses
    /// them or the size overflows.
    @Test func aRefusedAllocationIsAnErrorNamingTheBytes() {
        #expect(throws: AllocationFailure(bytes: Int.max / 4)) {
            _ = try LargeBuffer<UInt8>(repeating: 1, count: Int.max / 4)  // 2 exabytes: no system maps them
        }
        #expect(throws: AllocationFailure(bytes: Int.max)) { _ = try LargeBuffer<Int32>(repeating: 0, count: Int.max / 2) }
        #expect(throws: AllocationFailure(bytes: Int.max)) { _ = try allocateLarge(Int64.self, count: Int.max / 4) }
    }

    /// The test limit refuses exactly the blocks above it, on this thread only, and ends with its body.
    @Test func theTestLimitRefusesBlocksAboveItOnThisThread() throws {
        try LargeBuffer<UInt8>.failingAbove(400) { () throws in
            #expect(try LargeBuffer<UInt8>(repeating: 0, count: 400).count == 400)
            #expect(throws: AllocationFailure(bytes: 404)) { _ = try LargeBuffer<Int32>(repeating: 0, count: 101) }
            #expect(throws: AllocationFailure(bytes: 401)) { _ = try LargeBuffer<UInt8>([UInt8](repeating: 0, count: 401)) }
        }
        #expect(try LargeBuffer<UInt8>(repeating: 0, count: 401).count == 401, "no limit after the body")
    }
}
