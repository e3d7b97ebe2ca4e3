/// The identity of a model's weights as stored in a ComRec file: the first 8 bytes of the SHA-256
/// of the weights (for `bicubic`, of a fixed description string). Eight bytes tell models apart;
/// they are not a security measure (docs/format.md).
public struct ModelHash: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 8
    /// The hash as a big-endian number: byte 0 of the digest is the most significant.
    public let value: UInt64

    public init(value: UInt64) { self.value = value }

    /// The first 8 bytes of `bytes` (at least 8).
    public init<Bytes: Collection<UInt8>>(prefixOf bytes: Bytes) {
        precondition(bytes.count >= Self.byteCount)
        var v: UInt64 = 0
        for byte in bytes.prefix(Self.byteCount) { v = v << 8 | UInt64(byte) }
        value = v
    }

    /// The hash of a weights blob or description: SHA-256, first 8 bytes.
    public init<Bytes: Collection<UInt8>>(hashing bytes: Bytes) {
        self.init(prefixOf: sha256(bytes))
    }

    /// The 8 bytes, most significant first (the order in the file).
    public var bytes: [UInt8] {
        (0..<Self.byteCount).map { UInt8(truncatingIfNeeded: value >> UInt64(56 - 8 * $0)) }
    }

    /// 16 lowercase hex digits.
    public var description: String {
        let digits: [Character] = Array("0123456789abcdef")
        var s = ""
        for byte in bytes {
            s.append(digits[Int(byte >> 4)])
            s.append(digits[Int(byte & 15)])
        }
        return s
    }
}
