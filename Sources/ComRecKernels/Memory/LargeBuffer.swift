import CComRecMemory

// Memory for buffers whose size an input decides (images, DCT planes, a network's scratch). Swift's
// own allocation (arrays, `UnsafeMutablePointer.allocate`) stops the process when the system
// refuses; these come from the C library instead (CComRecMemory), and a refusal is an error that
// names the bytes, which every layer above passes on as its own error.

/// The system (or a test's limit, `LargeBuffer.failingAbove`) refused `bytes` bytes.
public struct AllocationFailure: Error, Equatable, Sendable {
    public let bytes: Int

    public init(bytes: Int) { self.bytes = bytes }
}

/// `count` elements' worth of memory aligned to `alignment`, uninitialised; give it back with
/// `releaseLarge`. A count whose bytes overflow is refused as `Int.max` bytes.
public func allocateLarge<Element>(
    _: Element.Type, count: Int, alignment: Int = MemoryLayout<Element>.alignment
) throws(AllocationFailure) -> UnsafeMutablePointer<Element> {
    precondition(count >= 0)
    let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<Element>.stride)
    guard !overflow else { throw AllocationFailure(bytes: Int.max) }
    guard let block = crc_allocate(bytes, max(alignment, MemoryLayout<Element>.alignment)) else {
        throw AllocationFailure(bytes: bytes)
    }
    return block.bindMemory(to: Element.self, capacity: count)
}

/// Gives back memory of `allocateLarge`.
public func releaseLarge<Element>(_ block: UnsafeMutablePointer<Element>) {
    crc_release(block)
}

/// Whether the system (and a test's limit, `LargeBuffer.failingAbove`) grants `bytes` bytes now,
/// asked without keeping or touching them: the check before memory that Swift's own allocator
/// will take, so that a refusal is an error rather than a stopped process. Only an allocation by
/// another thread between the check and the use could still be refused.
public func systemGrants(bytes: Int) -> Bool {
    bytes >= 0 && crc_grantable(bytes) != 0
}

/// `bytes` copied into a Swift array, whose size the system is asked for first (`systemGrants`):
/// for data an input sizes that must leave as `[UInt8]` (a compressed file).
public func arrayCopying(_ bytes: UnsafeBufferPointer<UInt8>) throws(AllocationFailure) -> [UInt8] {
    guard systemGrants(bytes: bytes.count) else { throw AllocationFailure(bytes: bytes.count) }
    return Array(bytes)
}

/// A fixed-size array of plain values in memory from `allocateLarge`: what `[Element]` is for small
/// data, for data an input sizes. Value semantics (copied on the first write to a shared copy).
/// Creating one can fail with `AllocationFailure`; so can nothing else, except writing to a copy
/// shared with another value, which must copy it and stops the process if the system refuses: the
/// codec never writes to a buffer it has shared.
public struct LargeBuffer<Element: BitwiseCopyable>: RandomAccessCollection, MutableCollection, @unchecked Sendable {
    @usableFromInline
    final class Storage {
        @usableFromInline let base: UnsafeMutablePointer<Element>
        @usableFromInline let count: Int

        @usableFromInline
        init(base: UnsafeMutablePointer<Element>, count: Int) {
            self.base = base
            self.count = count
        }

        deinit { releaseLarge(base) }
    }

    // Inlinable across modules: the codec's loops read and write through these.
    @usableFromInline var storage: Storage

    /// `count` copies of `value`.
    public init(repeating value: Element, count: Int) throws(AllocationFailure) {
        let base = try allocateLarge(Element.self, count: count)
        base.initialize(repeating: value, count: count)
        storage = Storage(base: base, count: count)
    }

    /// `count` elements written by `fill`, which must set every one of them.
    public init(
        uninitializedCount count: Int, fill: (UnsafeMutableBufferPointer<Element>) -> Void
    ) throws(AllocationFailure) {
        let base = try allocateLarge(Element.self, count: count)
        fill(UnsafeMutableBufferPointer(start: base, count: count))
        storage = Storage(base: base, count: count)
    }

    /// A copy of `elements`.
    public init(_ elements: some Collection<Element>) throws(AllocationFailure) {
        let count = elements.count
        let base = try allocateLarge(Element.self, count: count)
        _ = UnsafeMutableBufferPointer(start: base, count: count).initialize(fromContentsOf: elements)
        storage = Storage(base: base, count: count)
    }

    @inlinable
    public var startIndex: Int { 0 }
    @inlinable
    public var endIndex: Int { storage.count }
    @inlinable
    public var count: Int { storage.count }

    @inlinable
    public subscript(index: Int) -> Element {
        get {
            precondition(index >= 0 && index < storage.count, "LargeBuffer index out of range")
            return storage.base[index]
        }
        set {
            precondition(index >= 0 && index < storage.count, "LargeBuffer index out of range")
            makeUnique()
            storage.base[index] = newValue
        }
    }

    /// Calls `body` with the elements' memory, valid only during the call.
    @inlinable
    public func withUnsafeBufferPointer<Result, Failure: Error>(
        _ body: (UnsafeBufferPointer<Element>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(UnsafeBufferPointer(start: storage.base, count: storage.count))
    }

    /// Calls `body` with the elements' memory to write, valid only during the call.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<Result, Failure: Error>(
        _ body: (UnsafeMutableBufferPointer<Element>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        makeUnique()
        return try body(UnsafeMutableBufferPointer(start: storage.base, count: storage.count))
    }

    @usableFromInline
    mutating func makeUnique() {
        if isKnownUniquelyReferenced(&storage) { return }
        // The one allocation that cannot fail as an error (a subscript cannot throw): a write to a
        // buffer shared with another value, which the codec never makes.
        let own = try! allocateLarge(Element.self, count: storage.count)
        own.initialize(from: storage.base, count: storage.count)
        storage = Storage(base: own, count: storage.count)
    }
}

extension LargeBuffer: Equatable where Element: Equatable {
    public static func == (a: LargeBuffer, b: LargeBuffer) -> Bool {
        if a.storage === b.storage { return true }
        guard a.count == b.count else { return false }
        for i in 0..<a.count where a.storage.base[i] != b.storage.base[i] { return false }
        return true
    }
}

extension LargeBuffer {
    /// For tests: on the calling thread, every large allocation of more than `bytes` bytes fails
    /// while `body` runs, as if the system had refused it.
    public static func failingAbove<Result, Failure: Error>(
        _ bytes: Int, _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let previous = crc_allocation_fail_above(bytes)
        defer { crc_allocation_fail_above(previous) }
        return try body()
    }
}
