// The ComRec APPn segment: byte layout, writing and parsing. docs/format.md is the specification;
// keep the two in step.

import ComRecModels

/// How a ComRec file stores its image (format version 2; a version 1 file is always `half`).
public enum CodecMode: UInt8, CaseIterable, Sendable {
    /// The JPEG holds the compact image (half width and height); RecCNN rebuilds the original.
    case half = 0
    /// The JPEG holds the image at its full size; an enhancer (or nothing) removes JPEG artifacts.
    case full = 1

    /// The name used by `--mode`, `comrec info` and the docs.
    public var name: String {
        switch self {
        case .half: return "half"
        case .full: return "full"
        }
    }

    public init?(name: String) {
        guard let mode = CodecMode.allCases.first(where: { $0.name == name }) else { return nil }
        self = mode
    }
}

/// The contents of a ComRec segment (versions 1 and 2).
public struct ComRecSegment: Equatable, Sendable {
    /// JPEG marker that carries the segment: APP9 (docs/format.md says why).
    public static let marker: UInt8 = 0xE9
    /// "ComRec" and a NUL, as JFIF and Exif end their identifiers.
    public static let magic: [UInt8] = Array("ComRec".utf8) + [0]
    /// The largest width or height a file may state: 2^31-1 (docs/format.md), for readers whose
    /// sizes are signed 32-bit integers.
    public static let maxSide = 0x7FFF_FFFF
    /// The format version this build writes.
    public static let currentVersion = 2
    /// The format versions this build reads. Version 1 has no mode byte (its files are `half`).
    public static let readableVersions = 1...2
    /// Bytes from the marker to the end of the segment may not exceed this (the format's budget,
    /// docs/format.md).
    public static let maxWrittenOverhead = 63

    public var version: Int
    /// What the JPEG holds; `half` for every version 1 file.
    public var mode: CodecMode
    public var profile: String
    /// Identity of the weights that decode the file: the profile's half-mode model, or in `full`
    /// mode its enhancer (or `FullResolutionModel.plainJPEG`'s hash: no network).
    public var modelHash: ModelHash
    /// Size of the original image (what decode produces).
    public var width: Int
    public var height: Int
    /// JPEG quality (1...100) the JPEG (compact or full-size image) was written with.
    public var quality: Int
    /// Extension records: later optional fields. Unknown non-critical ones are kept here as read.
    public var extensions: [Extension]

    /// One extension record: tag, then up to 255 bytes. A tag with bit 7 set is critical: a reader
    /// that does not know it must refuse the file.
    public struct Extension: Equatable, Sendable {
        public var tag: UInt8
        public var value: [UInt8]
        public init(tag: UInt8, value: [UInt8]) {
            self.tag = tag
            self.value = value
        }
        public var isCritical: Bool { tag & 0x80 != 0 }
    }

    public init(
        version: Int = ComRecSegment.currentVersion, mode: CodecMode = .half, profile: String, modelHash: ModelHash,
        width: Int, height: Int, quality: Int, extensions: [Extension] = []
    ) {
        self.version = version
        self.mode = mode
        self.profile = profile
        self.modelHash = modelHash
        self.width = width
        self.height = height
        self.quality = quality
        self.extensions = extensions
    }

    /// The payload (what follows the marker and the 2 length bytes).
    public func serialised() throws(ComRecError) -> [UInt8] {
        let name = Array(profile.utf8)
        guard Profile.isValidName(profile) else {
            throw .invalidArgument("profile name '\(profile)' must be 1...\(Profile.maxNameLength) of [a-z0-9_-]")
        }
        guard ComRecSegment.readableVersions.contains(version) else {
            throw .invalidArgument("format version \(version) cannot be written (this build knows \(ComRecSegment.readableVersions))")
        }
        guard version >= 2 || mode == .half else {
            throw .invalidArgument("format version 1 has no mode byte: it can only store half-mode files")
        }
        guard width >= 1, height >= 1 else { throw .emptyImage(width: width, height: height) }
        // The reader refuses sides above 2^31-1 (docs/format.md), so the writer never makes one.
        guard width <= ComRecSegment.maxSide, height <= ComRecSegment.maxSide else {
            throw .invalidArgument("the image size \(width) x \(height) is over the format's limit of \(ComRecSegment.maxSide) per side")
        }
        guard (1...100).contains(quality) else { throw .invalidArgument("JPEG quality \(quality) is not in 1...100") }
        var out = ComRecSegment.magic
        out.append(UInt8(version))
        if version >= 2 { out.append(mode.rawValue) }
        out.append(UInt8(name.count))
        out += name
        out += modelHash.bytes
        appendBigEndian(UInt32(width), to: &out)
        appendBigEndian(UInt32(height), to: &out)
        out.append(UInt8(quality))
        for record in extensions {
            guard record.value.count <= 255 else {
                throw .invalidArgument("extension \(record.tag) is longer than 255 bytes")
            }
            out.append(record.tag)
            out.append(UInt8(record.value.count))
            out += record.value
        }
        guard out.count + 4 <= ComRecSegment.maxWrittenOverhead else {
            throw .invalidArgument("ComRec segment would take \(out.count + 4) bytes, over the budget of \(ComRecSegment.maxWrittenOverhead)")
        }
        return out
    }

    /// Whether an APP9 payload is a ComRec segment at all (starts with the magic).
    public static func isComRec<Bytes: Collection<UInt8>>(_ payload: Bytes) -> Bool {
        payload.starts(with: magic)
    }

    /// Parses a payload that starts with the magic. Reads any version's header far enough to report
    /// it, then refuses versions outside `readableVersions`.
    public init(parsing payload: [UInt8]) throws(ComRecError) {
        guard ComRecSegment.isComRec(payload) else { throw .notComRec }
        var reader = ByteReader(payload, position: ComRecSegment.magic.count)
        guard let version = reader.byte() else { throw .malformedSegment("it ends before the format version") }
        guard ComRecSegment.readableVersions.contains(Int(version)) else {
            throw .unsupportedVersion(found: Int(version), supported: ComRecSegment.readableVersions)
        }
        var mode = CodecMode.half
        if version >= 2 {
            guard let byte = reader.byte() else { throw .malformedSegment("it ends before the mode") }
            guard let known = CodecMode(rawValue: byte) else { throw .unsupportedMode(byte) }
            mode = known
        }
        guard let nameCount = reader.byte(), let nameBytes = reader.bytes(Int(nameCount)) else {
            throw .malformedSegment("it ends inside the profile name")
        }
        let name = String(decoding: nameBytes, as: UTF8.self)
        guard Profile.isValidName(name) else {
            throw .malformedSegment("the profile name is not 1...\(Profile.maxNameLength) of [a-z0-9_-]")
        }
        guard let hash = reader.bytes(ModelHash.byteCount), let width = reader.uint32(),
              let height = reader.uint32(), let quality = reader.byte()
        else { throw .malformedSegment("it ends before the model hash, size and quality") }
        guard width > 0, height > 0 else { throw .emptyImage(width: Int(width), height: Int(height)) }
        guard width <= ComRecSegment.maxSide, height <= ComRecSegment.maxSide else {
            throw .malformedSegment("the image size \(width) x \(height) is impossible")
        }
        guard (1...100).contains(quality) else {
            throw .malformedSegment("JPEG quality \(quality) is not in 1...100")
        }
        var extensions: [Extension] = []
        while !reader.isAtEnd {
            guard let tag = reader.byte(), let count = reader.byte(), let value = reader.bytes(Int(count)) else {
                throw .malformedSegment("it ends inside an extension record")
            }
            // No critical extensions exist in versions 1 and 2, so any critical tag is unknown.
            if tag & 0x80 != 0 { throw .unsupportedExtension(tag: tag) }
            extensions.append(Extension(tag: tag, value: Array(value)))
        }
        self.init(
            version: Int(version), mode: mode, profile: name, modelHash: ModelHash(prefixOf: hash),
            width: Int(width), height: Int(height), quality: Int(quality), extensions: extensions)
    }
}

private func appendBigEndian(_ value: UInt32, to out: inout [UInt8]) {
    for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
}

/// Bounds-checked reading of a byte array: every read returns nil rather than trapping.
struct ByteReader {
    let bytes: [UInt8]
    var position: Int

    init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var isAtEnd: Bool { position >= bytes.count }

    mutating func byte() -> UInt8? {
        guard position < bytes.count else { return nil }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func bytes(_ count: Int) -> ArraySlice<UInt8>? {
        guard count >= 0, count <= bytes.count - position else { return nil }
        defer { position += count }
        return bytes[position..<position + count]
    }

    mutating func uint32() -> UInt32? {
        guard let b = bytes(4) else { return nil }
        return b.reduce(0) { $0 << 8 | UInt32($1) }
    }
}
