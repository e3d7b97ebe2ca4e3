import ComRecCodec
@testable import ComRecJPEG
import ComRecTestSupport
import Testing

/// What a chain of DC levels costs as chooseDCLevels counts it, the plain way: weighted squared
/// error of every block plus lambda times the bits of each difference (the first from 0).
private func referenceCost(levels: [Int], coefficients: [Int], step: Int, weight: Int, lambda: Int, rate: DCRateModel) -> Int {
    var cost = 0, previous = 0
    for (level, coefficient) in zip(levels, coefficients) {
        let error = coefficient - level * 16 * step
        cost += weight * error * error + lambda * rate.sixteenthBits[magnitudeBits(abs(level - previous))]
        previous = level
    }
    return cost
}

@Suite struct DCTrellisTests {
    /// The chain's DC levels for `coefficients` (1/16 units), read back from the blocks' first values.
    private func choose(_ coefficients: [Int32], step: Int, weight: Int, lambda: Int, rate: DCRateModel) -> [Int] {
        var blocks = [Int16](repeating: 7, count: 64 * coefficients.count)
        var paths = [UInt8](repeating: 0, count: coefficients.count)
        coefficients.withUnsafeBufferPointer { dc in
            blocks.withUnsafeMutableBufferPointer { blocks in
                paths.withUnsafeMutableBufferPointer { paths in
                    chooseDCLevels(dc, step: step, weight: Int64(weight), lambda: Int64(lambda), rate: rate, paths: paths,
                                   into: blocks.baseAddress!)
                }
            }
        }
        // Only each block's DC is written.
        for block in 0..<coefficients.count { #expect(blocks[block * 64 + 1..<block * 64 + 64].allSatisfy { $0 == 7 }) }
        return (0..<coefficients.count).map { Int(blocks[$0 * 64]) }
    }

    private func randomRate(_ random: inout Sequence64) -> DCRateModel {
        DCRateModel(counts: (0..<DCRateModel.categories).map { _ in random.next(3) == 0 ? 0 : random.next(1000) })
    }

    @Test func withoutLambdaItRounds() {
        var random = Sequence64(state: 0x2545_F491_4F6C_DD1D)
        for _ in 0..<100 {
            let step = 1 + random.next(60)
            // Odd values in 1/16 units never sit exactly half-way between two levels.
            let coefficients = (0..<(1 + random.next(40))).map { _ in Int32((random.next(16_000) | 1) * (random.next(2) == 0 ? 1 : -1)) }
            let levels = choose(coefficients, step: step, weight: 12, lambda: 0, rate: randomRate(&random))
            #expect(levels == coefficients.map { roundedLevel(Int($0), step: step, limit: 2047) })
        }
    }

    /// Short chains against every choice of the rounded level, one less or one more for each
    /// block: the programme's choice must cost exactly the least of them.
    @Test func choosesTheCheapestChain() {
        var random = Sequence64(state: 777)
        for trial in 0..<300 {
            let step = 1 + random.next(50)
            let count = 1 + random.next(6)
            // Neighbouring DCs within a few steps of each other, as in a photograph.
            var coefficient = (random.next(2000) - 1000) * 16
            let coefficients: [Int32] = (0..<count).map { _ in
                coefficient += (random.next(5) - 2) * 16 * step + random.next(16 * step) - 8 * step
                return Int32(max(-16_384, min(16_256, coefficient)))
            }
            let rate = randomRate(&random)
            let weight = [12, 52, 40][trial % 3], lambda = random.next(200_000)
            let levels = choose(coefficients, step: step, weight: weight, lambda: lambda, rate: rate)
            let plain = coefficients.map { Int($0) }
            var best = Int.max
            var assignment = [Int](repeating: 0, count: count)
            func search(_ k: Int) {
                if k == count {
                    best = min(best, referenceCost(levels: assignment, coefficients: plain, step: step, weight: weight, lambda: lambda, rate: rate))
                    return
                }
                let rounded = roundedLevel(plain[k], step: step, limit: 2047)
                for level in rounded - 1...rounded + 1 where dcLevelRange.contains(level) {
                    assignment[k] = level
                    search(k + 1)
                }
            }
            search(0)
            let cost = referenceCost(levels: levels, coefficients: plain, step: step, weight: weight, lambda: lambda, rate: rate)
            #expect(cost == best, "trial \(trial): the chain chosen costs \(cost), the best costs \(best)")
        }
    }

    /// The extremes of 8-bit DC at step 1 (black and white blocks side by side), and beyond them,
    /// with a large lambda: every level and every difference stays within what JPEG codes.
    @Test func extremeLevelsStayCodable() {
        let coefficients: [Int32] = (0..<40).map { [-16_384, 16_256, -20_000, 20_000][$0 % 4] }
        let flat = DCRateModel(counts: [Int](repeating: 1, count: DCRateModel.categories))
        let levels = choose(coefficients, step: 1, weight: 12, lambda: 1 << 30, rate: flat)
        var previous = 0
        for level in levels {
            #expect(dcLevelRange.contains(level))
            #expect(abs(level - previous) <= 2047)
            previous = level
        }
    }

    /// The encoder's own path: luma blocks of one level with two blocks one step above it. With a
    /// lambda worth more than a step's error the chain gives those two the level of the rest
    /// (rounding would cost a size-1 difference into each and out of it); with almost none, each
    /// block keeps its rounded level.
    @Test func theEncoderFlattensLoneSteps() throws {
        // Grey 142 is DC level 7 at quality 50 (step 16); 144 is level 8.
        let image = Fixtures.image(width: 128, height: 8) { x, _ in
            let v: UInt8 = x / 8 == 5 || x / 8 == 11 ? 144 : 142
            return [v, v, v]
        }
        let encoder = CoefficientEncoder(width: 128, height: 8, settings: JPEGSettings(quality: 50))
        func lumaDC(lambdaScale: Double) throws -> [Int] {
            let (blocks, _) = try encoder.quantise(image, quality: 50, tables: .standard, tuning: TrellisTuning(lambdaScale: lambdaScale))
            return (0..<16).map { Int(blocks[$0 * 64]) }
        }
        #expect(try lumaDC(lambdaScale: 1e-9) == (0..<16).map { $0 == 5 || $0 == 11 ? 8 : 7 })
        #expect(try lumaDC(lambdaScale: 0.5) == [Int](repeating: 7, count: 16))
    }

    /// Through libjpeg: at quality 100 (DC step 1) black and white blocks side by side encode with
    /// trellis and decode to the picture.
    @Test func blackAndWhiteBlocksEncodeAtStepOne() throws {
        let image = Fixtures.image(width: 64, height: 16) { x, _ in
            let white: UInt8 = (x / 8) % 2 == 0 ? 0 : 255
            return [white, white, white]
        }
        let jpeg = LibJPEG()
        for scans in [JPEGScans.baseline, .smallest] {
            let file = try jpeg.encode(image, settings: JPEGSettings(quality: 100, scans: scans, trellis: TrellisTuning()), segments: [])
            #expect(Metrics.psnr(image, try jpeg.decode(file, maxPixels: 1024)) > 40, "\(scans)")
        }
    }
}
