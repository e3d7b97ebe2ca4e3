// `comrec enhance` on plain JPEGs (enhanceFile), with the synthetic test enhancers.
import ComRecCodec
import ComRecIO
import ComRecTestModels
import Foundation
import Testing

@Suite struct EnhanceFileTests {
    let image = try! RGB8Image(width: 37, height: 22, pixels: goldenSyntheticImage(width: 37, height: 22, seed: 4))
    let fast = Profile.learned(TestFastModel.self, enhancer: TestFastFullModel.self, enhancerMaxQuality: 60,
                               halfModeRule: .maxBitsPerPixel(0.5), runner: hostedRunner)

    /// A new directory; the caller removes it (`removeDirectory`) when its test ends.
    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "comrec-enhance-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func removeDirectory(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    func write(_ bytes: [UInt8], _ path: String) throws -> String {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Plain JPEGs are quantised by rounding: a profile with a second enhancer for those uses it.
    @Test func usesTheEnhancerForRoundedJPEGs() throws {
        let dir = try temporaryDirectory()
        defer { removeDirectory(dir) }
        let forRounded = FullResolutionModel.learned(model: TestPaperFullModel.model, runner: hostedRunner)
        let profile = Profile(
            name: fast.name, modelHash: fast.modelHash, summary: fast.summary, makeCompact: fast.makeCompact,
            reconstruct: fast.reconstruct, full: fast.full, rounded: forRounded, halfModeRule: .maxBitsPerPixel(0.5),
            networks: fast.networks)
        let jpeg = try LibJPEG().encode(image, settings: JPEGSettings(quality: 30), segments: [])
        let input = try write(jpeg, dir + "/plain.jpg"), output = dir + "/plain.png"
        #expect(try enhanceFile(input: input, output: output, profile: profile).enhanced)
        let decoded = try LibJPEG().decode(jpeg, maxPixels: 1 << 20)
        let context = ReconstructionContext(width: decoded.width, height: decoded.height, quality: 30)
        #expect(try readImage(path: output) == forRounded.enhance(decoded, context))
        #expect(try forRounded.enhance(decoded, context) != fast.full.enhance(decoded, context), "the two enhancers differ")
    }

    /// Effort 2: the enhancer's self-ensemble over the eight orientations, at the estimated
    /// quality; nothing to average above the enhancer's qualities; other efforts refused.
    @Test func effortTwoAveragesTheEightOrientations() throws {
        let dir = try temporaryDirectory()
        defer { removeDirectory(dir) }
        let jpeg = try LibJPEG().encode(image, settings: JPEGSettings(quality: 20), segments: [])
        let input = try write(jpeg, dir + "/q20.jpg")
        let report = try enhanceFile(input: input, output: dir + "/ensemble.png", profile: fast, effort: 2)
        #expect(report.enhanced && report.orientations == 8)
        let decoded = try LibJPEG().decode(jpeg, maxPixels: 1 << 20)
        let expected = try selfEnsemble(decoded) { oriented throws(ComRecError) in
            try fast.rounded.enhance(oriented, ReconstructionContext(width: oriented.width, height: oriented.height, quality: 20))
        }
        #expect(try readImage(path: dir + "/ensemble.png") == expected)
        #expect(try enhanceFile(input: input, output: dir + "/once.png", profile: fast).orientations == 1)
        #expect(try readImage(path: dir + "/once.png") != expected, "one run is not the average of eight")
        let high = try write(try LibJPEG().encode(image, settings: JPEGSettings(quality: 90), segments: []), dir + "/q90.jpg")
        #expect(try enhanceFile(input: high, output: dir + "/q90.png", profile: fast, effort: 2).orientations == 1)
        #expect(throws: ComRecIOError.self) { try enhanceFile(input: input, output: dir + "/e4.png", profile: fast, effort: 4) }
    }

    /// Effort 3: in each of the eight orientations the second enhancer restores the first one's
    /// output, then the eight are averaged; above the second enhancer's qualities only the first
    /// runs; without a second enhancer effort 3 is refused and writes nothing.
    @Test func effortThreeRunsTheSecondEnhancerOnTheFirstOnesOutput() throws {
        let dir = try temporaryDirectory()
        defer { removeDirectory(dir) }
        let second = FullResolutionModel(
            modelHash: FullResolutionModel.learned(model: TestPaperFullModel.model, runner: hostedRunner).modelHash,
            summary: "test second pass", maxQuality: 40,
            enhance: FullResolutionModel.learned(model: TestPaperFullModel.model, runner: hostedRunner).enhance)
        for q in [20, 50] {
            let jpeg = try LibJPEG().encode(image, settings: JPEGSettings(quality: q), segments: [])
            let input = try write(jpeg, dir + "/q\(q).jpg"), output = dir + "/q\(q)-e3.png"
            let report = try enhanceFile(input: input, output: output, profile: fast, effort: 3, secondPass: second)
            #expect(report.enhanced && report.orientations == 8 && report.passes == (q <= 40 ? 2 : 1))
            let decoded = try LibJPEG().decode(jpeg, maxPixels: 1 << 20)
            let expected = try selfEnsemble(decoded) { oriented throws(ComRecError) in
                let context = ReconstructionContext(width: oriented.width, height: oriented.height, quality: q)
                let first = try fast.rounded.enhance(oriented, context)
                return q <= 40 ? try second.enhance(first, context) : first
            }
            #expect(try readImage(path: output) == expected, "quality \(q)")
            _ = try enhanceFile(input: input, output: dir + "/q\(q)-e2.png", profile: fast, effort: 2)
            let effortTwo = try readImage(path: dir + "/q\(q)-e2.png")
            #expect((effortTwo == expected) == (q > 40), "quality \(q): the second pass changes pixels where it runs")
        }
        let input = dir + "/q20.jpg"
        #expect(throws: ComRecIOError.self) { try enhanceFile(input: input, output: dir + "/none.png", profile: fast, effort: 3) }
        #expect(!FileManager.default.fileExists(atPath: dir + "/none.png"))
        let high = try write(try LibJPEG().encode(image, settings: JPEGSettings(quality: 90), segments: []), dir + "/q90.jpg")
        let plain = try enhanceFile(input: high, output: dir + "/q90.png", profile: fast, effort: 3, secondPass: second)
        #expect(!plain.enhanced && plain.passes == 0 && plain.orientations == 1)
    }

    @Test func enhancesAtTheEstimatedQualityAndLeavesHighQualitiesAlone() throws {
        let dir = try temporaryDirectory()
        defer { removeDirectory(dir) }
        for q in [20, 60, 61, 90] {
            let jpeg = try LibJPEG().encode(image, settings: JPEGSettings(quality: q), segments: [])
            let input = try write(jpeg, dir + "/q\(q).jpg"), output = dir + "/q\(q).png"
            let report = try enhanceFile(input: input, output: output, profile: fast)
            #expect(report.quality == q)
            #expect(report.exactTables == true)
            let decoded = try LibJPEG().decode(jpeg, maxPixels: 1 << 20)
            let written = try readImage(path: output)
            if q <= 60 {
                #expect(report.enhanced)
                #expect(try written == fast.full.enhance(decoded, ReconstructionContext(width: 37, height: 22, quality: q)))
                #expect(written != decoded, "the test enhancer changes pixels")
            } else {
                #expect(!report.enhanced, "quality \(q) is above the enhancer's 60")
                #expect(written == decoded)
            }
        }
        // A given quality replaces the estimate.
        let jpeg = try LibJPEG().encode(image, settings: JPEGSettings(quality: 90), segments: [])
        let report = try enhanceFile(input: try write(jpeg, dir + "/given.jpg"), output: dir + "/given.png", profile: fast, quality: 30)
        #expect(report.enhanced)
        #expect(report.exactTables == nil)
    }

    @Test func refusesComRecFilesOtherFormatsAndProfilesWithoutEnhancer() throws {
        let dir = try temporaryDirectory()
        defer { removeDirectory(dir) }
        let comrec = try ComRecPipeline(jpeg: LibJPEG(), profiles: [.bicubic]).encode(image, profile: .bicubic, settings: JPEGSettings(quality: 50))
        let png = try PNG.encode(image)
        let plain = try LibJPEG().encode(image, settings: JPEGSettings(quality: 50), segments: [])
        let cases: [(String, [UInt8], Profile, String)] = [
            ("comrec.jpg", comrec, fast, "is a ComRec file; decode it with `comrec decode`"),
            ("image.png", png, fast, "not a JPEG"),
            ("truncated.jpg", Array(plain.prefix(plain.count / 2)), fast, "JPEG data is invalid or truncated"),
            ("plain.jpg", plain, .bicubic, "profile bicubic has no full-resolution enhancer"),
        ]
        for (name, bytes, profile, message) in cases {
            let input = try write(bytes, dir + "/" + name), output = dir + "/" + name + ".png"
            if let error = #expect(throws: (any Error).self, "\(name)", performing: {
                try enhanceFile(input: input, output: output, profile: profile)
            }) {
                #expect("\(error)".contains(message), "\(name): \(error)")
            }
            #expect(!FileManager.default.fileExists(atPath: output), "\(name): no output on failure")
        }
    }
}
