// Whole ComRec files with learned (test) profiles through the codec API and libjpeg-turbo: the
// encoder writes the profile and model hash, the decoder picks the network from the segment.
import ComRecCodec
import ComRecCompiler
import ComRecIO
import ComRecKernels
import ComRecModels
import ComRecTestModels
import Testing

@Suite struct LearnedProfileCodecTests {
    let testProfiles = [
        Profile.learned(TestPaperModel.self, enhancer: TestPaperFullModel.self, halfModeRule: .maxBitsPerPixel(0.5), runner: hostedRunner),
        Profile.learned(TestFastModel.self, enhancer: TestFastFullModel.self, halfModeRule: .maxBitsPerPixel(0.5), runner: hostedRunner),
    ]

    func image(_ width: Int, _ height: Int, seed: Int) -> RGB8Image {
        try! RGB8Image(width: width, height: height, pixels: goldenSyntheticImage(width: width, height: height, seed: seed))
    }

    /// Memory an image sizes (its pixels, the padded copy, the DCT planes, the networks' scratch)
    /// comes from LargeBuffer: when it is refused, encoding and decoding throw `outOfMemory` with
    /// the bytes, in half and full mode, and the process goes on.
    @Test func refusedMemoryIsAnOutOfMemoryErrorWhenEncodingAndDecoding() throws {
        let pipeline = ComRecPipeline(jpeg: LibJPEG(), profiles: testProfiles)
        let original = image(45, 31, seed: 7)  // 4185 bytes; its compact image 1104
        let limit = 1000
        func refused(_ error: any Error) -> Bool {
            guard let error = error as? ComRecError, case .outOfMemory(let bytes) = error else { return false }
            return bytes > limit && error.description.hasPrefix("out of memory: the system refused \(bytes) bytes")
        }
        for profile in testProfiles {
            let trellis = JPEGSettings(quality: 60, trellis: TrellisTuning())
            for (mode, settings) in [(CodecMode.half, JPEGSettings(quality: 60)), (.full, trellis)] {
                let file = try pipeline.encode(original, profile: profile, settings: settings, mode: mode)
                LargeBuffer<UInt8>.failingAbove(limit) {
                    #expect("\(profile.name) \(mode.name) encode") {
                        try pipeline.encode(original, profile: profile, settings: settings, mode: mode)
                    } throws: { refused($0) }
                    #expect("\(profile.name) \(mode.name) decode") { try pipeline.decode(file) } throws: { refused($0) }
                }
                #expect(try pipeline.decode(file).width == 45, "the same calls succeed without the limit")
            }
        }
        #expect(ComRecError.outOfMemory(bytes: 640_000_000).description.contains("refused 640 MB"))
    }

    @Test func encodeAndDecodeEveryTestProfile() throws {
        let pipeline = ComRecPipeline(jpeg: LibJPEG(), profiles: testProfiles + [.bicubic])
        let original = image(45, 31, seed: 7)
        for profile in testProfiles {
            let file = try pipeline.encode(original, profile: profile, settings: JPEGSettings(quality: 80))
            let info = try pipeline.inspect(file)
            #expect(info.segment.profile == profile.name)
            #expect(info.segment.modelHash == profile.modelHash)
            #expect(info.modelStatus == .available)
            #expect([info.storedWidth, info.storedHeight] == [23, 16])
            // The decoder runs the file's profile: the same bytes as the profile on the decoded JPEG.
            let decoded = try pipeline.decode(file)
            let compact = try LibJPEG().decode(file, maxPixels: 1 << 20)
            let expected = try profile.reconstruct(compact, ReconstructionContext(width: 45, height: 31, quality: 80))
            #expect(decoded == expected, "\(profile.name)")
            #expect([decoded.width, decoded.height] == [45, 31])
            // And the compact image in the file is the profile's (JPEG 4:4:4 at quality 100 stays close).
            let sharp = try pipeline.encode(original, profile: profile, settings: JPEGSettings(quality: 100, chroma: .full444))
            let stored = try LibJPEG().decode(sharp, maxPixels: 1 << 20)
            let made = try profile.makeCompact(original)
            #expect(Metrics.meanSquaredError(stored, made) < 4, "\(profile.name)")
        }
    }

    @Test func fullModeRunsTheProfilesEnhancer() throws {
        let pipeline = ComRecPipeline(jpeg: LibJPEG(), profiles: testProfiles)
        let original = image(45, 31, seed: 5)
        for profile in testProfiles {
            let file = try pipeline.encode(original, profile: profile, settings: JPEGSettings(quality: 40), mode: .full)
            let info = try pipeline.inspect(file)
            #expect(info.segment.mode == .full)
            #expect(info.segment.modelHash == profile.full.modelHash)
            #expect(profile.full.modelHash != profile.modelHash)
            #expect([info.storedWidth, info.storedHeight] == [45, 31])
            // The decoder runs the enhancer on the decoded JPEG: the same bytes as the enhancer
            // itself, and not the plain decode (the test enhancers change pixels).
            let plain = try LibJPEG().decode(file, maxPixels: 1 << 20)
            let decoded = try pipeline.decode(file)
            #expect(try decoded == profile.full.enhance(plain, ReconstructionContext(width: 45, height: 31, quality: 40)), "\(profile.name)")
            #expect(decoded != plain, "\(profile.name)")
        }
        // A build whose profile has no enhancer refuses the file, naming the enhancer.
        let file = try pipeline.encode(original, profile: testProfiles[1], settings: JPEGSettings(quality: 40), mode: .full)
        let withoutEnhancer = Profile.learned(TestFastModel.self, halfModeRule: .maxBitsPerPixel(0.5), runner: hostedRunner)
        if let error = #expect(throws: (any Error).self, performing: {
            try ComRecPipeline(jpeg: LibJPEG(), profiles: [withoutEnhancer]).decode(file)
        }) {
            let namesTheEnhancer = if case ComRecError.modelMismatch("test-fast", .full, _, _)? = error as? ComRecError { true } else { false }
            #expect(namesTheEnhancer, "\(error)")
        }
    }

    /// A profile with an enhancer for trellis-quantised JPEGs and another for rounded ones: each
    /// full-mode file records the one for its kind of JPEG and is decoded with it (EnhanceFileTests:
    /// `comrec enhance` uses the second).
    @Test func fullModeFilesRecordTheEnhancerOfTheirKindOfJPEG() throws {
        let forTrellis = FullResolutionModel.learned(model: TestFastFullModel.model, runner: hostedRunner)
        let forRounded = FullResolutionModel.learned(model: TestPaperFullModel.model, runner: hostedRunner)
        let half = testProfiles[1]
        let profile = Profile(
            name: half.name, modelHash: half.modelHash, summary: half.summary, makeCompact: half.makeCompact,
            reconstruct: half.reconstruct, full: forTrellis, rounded: forRounded, halfModeRule: .maxBitsPerPixel(0.5),
            networks: half.networks)
        let pipeline = ComRecPipeline(jpeg: LibJPEG(), profiles: [profile])
        let original = image(45, 31, seed: 9)
        let context = ReconstructionContext(width: 45, height: 31, quality: 40)
        for (trellis, enhancer) in [(true, forTrellis), (false, forRounded)] {
            let settings = JPEGSettings(quality: 40, trellis: trellis ? TrellisTuning() : nil)
            let file = try pipeline.encode(original, profile: profile, settings: settings, mode: .full)
            let info = try pipeline.inspect(file)
            #expect(info.segment.modelHash == enhancer.modelHash && info.modelStatus == .available, "trellis \(trellis)")
            let plain = try LibJPEG().decode(file, maxPixels: 1 << 20)
            #expect(try pipeline.decode(file) == enhancer.enhance(plain, context), "trellis \(trellis)")
            let decoding = try pipeline.streamedDecoding(file)
            #expect(decoding.run != nil, "trellis \(trellis): streamed through the enhancer")
            // A build with only the other enhancer refuses the file as made with other weights.
            let other = Profile(
                name: half.name, modelHash: half.modelHash, summary: half.summary, makeCompact: half.makeCompact,
                reconstruct: half.reconstruct, full: trellis ? forRounded : forTrellis, halfModeRule: .maxBitsPerPixel(0.5),
                networks: half.networks)
            #expect(try ComRecPipeline(jpeg: LibJPEG(), profiles: [other]).inspect(file).modelStatus != .available)
        }
    }

    @Test func decoderRefusesOtherWeightsAndUnknownProfiles() throws {
        let fast = testProfiles[1]
        let file = try ComRecPipeline(jpeg: LibJPEG(), profiles: testProfiles).encode(
            image(16, 10, seed: 3), profile: fast, settings: JPEGSettings(quality: 50))
        // A build whose test-fast has other weights (here: test-paper's networks under that name).
        let impostor = Profile(
            name: "test-fast", modelHash: testProfiles[0].modelHash, summary: "other weights",
            makeCompact: testProfiles[0].makeCompact, reconstruct: testProfiles[0].reconstruct,
            halfModeRule: .maxBitsPerPixel(0.5))
        if let error = #expect(throws: (any Error).self, performing: {
            try ComRecPipeline(jpeg: LibJPEG(), profiles: [impostor]).decode(file)
        }) {
            if case ComRecError.modelMismatch(let name, .half, let fileHash, let buildHash)? = error as? ComRecError {
                #expect(name == "test-fast")
                #expect(fileHash == fast.modelHash)
                #expect(buildHash == testProfiles[0].modelHash)
            } else {
                Issue.record("\(error)")
            }
        }
        if let error = #expect(throws: (any Error).self, performing: {
            try ComRecPipeline(jpeg: LibJPEG(), profiles: [.bicubic]).decode(file)
        }) {
            if case ComRecError.unknownProfile(let name, _)? = error as? ComRecError {
                #expect(name == "test-fast")
            } else {
                Issue.record("\(error)")
            }
        }
    }

    @Test func runtimeBuiltModelMatchesTheGeneratedOne() throws {
        // What benchmarks do with a model folder at run time: same blobs, same profile bytes.
        let model = try CompiledModel(folder: packageRoot + "/Fixtures/models/test-fast").learnedModel()
        #expect(model.modelHash == TestFastModel.model.modelHash)
        #expect(model.hashedBytes == TestFastModel.model.hashedBytes)
        let profile = Profile.learned(model: model, runner: hostedRunner), original = image(21, 14, seed: 2)
        #expect(try profile.makeCompact(original) == testProfiles[1].makeCompact(original))
        let context = ReconstructionContext(width: 21, height: 14, quality: 50)
        let decoded = image(11, 7, seed: 9)
        #expect(try profile.reconstruct(decoded, context) == testProfiles[1].reconstruct(decoded, context))
    }
}
