@testable import ComRecCodec
import ComRecModels
import Testing

@Suite struct SegmentTests {
    static let segment = ComRecSegment(
        profile: "bicubic", modelHash: ModelHash(value: 0x0102_0304_0506_0708), width: 768, height: 512, quality: 75)

    /// docs/format.md's example, byte for byte.
    static let golden: [UInt8] = [
        0x43, 0x6F, 0x6D, 0x52, 0x65, 0x63, 0x00,  // "ComRec\0"
        0x02,  // format version
        0x00,  // mode: half
        0x07, 0x62, 0x69, 0x63, 0x75, 0x62, 0x69, 0x63,  // profile name length, "bicubic"
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // model hash
        0x00, 0x00, 0x03, 0x00,  // width 768
        0x00, 0x00, 0x02, 0x00,  // height 512
        0x4B,  // quality 75
    ]

    @Test func serialisesToTheDocumentedBytes() throws {
        #expect(try Self.segment.serialised() == Self.golden)
    }

    @Test func parsesWhatItWrites() throws {
        #expect(try ComRecSegment(parsing: Self.golden) == Self.segment)
        var withExtensions = Self.segment
        withExtensions.extensions = [.init(tag: 1, value: [9, 8, 7]), .init(tag: 0x7F, value: [])]
        #expect(try ComRecSegment(parsing: withExtensions.serialised()) == withExtensions)
    }

    /// docs/format.md's version 1 example: no mode byte. Files written before format version 2
    /// must keep decoding, as half-mode files.
    static let goldenVersion1: [UInt8] = Array(golden[0..<7]) + [0x01] + Array(golden[9...])

    @Test func version1SegmentsStillParseAsHalfMode() throws {
        let parsed = try ComRecSegment(parsing: Self.goldenVersion1)
        var expected = Self.segment
        expected.version = 1
        #expect(parsed == expected && parsed.mode == .half)
        #expect(try expected.serialised() == Self.goldenVersion1)
        expected.mode = .full
        #expect(throws: ComRecError.self) { try expected.serialised() }  // version 1 cannot say "full"
    }

    @Test func modeByteRoundTripsAndUnknownModesAreRefused() throws {
        var full = Self.segment
        full.mode = .full
        let bytes = try full.serialised()
        #expect(bytes[8] == 1)
        #expect(try ComRecSegment(parsing: bytes) == full)
        var unknown = Self.golden
        unknown[8] = 7
        #expect(throws: ComRecError.unsupportedMode(7)) { try ComRecSegment(parsing: unknown) }
    }

    @Test func overheadStaysUnder64Bytes() throws {
        // Marker (2) + length (2) + payload, for the bicubic profile and for the longest name.
        #expect(try Self.segment.serialised().count + 4 == 38)
        var longest = Self.segment
        longest.profile = String(repeating: "x", count: Profile.maxNameLength)
        longest.width = Int(UInt32.max >> 1)
        #expect(try longest.serialised().count + 4 < 64)
        longest.extensions = [.init(tag: 1, value: [UInt8](repeating: 0, count: 30))]
        #expect(throws: ComRecError.self) { try longest.serialised() }
    }

    /// docs/format.md: the profile name is 1...16 characters. 16 round-trips; 17 is refused by the
    /// writer, and by the reader when a file claims it.
    @Test func profileNameLimitRoundTripsAtItsEdge() throws {
        var edge = Self.segment
        edge.profile = String(repeating: "x", count: Profile.maxNameLength)
        #expect(try ComRecSegment(parsing: edge.serialised()) == edge)
        var over = edge
        over.profile += "x"
        #expect(throws: ComRecError.self) { try over.serialised() }
        // A file whose name byte says 17 and that holds 17 name characters.
        var bytes = try edge.serialised()
        bytes[9] = UInt8(Profile.maxNameLength + 1)
        bytes.insert(UInt8(ascii: "x"), at: 10)
        #expect(throws: ComRecError.self) { try ComRecSegment(parsing: bytes) }
    }

    @Test func everyTruncationIsRefused() {
        for count in 0..<Self.golden.count {
            let prefix = Array(Self.golden[0..<count])
            #expect(throws: ComRecError.self, "prefix of \(count) bytes") { try ComRecSegment(parsing: prefix) }
        }
    }

    @Test func unknownVersionIsRefusedAndNamed() {
        var bytes = Self.golden
        bytes[7] = 3
        #expect(throws: ComRecError.unsupportedVersion(found: 3, supported: 1...2)) { try ComRecSegment(parsing: bytes) }
        bytes[7] = 0
        #expect(throws: ComRecError.unsupportedVersion(found: 0, supported: 1...2)) { try ComRecSegment(parsing: bytes) }
        // A later version may change every field after the version byte: nothing else is read.
        #expect(throws: ComRecError.unsupportedVersion(found: 200, supported: 1...2)) {
            try ComRecSegment(parsing: ComRecSegment.magic + [200])
        }
    }

    @Test func extensionsFollowTheCriticalBitRule() throws {
        let skipped = try ComRecSegment(parsing: Self.golden + [0x05, 2, 0xAA, 0xBB])
        #expect(skipped.extensions == [.init(tag: 5, value: [0xAA, 0xBB])])
        #expect(throws: ComRecError.unsupportedExtension(tag: 0x85)) {
            try ComRecSegment(parsing: Self.golden + [0x85, 0])
        }
        #expect(throws: ComRecError.self) { try ComRecSegment(parsing: Self.golden + [0x05, 3, 0xAA]) }
    }

    @Test func impossibleValuesAreRefused() {
        func patched(_ at: Int, _ value: UInt8) -> [UInt8] {
            var bytes = Self.golden
            bytes[at] = value
            return bytes
        }
        #expect(throws: ComRecError.emptyImage(width: 0, height: 512)) { try ComRecSegment(parsing: patched(27, 0)) }
        #expect(throws: ComRecError.self) { try ComRecSegment(parsing: patched(33, 0)) }  // quality 0
        #expect(throws: ComRecError.self) { try ComRecSegment(parsing: patched(33, 101)) }  // quality 101
        #expect(throws: ComRecError.self) { try ComRecSegment(parsing: patched(10, 0x41)) }  // 'A' in the name
        #expect(throws: ComRecError.self) { try ComRecSegment(parsing: patched(9, 0)) }  // empty name
        #expect(throws: ComRecError.notComRec) { try ComRecSegment(parsing: patched(0, 0x63)) }  // magic
    }

    @Test func writerRefusesWhatTheReaderWould() {
        var bad = Self.segment
        bad.quality = 0
        #expect(throws: ComRecError.self) { try bad.serialised() }
        bad = Self.segment
        bad.width = 0
        #expect(throws: ComRecError.self) { try bad.serialised() }
        bad = Self.segment
        bad.profile = "Bicubic"
        #expect(throws: ComRecError.self) { try bad.serialised() }
    }

    /// docs/format.md: width and height are 1 ... 2^31-1. The edge round-trips; one more is refused
    /// by the writer (so no file is made that the reader refuses) and by the reader.
    @Test func sideLimitRoundTripsAtItsEdge() throws {
        var edge = Self.segment
        edge.width = ComRecSegment.maxSide
        edge.height = ComRecSegment.maxSide
        #expect(try ComRecSegment(parsing: edge.serialised()) == edge)
        var over = edge
        over.width = ComRecSegment.maxSide + 1
        #expect(throws: ComRecError.self) { try over.serialised() }
        over = edge
        over.height = ComRecSegment.maxSide + 1
        #expect(throws: ComRecError.self) { try over.serialised() }
        var bytes = try edge.serialised()
        bytes[25] = 0xFF  // the width's top byte: 0x7FFFFFFF becomes 0xFFFFFFFF
        #expect(throws: ComRecError.malformedSegment("the image size 4294967295 x 2147483647 is impossible")) {
            try ComRecSegment(parsing: bytes)
        }
    }
}
