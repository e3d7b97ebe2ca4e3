@testable import ComRecCodec
import Testing

/// A lossless stand-in for JPEG, so that the pipeline's logic is tested without libjpeg:
/// "FAKE", width and height (UInt16 each), segment count, then (marker, length UInt16, payload)
/// per segment, then the raw pixels.
struct FakeJPEG: JPEGCoder {
    func encode(_ image: RGB8Image, settings: JPEGSettings, segments: [JPEGSegment]) throws(ComRecError) -> [UInt8] {
        var out = Array("FAKE".utf8) + u16(image.width) + u16(image.height) + [UInt8(segments.count)]
        for segment in segments { out += [segment.marker] + u16(segment.payload.count) + segment.payload }
        return out + image.pixels
    }

    func readHeader(_ jpeg: [UInt8]) throws(ComRecError) -> JPEGHeader {
        try parse(jpeg).header
    }

    func decode(_ jpeg: [UInt8], maxPixels: Int) throws(ComRecError) -> RGB8Image {
        let (header, offset) = try parse(jpeg)
        try checkPixelLimit(width: header.width, height: header.height, maxPixels: maxPixels)
        guard jpeg.count - offset == header.width * header.height * 3 else { throw .jpeg("bad pixel count") }
        return RGB8Image(width: header.width, height: header.height, pixels: Array(jpeg[offset...]))
    }

    private func u16(_ v: Int) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 255)] }

    private func parse(_ bytes: [UInt8]) throws(ComRecError) -> (header: JPEGHeader, offset: Int) {
        guard bytes.count >= 9, bytes.starts(with: Array("FAKE".utf8)) else { throw .jpeg("not fake") }
        var at = 9
        var segments: [JPEGSegment] = []
        for _ in 0..<Int(bytes[8]) {
            guard at + 3 <= bytes.count else { throw .jpeg("truncated") }
            let count = Int(bytes[at + 1]) << 8 | Int(bytes[at + 2])
            guard at + 3 + count <= bytes.count else { throw .jpeg("truncated") }
            segments.append(JPEGSegment(marker: bytes[at], payload: Array(bytes[(at + 3)..<(at + 3 + count)])))
            at += 3 + count
        }
        let header = JPEGHeader(
            width: Int(bytes[4]) << 8 | Int(bytes[5]), height: Int(bytes[6]) << 8 | Int(bytes[7]),
            components: 3, progressive: false, segments: segments)
        return (header, at)
    }
}

@Suite struct PipelineTests {
    let pipeline = ComRecPipeline(jpeg: FakeJPEG())
    let original = BicubicProfileTests.image(width: 21, height: 14, seed: 9, noise: false)

    @Test func roundTripIsTheProfile() throws {
        let file = try pipeline.encode(original, profile: .bicubic, settings: JPEGSettings(quality: 80))
        let expected = bicubicUpsample2x(bicubicDownsample2x(original), width: 21, height: 14)
        #expect(try pipeline.decode(file) == expected)
    }

    @Test func inspectReportsTheSegment() throws {
        let file = try pipeline.encode(original, profile: .bicubic, settings: JPEGSettings(quality: 33))
        let info = try pipeline.inspect(file)
        #expect(info.segment == ComRecSegment(
            profile: "bicubic", modelHash: Profile.bicubic.modelHash, width: 21, height: 14, quality: 33))
        #expect(info.compactWidth == 11 && info.compactHeight == 7)
        #expect(info.modelStatus == .available)
        #expect(info.fileBytes == file.count)
    }

    @Test func fileWithoutSegmentIsNotComRec() throws {
        let plain = try FakeJPEG().encode(original, settings: JPEGSettings(quality: 75), segments: [
            JPEGSegment(marker: 0xE9, payload: Array("Other\0".utf8)),  // someone else's APP9
            JPEGSegment(marker: 0xE1, payload: ComRecSegment.magic),  // our magic in the wrong APPn
        ])
        #expect(throws: ComRecError.notComRec) { try pipeline.decode(plain) }
    }

    @Test func twoSegmentsAreRefused() throws {
        let payload = try ComRecSegment(
            profile: "bicubic", modelHash: Profile.bicubic.modelHash, width: 21, height: 14, quality: 75).serialised()
        let segment = JPEGSegment(marker: ComRecSegment.marker, payload: payload)
        let file = try FakeJPEG().encode(bicubicDownsample2x(original), settings: JPEGSettings(quality: 75), segments: [segment, segment])
        #expect(throws: ComRecError.duplicateSegment) { try pipeline.decode(file) }
    }

    @Test func otherModelIsRefusedNamingBothHashes() throws {
        let other = Profile(
            name: "bicubic", modelHash: ModelHash(value: 42), summary: "same name, other weights",
            makeCompact: bicubicDownsample2x, reconstruct: { c, ctx in bicubicUpsample2x(c, width: ctx.width, height: ctx.height) })
        let file = try pipeline.encode(original, profile: other, settings: JPEGSettings(quality: 75))
        let expected = ComRecError.modelMismatch(
            profile: "bicubic", fileHash: ModelHash(value: 42), buildHash: Profile.bicubic.modelHash)
        #expect(throws: expected) { try pipeline.decode(file) }
        #expect(expected.description.contains("000000000000002a") && expected.description.contains(Profile.bicubic.modelHash.description))
        #expect(try pipeline.inspect(file).modelStatus == .differentModel(buildHash: Profile.bicubic.modelHash))
    }

    @Test func unknownProfileIsRefused() throws {
        let learned = Profile(
            name: "not-built", modelHash: ModelHash(value: 7), summary: "not in this build",
            makeCompact: bicubicDownsample2x, reconstruct: { c, ctx in bicubicUpsample2x(c, width: ctx.width, height: ctx.height) })
        let file = try pipeline.encode(original, profile: learned, settings: JPEGSettings(quality: 75))
        #expect(throws: ComRecError.unknownProfile(name: "not-built", available: Profile.names)) { try pipeline.decode(file) }
        #expect(try pipeline.inspect(file).modelStatus == .unknownProfile)
    }

    @Test func pixelLimitIsCheckedFromTheSegment() throws {
        let file = try pipeline.encode(original, profile: .bicubic, settings: JPEGSettings(quality: 75))
        let strict = ComRecPipeline(jpeg: FakeJPEG(), maxPixels: 21 * 14 - 1)
        #expect(throws: ComRecError.tooLarge(width: 21, height: 14, limit: 21 * 14 - 1)) { try strict.decode(file) }
        #expect(throws: ComRecError.tooLarge(width: 21, height: 14, limit: 21 * 14 - 1)) {
            try strict.encode(original, profile: .bicubic, settings: JPEGSettings(quality: 75))
        }
    }

    @Test func compactImageMustMatchTheOriginalSize() throws {
        let payload = try ComRecSegment(
            profile: "bicubic", modelHash: Profile.bicubic.modelHash, width: 100, height: 14, quality: 75).serialised()
        let file = try FakeJPEG().encode(
            bicubicDownsample2x(original), settings: JPEGSettings(quality: 75),
            segments: [JPEGSegment(marker: ComRecSegment.marker, payload: payload)])
        #expect(throws: ComRecError.compactSizeMismatch(compactWidth: 11, compactHeight: 7, width: 100, height: 14)) {
            try pipeline.decode(file)
        }
    }

    @Test func badArgumentsAreRefused() {
        #expect(throws: ComRecError.emptyImage(width: 0, height: 3)) {
            try pipeline.encode(RGB8Image(width: 0, height: 3), profile: .bicubic, settings: JPEGSettings(quality: 75))
        }
        #expect(throws: ComRecError.self) {
            try pipeline.encode(original, profile: .bicubic, settings: JPEGSettings(quality: 0))
        }
    }

    @Test func pixelLimitArithmeticDoesNotOverflow() {
        #expect(throws: ComRecError.self) { try checkPixelLimit(width: Int.max / 2, height: 4, maxPixels: .max) }
        #expect(throws: ComRecError.emptyImage(width: 5, height: 0)) { try checkPixelLimit(width: 5, height: 0, maxPixels: 10) }
        #expect(throws: Never.self) { try checkPixelLimit(width: 5, height: 2, maxPixels: 10) }
    }

    /// Every message is a single line (the CLI prints each error as one line).
    @Test func messagesAreOneLine() {
        let errors: [ComRecError] = [
            .notComRec, .duplicateSegment, .malformedSegment("x"), .unsupportedVersion(found: 2, supported: 1),
            .unsupportedExtension(tag: 0x81), .unknownProfile(name: "p", available: ["bicubic"]),
            .modelMismatch(profile: "b", fileHash: ModelHash(value: 1), buildHash: ModelHash(value: 2)),
            .tooLarge(width: 20000, height: 20000, limit: 100_000_000), .emptyImage(width: 0, height: 0),
            .compactSizeMismatch(compactWidth: 1, compactHeight: 1, width: 9, height: 9),
            .invalidArgument("x"), .jpeg("x"), .jpegEncoder("x"),
        ]
        for error in errors {
            #expect(!error.description.contains("\n"))
            #expect(!error.description.isEmpty)
        }
        #expect(ComRecError.tooLarge(width: 20000, height: 20000, limit: 100_000_000).description.contains("400.0 megapixels"))
    }
}
