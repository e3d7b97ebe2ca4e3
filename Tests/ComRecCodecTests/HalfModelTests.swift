@testable import ComRecCodec
import ComRecModels
import Testing

/// A profile's half-mode RecCNNs: its own, for compact JPEGs with its tables (trellis-quantised
/// when it learnt from those), and `roundedHalf`, for rounded compact JPEGs with the standard's
/// tables (the files of earlier versions and of `--tables standard`).
@Suite struct HalfModelTests {
    let original = BicubicProfileTests.image(width: 21, height: 14, seed: 4, noise: false)

    static func upsampled(_ compact: RGB8Image, _ context: ReconstructionContext) -> RGB8Image {
        try! bicubicUpsample2x(compact, width: context.width, height: context.height)
    }

    /// `bicubic` with a second RecCNN (hash 77) that inverts what it rebuilds: visible in every pixel.
    static let roundedInverting = HalfResolutionModel(modelHash: ModelHash(value: 77)) { compact, context throws(ComRecError) in
        let image = upsampled(compact, context)
        return try RGB8Image(width: image.width, height: image.height, pixels: image.pixels.map { 255 - $0 })
    }

    static func profile(rounded: HalfResolutionModel?) -> Profile {
        Profile(name: "bicubic", modelHash: Profile.bicubic.modelHash, summary: "bicubic, trellis in half mode",
                makeCompact: bicubicDownsample2x, reconstruct: upsampled, halfModeRule: .maxBitsPerPixel(0.4))
            .withTrellisHalfMode(rounded: rounded)
    }

    func encode(_ profile: Profile, tables: JPEGTables, trellis: TrellisTuning? = TrellisTuning(),
                log: SettingsLog) throws -> [UInt8] {
        try ComRecPipeline(jpeg: LoggingJPEG(log: log), profiles: [profile]).encode(
            original, profile: profile, settings: JPEGSettings(quality: 30, trellis: trellis, tables: tables), mode: .half)
    }

    @Test func ownTablesAreTrellisQuantisedForTheOwnRecCNN() throws {
        let profile = Self.profile(rounded: Self.roundedInverting)
        let log = SettingsLog()
        let file = try encode(profile, tables: .comrec, log: log)
        #expect(log.seen.last!.trellis == TrellisTuning(lambdaScale: TrellisTuning.enhancedLambdaScale))
        let pipeline = ComRecPipeline(jpeg: FakeJPEG(), profiles: [profile])
        #expect(try pipeline.inspect(file).segment.modelHash == Profile.bicubic.modelHash)
        #expect(try pipeline.decode(file) == bicubicUpsample2x(bicubicDownsample2x(original), width: 21, height: 14))
        // --no-trellis: rounded, same RecCNN.
        _ = try encode(profile, tables: .comrec, trellis: nil, log: log)
        #expect(log.seen.last!.trellis == nil)
    }

    @Test func standardTablesAreRoundedAndRebuiltByTheRoundedRecCNN() throws {
        let profile = Self.profile(rounded: Self.roundedInverting)
        let log = SettingsLog()
        let file = try encode(profile, tables: .standard, log: log)
        #expect(log.seen.last!.trellis == nil, "the rounded RecCNN learnt from rounded JPEGs")
        let pipeline = ComRecPipeline(jpeg: FakeJPEG(), profiles: [profile])
        let info = try pipeline.inspect(file)
        #expect(info.segment.modelHash == ModelHash(value: 77) && info.modelStatus == .available)
        let upsampled = try bicubicUpsample2x(try bicubicDownsample2x(original), width: 21, height: 14)
        #expect(Array(try pipeline.decode(file).pixels) == upsampled.pixels.map { 255 - $0 })
        #expect(profile.halfModels.map { $0.name } == ["bicubic", "bicubic-rounded"])
    }

    /// A pair with its own ComCNN makes the compact images of the files it rebuilds: here one that
    /// darkens them, which the FakeJPEG round trip keeps and the rebuild shows.
    @Test func aPairWithItsOwnComCNNMakesTheCompactImagesOfItsFiles() throws {
        let darkening = HalfResolutionModel(
            modelHash: ModelHash(value: 78),
            makeCompact: { image throws(ComRecError) in
                let compact = try bicubicDownsample2x(image)
                return try RGB8Image(width: compact.width, height: compact.height, pixels: compact.pixels.map { $0 / 2 })
            },
            reconstruct: Self.upsampled)
        let profile = Self.profile(rounded: darkening)
        let darkened = try bicubicDownsample2x(original).pixels.map { $0 / 2 }
        #expect(Array(try profile.makeCompact(original, tables: .standard).pixels) == darkened)
        #expect(try profile.makeCompact(original, tables: .comrec) == bicubicDownsample2x(original), "the profile's own")
        let pipeline = ComRecPipeline(jpeg: FakeJPEG(), profiles: [profile])
        let file = try encode(profile, tables: .standard, log: SettingsLog())
        #expect(try pipeline.inspect(file).segment.modelHash == ModelHash(value: 78))
        let compact = try RGB8Image(width: 11, height: 7, pixels: darkened)
        #expect(try pipeline.decode(file) == bicubicUpsample2x(compact, width: 21, height: 14))
        #expect(profile.compactNetworks(tables: .standard) == nil && profile.compactNetworks(tables: .comrec) == nil,
                "no networks in this profile: nothing to stream")
    }

    @Test func aBuildWithoutTheRoundedRecCNNRefusesItsFilesAndTrellisesEverything() throws {
        let file = try encode(Self.profile(rounded: Self.roundedInverting), tables: .standard, log: SettingsLog())
        let without = Self.profile(rounded: nil)
        let pipeline = ComRecPipeline(jpeg: FakeJPEG(), profiles: [without])
        let expected = ComRecError.modelMismatch(
            profile: "bicubic", mode: .half, fileHash: ModelHash(value: 77), buildHash: Profile.bicubic.modelHash)
        #expect(throws: expected) { try pipeline.decode(file) }
        #expect(without.halfModels.count == 1)
        let log = SettingsLog()
        let own = try encode(without, tables: .standard, log: log)
        #expect(log.seen.last!.trellis != nil)
        #expect(try pipeline.inspect(own).segment.modelHash == Profile.bicubic.modelHash)
    }

    @Test func aProfileWhoseRecCNNLearntFromRoundedJPEGsIsNotTrellisQuantised() throws {
        let log = SettingsLog()
        let pipeline = ComRecPipeline(jpeg: LoggingJPEG(log: log), profiles: [.bicubic])
        _ = try pipeline.encode(original, profile: .bicubic,
                                settings: JPEGSettings(quality: 30, trellis: TrellisTuning(), tables: .comrec), mode: .half)
        #expect(log.seen.last!.trellis == nil)
        // Asked for explicitly (`comrec eval` experiments), with the lambda of a restored JPEG.
        _ = try pipeline.encode(original, profile: .bicubic,
                                settings: JPEGSettings(quality: 30, trellis: TrellisTuning(inHalfMode: true)), mode: .half)
        #expect(log.seen.last!.trellis == TrellisTuning(lambdaScale: TrellisTuning.enhancedLambdaScale, inHalfMode: true))
    }
}

/// The settings of each encode.
final class SettingsLog: @unchecked Sendable {
    var seen: [JPEGSettings] = []
}

/// FakeJPEG that remembers the settings it was asked for.
struct LoggingJPEG: JPEGCoder {
    let log: SettingsLog
    func encode(_ image: RGB8Image, settings: JPEGSettings, segments: [JPEGSegment]) throws(ComRecError) -> [UInt8] {
        log.seen.append(settings)
        return try FakeJPEG().encode(image, settings: settings, segments: segments)
    }
    func readHeader(_ jpeg: [UInt8]) throws(ComRecError) -> JPEGHeader { try FakeJPEG().readHeader(jpeg) }
    func decode(_ jpeg: [UInt8], maxPixels: Int) throws(ComRecError) -> RGB8Image { try FakeJPEG().decode(jpeg, maxPixels: maxPixels) }
}
