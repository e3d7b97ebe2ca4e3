@testable import ComRecCodec
import ComRecModels
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
        return try RGB8Image(width: header.width, height: header.height, pixels: Array(jpeg[offset...]))
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
    let pipeline = ComRecPipeline(jpeg: FakeJPEG(), profiles: Profile.registered(runner: .portable))
    let original = BicubicProfileTests.image(width: 21, height: 14, seed: 9, noise: false)

    @Test func roundTripIsTheProfile() throws {
        let file = try pipeline.encode(original, profile: .bicubic, settings: JPEGSettings(quality: 80))
        let expected = try bicubicUpsample2x(try bicubicDownsample2x(original), width: 21, height: 14)
        #expect(try pipeline.decode(file) == expected)
    }

    @Test func inspectReportsTheSegment() throws {
        let file = try pipeline.encode(original, profile: .bicubic, settings: JPEGSettings(quality: 33))
        let info = try pipeline.inspect(file)
        #expect(info.segment == ComRecSegment(
            profile: "bicubic", modelHash: Profile.bicubic.modelHash, width: 21, height: 14, quality: 33))
        #expect(info.storedWidth == 11 && info.storedHeight == 7)
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

    /// A profile whose full-mode "enhancer" inverts the image: visible in every pixel.
    static func invertingProfile(hash: UInt64 = 99) -> Profile {
        Profile(
            name: "bicubic", modelHash: Profile.bicubic.modelHash, summary: "bicubic, with an inverting enhancer",
            makeCompact: bicubicDownsample2x, reconstruct: { c, ctx throws(ComRecError) in try bicubicUpsample2x(c, width: ctx.width, height: ctx.height) },
            full: FullResolutionModel(modelHash: ModelHash(value: hash), summary: "inverts") { image, _ throws(ComRecError) in
                try RGB8Image(width: image.width, height: image.height, pixels: image.pixels.map { 255 - $0 })
            },
            halfModeRule: .maxBitsPerPixel(0.4))
    }

    @Test func fullModeStoresTheImageAndDecodesItWithoutANetwork() throws {
        let file = try pipeline.encode(original, profile: .bicubic, settings: JPEGSettings(quality: 80), mode: .full)
        let info = try pipeline.inspect(file)
        #expect(info.segment.mode == .full && info.segment.version == 2)
        #expect(info.segment.modelHash == FullResolutionModel.plainJPEG.modelHash)
        #expect(info.storedWidth == 21 && info.storedHeight == 14 && info.modelStatus == .available)
        #expect(try pipeline.decode(file) == original)  // FakeJPEG is lossless
        // No network: a build without the file's profile decodes it too.
        let other = Profile(
            name: "not-built", modelHash: ModelHash(value: 7), summary: "not in this build",
            makeCompact: bicubicDownsample2x, reconstruct: { c, ctx throws(ComRecError) in try bicubicUpsample2x(c, width: ctx.width, height: ctx.height) },
            halfModeRule: .maxBitsPerPixel(0.4))
        let foreign = try ComRecPipeline(jpeg: FakeJPEG(), profiles: [other]).encode(
            original, profile: other, settings: JPEGSettings(quality: 80), mode: .full)
        #expect(try pipeline.decode(foreign) == original)
    }

    @Test func fullModeRunsTheProfilesEnhancerAndChecksItsHash() throws {
        let inverting = Self.invertingProfile()
        let withEnhancer = ComRecPipeline(jpeg: FakeJPEG(), profiles: [inverting])
        let file = try withEnhancer.encode(original, profile: inverting, settings: JPEGSettings(quality: 80), mode: .full)
        #expect(try withEnhancer.inspect(file).segment.modelHash == ModelHash(value: 99))
        #expect(Array(try withEnhancer.decode(file).pixels) == original.pixels.map { 255 - $0 })
        // Half-mode files of the same profile keep using its half-mode model.
        let half = try withEnhancer.encode(original, profile: inverting, settings: JPEGSettings(quality: 80), mode: .half)
        #expect(try withEnhancer.decode(half) == bicubicUpsample2x(bicubicDownsample2x(original), width: 21, height: 14))
        // A build whose enhancer differs refuses, naming the full-resolution enhancer and both hashes.
        let expected = ComRecError.modelMismatch(
            profile: "bicubic", mode: .full, fileHash: ModelHash(value: 99), buildHash: FullResolutionModel.plainJPEG.modelHash)
        #expect(throws: expected) { try pipeline.decode(file) }
        #expect(expected.description.contains("enhancer"))
        #expect(try pipeline.inspect(file).modelStatus == .differentModel(buildHash: FullResolutionModel.plainJPEG.modelHash))
    }

    @Test func fullModeJPEGMustHaveTheOriginalSize() throws {
        let payload = try ComRecSegment(
            mode: .full, profile: "bicubic", modelHash: FullResolutionModel.plainJPEG.modelHash, width: 22, height: 14,
            quality: 75).serialised()
        let file = try FakeJPEG().encode(
            original, settings: JPEGSettings(quality: 75), segments: [JPEGSegment(marker: ComRecSegment.marker, payload: payload)])
        #expect(throws: ComRecError.storedSizeMismatch(mode: .full, jpegWidth: 21, jpegHeight: 14, width: 22, height: 14)) {
            try pipeline.decode(file)
        }
    }

    @Test func version1FilesStillDecode() throws {
        let payload = try ComRecSegment(
            version: 1, profile: "bicubic", modelHash: Profile.bicubic.modelHash, width: 21, height: 14, quality: 75).serialised()
        let file = try FakeJPEG().encode(
            bicubicDownsample2x(original), settings: JPEGSettings(quality: 75),
            segments: [JPEGSegment(marker: ComRecSegment.marker, payload: payload)])
        #expect(try pipeline.inspect(file).segment.version == 1)
        #expect(try pipeline.decode(file) == bicubicUpsample2x(bicubicDownsample2x(original), width: 21, height: 14))
    }

    @Test func otherModelIsRefusedNamingBothHashes() throws {
        let other = Profile(
            name: "bicubic", modelHash: ModelHash(value: 42), summary: "same name, other weights",
            makeCompact: bicubicDownsample2x, reconstruct: { c, ctx throws(ComRecError) in try bicubicUpsample2x(c, width: ctx.width, height: ctx.height) },
            halfModeRule: .maxBitsPerPixel(0.4))
        let file = try pipeline.encode(original, profile: other, settings: JPEGSettings(quality: 75))
        let expected = ComRecError.modelMismatch(
            profile: "bicubic", mode: .half, fileHash: ModelHash(value: 42), buildHash: Profile.bicubic.modelHash)
        #expect(throws: expected) { try pipeline.decode(file) }
        #expect(expected.description.contains("000000000000002a") && expected.description.contains(Profile.bicubic.modelHash.description))
        #expect(try pipeline.inspect(file).modelStatus == .differentModel(buildHash: Profile.bicubic.modelHash))
    }

    @Test func unknownProfileIsRefused() throws {
        let learned = Profile(
            name: "not-built", modelHash: ModelHash(value: 7), summary: "not in this build",
            makeCompact: bicubicDownsample2x, reconstruct: { c, ctx throws(ComRecError) in try bicubicUpsample2x(c, width: ctx.width, height: ctx.height) },
            halfModeRule: .maxBitsPerPixel(0.4))
        let file = try pipeline.encode(original, profile: learned, settings: JPEGSettings(quality: 75))
        #expect(throws: ComRecError.unknownProfile(name: "not-built", available: Profile.names)) { try pipeline.decode(file) }
        #expect(try pipeline.inspect(file).modelStatus == .unknownProfile)
    }

    @Test func pixelLimitIsCheckedFromTheSegment() throws {
        let file = try pipeline.encode(original, profile: .bicubic, settings: JPEGSettings(quality: 75))
        let strict = ComRecPipeline(jpeg: FakeJPEG(), profiles: Profile.registered(runner: .portable), maxPixels: 21 * 14 - 1)
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
        #expect(throws: ComRecError.storedSizeMismatch(mode: .half, jpegWidth: 11, jpegHeight: 7, width: 100, height: 14)) {
            try pipeline.decode(file)
        }
    }

    @Test func badArgumentsAreRefused() throws {
        #expect(throws: ComRecError.emptyImage(width: 0, height: 3)) {
            try pipeline.encode(RGB8Image(width: 0, height: 3), profile: .bicubic, settings: JPEGSettings(quality: 75))
        }
        #expect(throws: ComRecError.self) {
            try pipeline.encode(original, profile: .bicubic, settings: JPEGSettings(quality: 0))
        }
    }

    @Test func pixelLimitArithmeticDoesNotOverflow() throws {
        #expect(throws: ComRecError.self) { try checkPixelLimit(width: Int.max / 2, height: 4, maxPixels: .max) }
        #expect(throws: ComRecError.emptyImage(width: 5, height: 0)) { try checkPixelLimit(width: 5, height: 0, maxPixels: 10) }
        #expect(throws: Never.self) { try checkPixelLimit(width: 5, height: 2, maxPixels: 10) }
    }

    /// Every message is a single line (the CLI prints each error as one line).
    @Test func messagesAreOneLine() throws {
        let errors: [ComRecError] = [
            .notComRec, .duplicateSegment, .malformedSegment("x"), .unsupportedVersion(found: 3, supported: 1...2),
            .unsupportedExtension(tag: 0x81), .unknownProfile(name: "p", available: ["bicubic"]),
            .modelMismatch(profile: "b", mode: .half, fileHash: ModelHash(value: 1), buildHash: ModelHash(value: 2)),
            .modelMismatch(profile: "b", mode: .full, fileHash: ModelHash(value: 1), buildHash: ModelHash(value: 2)),
            .tooLarge(width: 20000, height: 20000, limit: 100_000_000), .emptyImage(width: 0, height: 0),
            .storedSizeMismatch(mode: .half, jpegWidth: 1, jpegHeight: 1, width: 9, height: 9),
            .storedSizeMismatch(mode: .full, jpegWidth: 1, jpegHeight: 1, width: 9, height: 9), .unsupportedMode(7),
            .invalidArgument("x"), .jpeg("x"), .jpegEncoder("x"),
        ]
        for error in errors {
            #expect(!error.description.contains("\n"))
            #expect(!error.description.isEmpty)
        }
        #expect(ComRecError.tooLarge(width: 20000, height: 20000, limit: 100_000_000).description.contains("400.0 megapixels"))
    }
}
