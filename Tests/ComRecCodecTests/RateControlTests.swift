// ComRecPipeline.file (a ComRec file from a stored image made once), rate control (`--bpp`) and
// the mode choice of `--mode auto` (ModeChoice.swift).
import ComRecModels
import ComRecCodec
import ComRecEval
import ComRecIO
import ComRecTestModels
import Foundation
import XCTest

final class RateControlTests: XCTestCase {
    let image = RGB8Image(width: 96, height: 64, pixels: goldenSyntheticImage(width: 96, height: 64, seed: 3))

    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "comrec-rate-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testFileIsWhatThePipelineEncodes() throws {
        let pipeline = ComRecPipeline(jpeg: LibJPEG(), profiles: try Profile.hosted())
        for profile in [Profile.bicubic] {
            for q in [1, 37, 100] {
                let settings = JPEGSettings(quality: q)
                for mode in CodecMode.allCases {
                    let expected = try pipeline.encode(image, profile: profile, settings: settings, mode: mode)
                    let stored = mode == .half ? profile.makeCompact(image) : image
                    let got = try pipeline.file(storing: stored, width: image.width, height: image.height,
                                                profile: profile, mode: mode, settings: settings)
                    XCTAssertEqual(got, expected, "quality \(q), \(mode.name) mode")
                }
            }
        }
    }

    func testSearchFindsTheLargestFittingQuality() {
        let sizes = (0...100).map { 1000 + 37 * $0 }  // increasing with quality
        for budget in [999, 1000, 1036, 1037, 2000, 4700, 10000] {
            var calls = 0
            let found = largestFileNotAbove(maxBytes: budget) { q -> [UInt8] in
                calls += 1
                return [UInt8](repeating: 0, count: sizes[q])
            }
            let expected = (1...100).last { sizes[$0] <= budget }
            XCTAssertEqual(found?.quality, expected, "budget \(budget)")
            XCTAssertLessThanOrEqual(calls, 7)
        }
    }

    func testEncodeWithBPPWritesTheLargestFileNotAbove() throws {
        let dir = try temporaryDirectory()
        let input = dir + "/in.ppm"
        try Data("P6\n96 64\n255\n".utf8 + image.pixels).write(to: URL(fileURLWithPath: input))
        let pixels = Double(image.width * image.height)
        let pipeline = ComRecPipeline(jpeg: LibJPEG(), profiles: try Profile.hosted())
        for mode in ModeRequest.allCases {
            for target in [0.6, 1.0, 2.5] {
                let output = dir + "/out-\(mode)-\(target).jpg"
                let options = EncodeOptions(profile: try Profile.hostedDefault(), mode: mode)
                let chosen = try encodeFile(input: input, output: output, options: options, maxBitsPerPixel: target)
                let written = readFile(output)
                XCTAssertEqual(written.count, chosen.fileBytes)
                XCTAssertLessThanOrEqual(Double(written.count * 8) / pixels, target)
                if mode != .auto { XCTAssertEqual(chosen.mode.name, mode.rawValue) }
                if chosen.quality < 100 {
                    let stored = chosen.mode == .half ? options.profile!.makeCompact(image) : image
                    let next = try pipeline.file(storing: stored, width: 96, height: 64, profile: options.profile!, mode: chosen.mode,
                                                 settings: JPEGSettings(quality: chosen.quality + 1))
                    XCTAssertGreaterThan(Double(next.count * 8) / pixels, target, "quality \(chosen.quality + 1) also fits")
                }
                let info = try inspectFile(output)
                XCTAssertEqual(info.segment.quality, chosen.quality)
                XCTAssertEqual(info.segment.mode, chosen.mode)
            }
        }
    }

    /// Effort 1: half mode exactly when the budget is at most the profile's crossover rate.
    func testAutoModeFollowsTheProfilesCrossoverRate() throws {
        // Bicubic with a crossover this small image can reach on both sides (its JPEG headers
        // alone are about 0.5 bits per pixel).
        let profile = Self.bicubic(crossover: 1.2)
        let encoder = ModeChoosingEncoder(jpeg: LibJPEG(), profile: profile, settings: JPEGSettings(quality: 75))
        let pixels = Double(image.width * image.height)
        for bpp in [0.8, 1.1, 1.3, 3.0] {
            let made = try encoder.encode(image, target: .bitsPerPixel(bpp), mode: .auto)
            XCTAssertEqual(made.mode, bpp <= profile.halfModeMaxBitsPerPixel ? .half : .full, "--bpp \(bpp)")
        }
        var sawHalf = false, sawFull = false
        for q in [1, 3, 10, 30, 75] {
            let plain = try encoder.encode(image, target: .quality(q), mode: .full)
            let budget = Double(plain.file.count * 8) / pixels
            let made = try encoder.encode(image, target: .quality(q), mode: .auto)
            XCTAssertLessThanOrEqual(made.file.count, plain.file.count, "quality \(q): never above the plain JPEG's size")
            if budget <= profile.halfModeMaxBitsPerPixel {
                XCTAssertEqual(made.mode, .half, "quality \(q), budget \(budget)")
                sawHalf = true
            } else {
                XCTAssertEqual(made.file, plain.file, "quality \(q), budget \(budget)")
                sawFull = true
            }
        }
        XCTAssertTrue(sawHalf && sawFull, "the qualities cover both sides of the crossover")
    }

    /// Effort 2: both modes at the same budget, decoded; the file with the better PSNR is kept.
    func testEffort2KeepsTheBetterOfBothModes() throws {
        let encoder = ModeChoosingEncoder(jpeg: LibJPEG(), profile: .bicubic, settings: JPEGSettings(quality: 75))
        var chosenModes: Set<CodecMode> = []
        for bpp in [0.8, 1.5, 4.0] {
            let made = try encoder.encode(image, target: .bitsPerPixel(bpp), mode: .auto, effort: 2)
            let half = try encoder.encode(image, target: .bitsPerPixel(bpp), mode: .half)
            let full = try encoder.encode(image, target: .bitsPerPixel(bpp), mode: .full)
            let psnrHalf = Metrics.psnr(image, try encoder.pipeline.decode(half.file))
            let psnrFull = Metrics.psnr(image, try encoder.pipeline.decode(full.file))
            XCTAssertEqual(made.file, psnrHalf > psnrFull ? half.file : full.file, "--bpp \(bpp): \(made.reason)")
            chosenModes.insert(made.mode)
        }
        XCTAssertEqual(chosenModes, [.half, .full], "the budgets make each mode win once")
    }

    /// Effort 2 also offers the full-mode JPEG without the enhancer: an enhancer that harms the
    /// image (here it inverts it) is left out, and the file decodes to the plain JPEG's pixels.
    func testEffort2DropsAnEnhancerThatDoesNotHelp() throws {
        let b = Profile.bicubic
        let inverting = FullResolutionModel(modelHash: ModelHash(value: 99), summary: "inverts") { image, _ in
            RGB8Image(width: image.width, height: image.height, pixels: image.pixels.map { 255 - $0 })
        }
        let profile = Profile(name: b.name, modelHash: b.modelHash, summary: "bicubic, inverting enhancer",
                              makeCompact: b.makeCompact, reconstruct: b.reconstruct, full: inverting,
                              halfModeMaxBitsPerPixel: 0.36)
        let encoder = ModeChoosingEncoder(jpeg: LibJPEG(), profile: profile, settings: JPEGSettings(quality: 75))
        let made = try encoder.encode(image, target: .quality(90), mode: .auto, effort: 2)
        XCTAssertEqual(made.mode, .full, made.reason)
        XCTAssertTrue(made.reason.contains("full without enhancer"), made.reason)
        let info = try encoder.pipeline.inspect(made.file)
        XCTAssertEqual(info.segment.modelHash, FullResolutionModel.plainJPEG.modelHash)
        XCTAssertEqual(try encoder.pipeline.decode(made.file), try LibJPEG().decode(made.file, maxPixels: 1 << 20))
        // The enhanced file is the same size: the choice costs no bits.
        let enhanced = try encoder.encode(image, target: .quality(90), mode: .full)
        XCTAssertEqual(enhanced.file.count, made.file.count)
        XCTAssertNotEqual(try encoder.pipeline.inspect(enhanced.file).segment.modelHash, info.segment.modelHash)
        // A profile without an enhancer gets no third candidate.
        let plainOnly = try ModeChoosingEncoder(jpeg: LibJPEG(), profile: .bicubic, settings: JPEGSettings(quality: 75))
            .encode(image, target: .quality(90), mode: .auto, effort: 2)
        XCTAssertFalse(plainOnly.reason.contains("without enhancer"), plainOnly.reason)
    }

    func testRefusesABudgetBelowQualityOne() throws {
        let dir = try temporaryDirectory()
        let input = dir + "/in.ppm", output = dir + "/out.jpg"
        try Data("P6\n96 64\n255\n".utf8 + image.pixels).write(to: URL(fileURLWithPath: input))
        XCTAssertThrowsError(try encodeFile(input: input, output: output, options: EncodeOptions(), maxBitsPerPixel: 0.01)) { error in
            XCTAssertTrue("\(error)".contains("even quality 1 gives"), "\(error)")
            XCTAssertTrue("\(error)".hasPrefix(input), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: output), "no output on failure")
    }

    static func bicubic(crossover: Double) -> Profile {
        let b = Profile.bicubic
        return Profile(name: b.name, modelHash: b.modelHash, summary: b.summary, makeCompact: b.makeCompact,
                       reconstruct: b.reconstruct, halfModeMaxBitsPerPixel: crossover)
    }

    func readFile(_ path: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: path) ?? Data()) }
}
