/// A deterministic pseudo-random sequence (xorshift), so that failures reproduce.
public struct Sequence64 {
    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    /// The next value in 0..<bound.
    public mutating func next(_ bound: Int) -> Int {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Int(state % UInt64(bound))
    }
}
