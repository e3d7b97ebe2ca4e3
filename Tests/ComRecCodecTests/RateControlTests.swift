// ComRecPipeline.file (a ComRec file from a stored image made once), rate control (`--bpp`) and
// the mode choice of `--mode auto` (ModeChoice.swift).
import ComRecModels
@testable import ComRecCodec
import ComRecEval
import ComRecIO
import ComRecTestModels
import Foundation
import Testing

@Suite struct RateControlTests {
    let image = try! RGB8Image(width: 96, height: 64, pixels: goldenSyntheticImage(width: 96, height: 64, seed: 3))

    /// A new directory; the caller removes it (`removeDirectory`) when its test ends.
    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "comrec-rate-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func removeDirectory(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    @Test func fileIsWhatThePipelineEncodes() throws {
        let pipeline = ComRecPipeline(jpeg: LibJPEG(), profiles: try Profile.hosted())
        for profile in [Profile.bicubic] {
            for q in [1, 37, 100] {
                let settings = JPEGSettings(quality: q)
                for mode in CodecMode.allCases {
                    let expected = try pipeline.encode(image, profile: profile, settings: settings, mode: mode)
                    let stored = mode == .half ? try profile.makeCompact(image) : image
                    let got = try pipeline.file(storing: stored, width: image.width, height: image.height,
                                                profile: profile, mode: mode, settings: settings)
                    #expect(got == expected, "quality \(q), \(mode.name) mode")
                }
            }
        }
    }

    @Test func searchFindsTheLargestFittingQuality() throws {
        let sizes = (0...100).map { 1000 + 37 * $0 }  // increasing with quality
        for budget in [999, 1000, 1036, 1037, 2000, 4700, 10000] {
            var calls = 0
            let found = largestFileNotAbove(maxBytes: budget) { q -> [UInt8] in
                calls += 1
                return [UInt8](repeating: 0, count: sizes[q])
            }
            let expected = (1...100).last { sizes[$0] <= budget }
            #expect(found?.quality == expected, "budget \(budget)")
            #expect(calls <= 7)
        }
    }

    @Test func encodeWithBPPWritesTheLargestFileNotAbove() throws {
        let dir = try temporaryDirectory()
        defer { removeDirectory(dir) }
        let input = dir + "/in.ppm"
        try Data(Array("P6\n96 64\n255\n".utf8) + image.pixels).write(to: URL(fileURLWithPath: input))
        let pixels = Double(image.width * image.height)
        let pipeline = ComRecPipeline(jpeg: LibJPEG(), profiles: try Profile.hosted())
        for mode in ModeRequest.allCases {
            for target in [0.6, 1.0, 2.5] {
                let output = dir + "/out-\(mode)-\(target).jpg"
                let options = EncodeOptions(profile: try Profile.hostedDefault(), mode: mode)
                let chosen = try encodeFile(input: input, output: output, options: options, maxBitsPerPixel: target)
                let written = readFile(output)
                #expect(written.count == chosen.fileBytes)
                #expect(Double(written.count * 8) / pixels <= target)
                if mode != .auto { #expect(chosen.mode.name == mode.rawValue) }
                if chosen.quality < 100 {
                    let stored = chosen.mode == .half ? try options.profile!.makeCompact(image) : image
                    let next = try pipeline.file(storing: stored, width: 96, height: 64, profile: options.profile!, mode: chosen.mode,
                                                 settings: JPEGSettings(quality: chosen.quality + 1, tables: .comrec))
                    #expect(Double(next.count * 8) / pixels > target, "quality \(chosen.quality + 1) also fits")
                }
                let info = try inspectFile(output)
                #expect(info.segment.quality == chosen.quality)
                #expect(info.segment.mode == chosen.mode)
            }
        }
    }

    /// A target beyond any file's size (up to the largest finite Double) is no limit: the best
    /// quality's file, in every mode, never a failed conversion of the byte budget.
    @Test func aTargetBeyondAnyFileIsNoLimit() throws {
        let encoder = ModeChoosingEncoder(jpeg: LibJPEG(), profile: Self.bicubic(crossover: 1.2), settings: JPEGSettings(quality: 75))
        let best = try encoder.encode(image, target: .quality(100), mode: .full)
        for bpp in [1e9, 1e20, Double.greatestFiniteMagnitude] {
            for mode in [ModeRequest.full, .half, .auto] {
                let made = try encoder.encode(image, target: .bitsPerPixel(bpp), mode: mode)
                #expect(!made.file.isEmpty, "--bpp \(bpp), \(mode)")
                if mode == .full { #expect(made.file == best.file && made.quality == 100, "--bpp \(bpp)") }
            }
        }
    }

    /// Effort 1: half mode exactly when the budget is at most the profile's crossover rate.
    @Test func autoModeFollowsTheProfilesCrossoverRate() throws {
        // Bicubic with a crossover this small image can reach on both sides (its JPEG headers
        // alone are about 0.5 bits per pixel).
        let crossover = 1.2
        let profile = Self.bicubic(crossover: crossover)
        let encoder = ModeChoosingEncoder(jpeg: LibJPEG(), profile: profile, settings: JPEGSettings(quality: 75))
        let pixels = Double(image.width * image.height)
        for bpp in [0.8, 1.1, 1.3, 3.0] {
            let made = try encoder.encode(image, target: .bitsPerPixel(bpp), mode: .auto)
            #expect(made.mode == (bpp <= crossover ? .half : .full), "--bpp \(bpp)")
        }
        var sawHalf = false, sawFull = false
        for q in [1, 3, 10, 30, 75] {
            let plain = try encoder.encode(image, target: .quality(q), mode: .full)
            let budget = Double(plain.file.count * 8) / pixels
            let made = try encoder.encode(image, target: .quality(q), mode: .auto)
            #expect(made.file.count <= plain.file.count, "quality \(q): never above the plain JPEG's size")
            if budget <= crossover {
                #expect(made.mode == .half, "quality \(q), budget \(budget)")
                sawHalf = true
            } else {
                #expect(made.file == plain.file, "quality \(q), budget \(budget)")
                sawFull = true
            }
        }
        #expect(sawHalf && sawFull, "the qualities cover both sides of the crossover")
    }

    /// Effort 1 with a quality rule: full mode whenever the full-mode JPEG that sets the budget is
    /// above the rule's quality; at or below it, half mode exactly when the trial on the sample
    /// (here the whole image: it is smaller than two sample tiles) measures half mode better at
    /// the same size. For a quality target and for rate control alike.
    @Test func autoModeFollowsTheProfilesQualityRuleAndTheSample() throws {
        let b = Profile.bicubic
        let maxQuality = 30
        let profile = Profile(name: b.name, modelHash: b.modelHash, summary: b.summary, makeCompact: b.makeCompact,
                              reconstruct: b.reconstruct, halfModeRule: .maxQuality(maxQuality))
        let encoder = ModeChoosingEncoder(jpeg: LibJPEG(), profile: profile, settings: JPEGSettings(quality: 75))
        // What the trial on the whole image decides at `quality`.
        func halfWins(quality: Int) throws -> Bool {
            let full = try encoder.encode(image, target: .quality(quality), mode: .full).file
            let compact = try profile.makeCompact(image)
            guard let half = try largestFileNotAbove(maxBytes: full.count, encode: { (q: Int) throws(ComRecError) in
                var settings = encoder.settings
                settings.quality = q
                return try encoder.pipeline.file(storing: compact, width: image.width, height: image.height, profile: profile,
                                                 mode: .half, settings: settings)
            }) else { return false }
            return Metrics.meanSquaredError(image, try encoder.pipeline.decode(half.file))
                < Metrics.meanSquaredError(image, try encoder.pipeline.decode(full))
        }
        var verdicts: Set<Bool> = []
        for q in [2, 10, maxQuality, maxQuality + 1, 75] {
            let full = try encoder.encode(image, target: .quality(q), mode: .full)
            let made = try encoder.encode(image, target: .quality(q), mode: .auto)
            let wins = q <= maxQuality ? try halfWins(quality: q) : false
            if q <= maxQuality { verdicts.insert(wins) }
            #expect(made.mode == (wins ? .half : .full), "quality \(q): \(made.reason)")
            #expect(made.file.count <= full.file.count, "quality \(q): never above the full-mode file's size")
            #expect(made.reason.contains("quality \(maxQuality) rule"), "\(made.reason)")
            #expect(made.reason.contains("sample measured") == (q <= maxQuality), "\(made.reason)")
        }
        #expect(verdicts == [true, false], "the sample decides both ways at or below the rule's quality")
        for bpp in [1.5, 2.0, 3.0, 4.0] {
            let full = try encoder.encode(image, target: .bitsPerPixel(bpp), mode: .full)
            let made = try encoder.encode(image, target: .bitsPerPixel(bpp), mode: .auto)
            let wins = full.quality <= maxQuality ? try halfWins(quality: full.quality) : false
            #expect(made.mode == (wins ? .half : .full), "--bpp \(bpp): \(made.reason)")
            #expect(Double(made.file.count * 8) <= bpp * Double(image.width * image.height), "--bpp \(bpp)")
        }
    }

    /// The trial sample: four tiles from the middles of the image's quarters, at even offsets.
    @Test func theTrialSampleTakesATileFromTheMiddleOfEachQuarter() throws {
        let width = 301, height = 270, t = 128
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height { for x in 0..<width { pixels[(y * width + x) * 3] = UInt8(x & 0xFF); pixels[(y * width + x) * 3 + 1] = UInt8(y & 0xFF) } }
        let image = try RGB8Image(width: width, height: height, pixels: pixels)
        let sample = try TrialSample.of(image)
        #expect(sample.width == 2 * t && sample.height == 2 * t)
        for (tx, ty) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let x0 = (tx * (width / 2) + (width / 2 - t) / 2) & ~1, y0 = (ty * (height / 2) + (height / 2 - t) / 2) & ~1
            #expect(x0 % 2 == 0 && y0 % 2 == 0 && x0 + t <= width && y0 + t <= height)
            for (dx, dy) in [(0, 0), (t - 1, t - 1), (5, 77)] {
                let p = sample[tx * t + dx, ty * t + dy]
                #expect(Int(p.0) == (x0 + dx) & 0xFF && Int(p.1) == (y0 + dy) & 0xFF, "tile \(tx),\(ty) at \(dx),\(dy)")
            }
        }
        let small = try RGB8Image(width: 2 * t - 1, height: 100)
        #expect(try TrialSample.of(small) == small, "an image under two tiles either way is its own sample")
        let narrow = try TrialSample.of(image.croppedForTest(width: 2 * t - 1))
        #expect(narrow.width == 2 * t - 1 && narrow.height == 2 * t, "a narrow image gives its middle, two tiles high")
        let top = (height - 2 * t) / 2 & ~1
        #expect(Int(narrow[3, 0].1) == top && Int(narrow[3, 0].0) == 3 && Int(narrow[7, 2 * t - 1].1) == (top + 2 * t - 1) & 0xFF)
    }

    /// Effort 2: both modes at the same budget, decoded; the file with the better PSNR is kept.
    @Test func effort2KeepsTheBetterOfBothModes() throws {
        let encoder = ModeChoosingEncoder(jpeg: LibJPEG(), profile: .bicubic, settings: JPEGSettings(quality: 75))
        var chosenModes: Set<CodecMode> = []
        for bpp in [0.8, 1.5, 4.0] {
            let made = try encoder.encode(image, target: .bitsPerPixel(bpp), mode: .auto, effort: 2)
            let half = try encoder.encode(image, target: .bitsPerPixel(bpp), mode: .half)
            let full = try encoder.encode(image, target: .bitsPerPixel(bpp), mode: .full)
            let psnrHalf = Metrics.psnr(image, try encoder.pipeline.decode(half.file))
            let psnrFull = Metrics.psnr(image, try encoder.pipeline.decode(full.file))
            #expect(made.file == (psnrHalf > psnrFull ? half.file : full.file), "--bpp \(bpp): \(made.reason)")
            chosenModes.insert(made.mode)
        }
        #expect(chosenModes == [.half, .full], "the budgets make each mode win once")
    }

    /// Effort 2 also offers the full-mode JPEG without the enhancer: an enhancer that harms the
    /// image (here it inverts it) is left out, and the file decodes to the plain JPEG's pixels.
    @Test func effort2DropsAnEnhancerThatDoesNotHelp() throws {
        let b = Profile.bicubic
        let inverting = FullResolutionModel(modelHash: ModelHash(value: 99), summary: "inverts") { image, _ throws(ComRecError) in
            try RGB8Image(width: image.width, height: image.height, pixels: image.pixels.map { 255 - $0 })
        }
        let profile = Profile(name: b.name, modelHash: b.modelHash, summary: "bicubic, inverting enhancer",
                              makeCompact: b.makeCompact, reconstruct: b.reconstruct, full: inverting,
                              halfModeRule: .maxBitsPerPixel(0.36))
        let encoder = ModeChoosingEncoder(jpeg: LibJPEG(), profile: profile, settings: JPEGSettings(quality: 75))
        let made = try encoder.encode(image, target: .quality(90), mode: .auto, effort: 2)
        #expect(made.mode == .full, "\(made.reason)")
        #expect(made.reason.contains("full without enhancer"), "\(made.reason)")
        let info = try encoder.pipeline.inspect(made.file)
        #expect(info.segment.modelHash == FullResolutionModel.plainJPEG.modelHash)
        #expect(try encoder.pipeline.decode(made.file) == LibJPEG().decode(made.file, maxPixels: 1 << 20))
        // The enhanced file is the same size: the choice costs no bits.
        let enhanced = try encoder.encode(image, target: .quality(90), mode: .full)
        #expect(enhanced.file.count == made.file.count)
        #expect(try encoder.pipeline.inspect(enhanced.file).segment.modelHash != info.segment.modelHash)
        // A profile without an enhancer gets no third candidate.
        let plainOnly = try ModeChoosingEncoder(jpeg: LibJPEG(), profile: .bicubic, settings: JPEGSettings(quality: 75))
            .encode(image, target: .quality(90), mode: .auto, effort: 2)
        #expect(!plainOnly.reason.contains("without enhancer"), "\(plainOnly.reason)")
    }

    @Test func refusesABudgetBelowQualityOne() throws {
        let dir = try temporaryDirectory()
        defer { removeDirectory(dir) }
        let input = dir + "/in.ppm", output = dir + "/out.jpg"
        try Data(Array("P6\n96 64\n255\n".utf8) + image.pixels).write(to: URL(fileURLWithPath: input))
        if let error = #expect(throws: (any Error).self, performing: {
            try encodeFile(input: input, output: output, options: EncodeOptions(), maxBitsPerPixel: 0.01)
        }) {
            #expect("\(error)".contains("even quality 1 gives"), "\(error)")
            #expect("\(error)".hasPrefix(input), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: output), "no output on failure")
    }

    static func bicubic(crossover: Double) -> Profile {
        let b = Profile.bicubic
        return Profile(name: b.name, modelHash: b.modelHash, summary: b.summary, makeCompact: b.makeCompact,
                       reconstruct: b.reconstruct, halfModeRule: .maxBitsPerPixel(crossover))
    }

    func readFile(_ path: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: path) ?? Data()) }
}

extension RGB8Image {
    /// The left `width` columns.
    func croppedForTest(width: Int) -> RGB8Image {
        try! TrialSample.crop(self, x0: 0, y0: 0, width: width, height: height)
    }
}
