import ComRecCodec
import ComRecIO
@testable import ComRecJPEG
import ComRecTestSupport
import Foundation
import Testing

/// What a block costs as TrellisQuantiser counts it, computed the plain way: the weighted squared
/// error of every AC coefficient plus lambda times the bits of its run/size symbols.
private func referenceCost(levels: [Int], magnitudes: [Int], steps: [Int], weight: Int, lambda: Int, rate: ACRateModel) -> Int {
    var cost = 0, run = 0, bits = 0
    for i in 1..<64 {
        let error = magnitudes[i] - levels[i] * 16 * steps[i]
        cost += weight * error * error
        if levels[i] == 0 {
            run += 1
            continue
        }
        bits += (run / 16) * rate.sixteenthBits[ACRateModel.zeroRun16]
        let size = magnitudeBits(levels[i])
        bits += rate.sixteenthBits[((run % 16) << 4) | size] + 16 * size
        run = 0
    }
    if run > 0 { bits += rate.sixteenthBits[ACRateModel.endOfBlock] }
    return cost + lambda * bits
}

@Suite struct TrellisTests {
    /// One block through the quantiser: zigzag-order levels (magnitudes) out.
    private func quantise(_ coefficients: [Int32], steps: [UInt16], weight: Int, lambda: Int, rate: ACRateModel) -> [Int] {
        var trellis = TrellisQuantiser(weight: Int64(weight), lambda: Int64(lambda), rate: rate)
        var out = [Int16](repeating: 0, count: 64)
        coefficients.withUnsafeBufferPointer { c in
            steps.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { trellis.quantise(c.baseAddress!, steps: s.baseAddress!, into: $0.baseAddress!) }
            }
        }
        // Signs must follow the coefficients'.
        for k in 0..<64 where out[k] != 0 { #expect((out[k] < 0) == (coefficients[k] < 0)) }
        return (0..<64).map { abs(Int(out[zigzag[$0]])) }
    }

    @Test func withoutLambdaItRounds() throws {
        var random = Sequence64(state: 0x9E37_79B9_7F4A_7C15)
        let steps = JPEGQuality.table(quality: 50, chroma: false)
        for _ in 0..<200 {
            // Odd magnitudes in 1/16 units never sit exactly half-way between two levels.
            let coefficients = (0..<64).map { _ in Int32((random.next(6000) * 2 + 1) * (random.next(2) == 0 ? 1 : -1)) }
            let levels = quantise(coefficients, steps: steps, weight: 12, lambda: 0, rate: ACRateModel())
            for i in 1..<64 {
                let natural = zigzag[i]
                #expect(levels[i] == abs(roundedLevel(Int(coefficients[natural]), step: Int(steps[natural]), limit: 1023)))
            }
        }
    }

    /// Blocks with a few coefficients worth coding, against every choice of 0, the rounded level
    /// and one less at each: the programme's choice must cost exactly the least of them.
    @Test func choosesTheCheapestCodingOfSmallBlocks() throws {
        var random = Sequence64(state: 12345)
        let steps = (0..<64).map { _ in UInt16(1 + random.next(40)) }
        for trial in 0..<300 {
            var coefficients = [Int32](repeating: 0, count: 64)
            let chosen = (0..<(1 + random.next(5))).map { _ in 1 + random.next(63) }
            for i in chosen {
                let step16 = 16 * Int(steps[zigzag[i]])
                coefficients[zigzag[i]] = Int32((step16 * random.next(4) + random.next(step16)) * (random.next(2) == 0 ? 1 : -1))
            }
            let counts = (0..<256).map { _ in random.next(3) == 0 ? 0 : random.next(1000) }
            let rate = ACRateModel(counts: counts)
            let weight = [12, 52, 40][trial % 3]
            let lambda = random.next(40_000)
            let levels = quantise(coefficients, steps: steps, weight: weight, lambda: lambda, rate: rate)
            let magnitudes = (0..<64).map { abs(Int(coefficients[zigzag[$0]])) }
            let zigzagSteps = (0..<64).map { Int(steps[zigzag[$0]]) }
            // Every assignment of {0, rounded, rounded - 1} to the positions that round to non-zero.
            let open = (1..<64).filter { magnitudes[$0] > 0 && abs(roundedLevel(magnitudes[$0], step: zigzagSteps[$0], limit: 1023)) > 0 }
            var best = Int.max
            var assignment = [Int](repeating: 0, count: open.count)
            func search(_ k: Int) {
                if k == open.count {
                    var trial = [Int](repeating: 0, count: 64)
                    for (n, i) in open.enumerated() { trial[i] = assignment[n] }
                    best = min(best, referenceCost(levels: trial, magnitudes: magnitudes, steps: zigzagSteps,
                                                   weight: weight, lambda: lambda, rate: rate))
                    return
                }
                let rounded = roundedLevel(magnitudes[open[k]], step: zigzagSteps[open[k]], limit: 1023)
                for level in Set([0, rounded, max(rounded - 1, 0)]) {
                    assignment[k] = level
                    search(k + 1)
                }
            }
            search(0)
            let cost = referenceCost(levels: levels, magnitudes: magnitudes, steps: zigzagSteps, weight: weight, lambda: lambda, rate: rate)
            #expect(cost == best, "trial \(trial): the trellis chose a coding of cost \(cost), the best costs \(best)")
        }
    }

    @Test func integerLogarithmIsExactToASixteenth() throws {
        for x in [1, 2, 3, 5, 7, 10, 100, 1000, 4097, 65535, 1 << 40, (1 << 40) + 12345] {
            let expected = Int((16 * log2(Double(x))).rounded(.down))
            #expect(abs(log2Sixteenths(UInt64(x)) - expected) <= 1, "x = \(x)")
        }
    }

    let jpeg = LibJPEG()

    /// Through libjpeg: odd sizes, grey and 4:4:4 decode to the picture (the planes' padding and
    /// geometry are libjpeg's), and with a tiny lambda the file is libjpeg's own within a few percent.
    @Test func filesDecodeToThePictureInEveryLayout() throws {
        let image = Fixtures.image(width: 37, height: 23) { x, y in
            [UInt8((x * 7 + y * 3) % 256), UInt8((y * 11) % 256), UInt8(128 + (x - y) * 2)]
        }
        for chroma in [JPEGSettings.Chroma.subsampled420, .full444] {
            for grey in [false, true] {
                let source = grey ? try RGB8Image(width: image.width, height: image.height, pixels: try image.greyChannel().flatMap { [$0, $0, $0] }) : image
                let rounded = try jpeg.encode(source, settings: JPEGSettings(quality: 95, chroma: chroma, grey: grey), segments: [])
                let nearly = try jpeg.encode(
                    source, settings: JPEGSettings(quality: 95, chroma: chroma, grey: grey, trellis: TrellisTuning(lambdaScale: 1e-6)), segments: [])
                let a = try jpeg.decode(rounded, maxPixels: 10_000), b = try jpeg.decode(nearly, maxPixels: 10_000)
                #expect(b.width == 37 && b.height == 23)
                #expect(abs(Metrics.psnr(source, a) - Metrics.psnr(source, b)) < 0.5, "\(chroma) grey \(grey)")
                #expect(abs(Double(nearly.count) / Double(rounded.count) - 1) < 0.05, "\(chroma) grey \(grey): \(nearly.count) vs \(rounded.count) bytes")
            }
        }
    }

    /// On a photograph, trellis beats rounding: at each of two rounding files, some trellis file
    /// is no larger and has a higher PSNR.
    @Test func beatsRoundingOnAPhotograph() throws {
        let photo = try readImage(path: Fixtures.demoImage)
        for q in [40, 70] {
            let rounded = try jpeg.encode(photo, settings: JPEGSettings(quality: q), segments: [])
            let roundedPSNR = Metrics.psnr(photo, try jpeg.decode(rounded, maxPixels: photo.pixelCount))
            var beaten = false
            for q2 in q...min(q + 25, 100) {
                let file = try jpeg.encode(photo, settings: JPEGSettings(quality: q2, trellis: TrellisTuning()), segments: [])
                if file.count <= rounded.count,
                   Metrics.psnr(photo, try jpeg.decode(file, maxPixels: photo.pixelCount)) > roundedPSNR {
                    beaten = true
                    break
                }
            }
            #expect(beaten, "no trellis file at qualities \(q)...\(q + 25) is both no larger and better than rounding at \(q)")
        }
    }

    /// The same image and settings give the same bytes (the boards compare them across ISAs).
    @Test func isDeterministic() throws {
        let photo = try readImage(path: Fixtures.demoImage)
        let settings = JPEGSettings(quality: 60, trellis: TrellisTuning())
        #expect(try jpeg.encode(photo, settings: settings, segments: []) == jpeg.encode(photo, settings: settings, segments: []))
    }

    /// The pipeline's choices: half mode's JPEG with the standard's tables rounded (`tiny`'s
    /// RecCNN for those learnt from rounded JPEGs) unless asked, then with the lambda of a
    /// restored JPEG, and with ComRec's tables trellis-quantised with that lambda; full mode's trellis-quantised with the
    /// enhanced lambda where the profile's enhancer restores it and the plain one above its
    /// quality limit; a lambda given by the caller is kept.
    @Test func pipelineChoosesLambdaByWhatRestoresTheFile() throws {
        let log = SettingsLog()
        let tiny = try #require(try Profile.hosted(named: "tiny"))
        let pipeline = ComRecPipeline(jpeg: RecordingJPEG(log: log), profiles: [tiny])
        let image = Fixtures.image(width: 32, height: 24) { x, y in [UInt8(x * 8), UInt8(y * 10), 90] }
        func stored(_ mode: CodecMode, _ quality: Int, _ tuning: TrellisTuning?, tables: JPEGTables = .standard) throws -> TrellisTuning? {
            let source = mode == .half ? try tiny.makeCompact(image) : image
            _ = try pipeline.file(storing: source, width: 32, height: 24, profile: tiny, mode: mode,
                                  settings: JPEGSettings(quality: quality, trellis: tuning, tables: tables))
            return log.seen.last!.trellis
        }
        #expect(try stored(.half, 50, TrellisTuning()) == nil)
        #expect(try stored(.half, 50, TrellisTuning(), tables: .comrec) == TrellisTuning(lambdaScale: TrellisTuning.enhancedLambdaScale))
        #expect(try stored(.half, 50, TrellisTuning(inHalfMode: true))
                == TrellisTuning(lambdaScale: TrellisTuning.enhancedLambdaScale, inHalfMode: true))
        #expect(try stored(.full, 50, TrellisTuning())?.lambdaScale == TrellisTuning.enhancedLambdaScale)
        #expect(tiny.full.improves(quality: 50) && !tiny.full.improves(quality: 95))
        #expect(try stored(.full, 95, TrellisTuning())?.lambdaScale == TrellisTuning.plainLambdaScale)
        #expect(try stored(.full, 50, TrellisTuning(lambdaScale: 0.3))?.lambdaScale == 0.3)
        #expect(try stored(.full, 50, nil) == nil)
    }
}

/// The settings each encode was asked for.
private final class SettingsLog: @unchecked Sendable {
    var seen: [JPEGSettings] = []
}

/// libjpeg, recording the settings of every encode.
private struct RecordingJPEG: JPEGCoder {
    let log: SettingsLog
    let inner = LibJPEG()
    func encode(_ image: RGB8Image, settings: JPEGSettings, segments: [JPEGSegment]) throws(ComRecError) -> [UInt8] {
        log.seen.append(settings)
        return try inner.encode(image, settings: settings, segments: segments)
    }
    func readHeader(_ jpeg: [UInt8]) throws(ComRecError) -> JPEGHeader { try inner.readHeader(jpeg) }
    func decode(_ jpeg: [UInt8], maxPixels: Int) throws(ComRecError) -> RGB8Image { try inner.decode(jpeg, maxPixels: maxPixels) }
}
