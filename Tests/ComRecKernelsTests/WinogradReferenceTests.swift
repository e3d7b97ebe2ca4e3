// The exact integer Winograd F(2x2, 3x3) reference against the direct reference: the same Int32
// accumulators (so the same bytes after requantisation) for random layers, the extremes that reach
// the documented bounds, odd sizes and tiles at the image edges.
import ComRecKernels
import Testing

@Suite struct WinogradReferenceTests {
    /// Direct and Winograd accumulators of one layer (stride 1).
    func accumulators(
        input: [UInt8], width: Int, height: Int, inChannels: Int, weights: [Int8], bias: [Int32], outChannels: Int,
        inputMax: Int = 127
    ) -> (direct: [Int32], winograd: [Int32]) {
        var direct = [Int32](repeating: 0, count: width * height * outChannels)
        var winograd = [Int32](repeating: -1, count: width * height * outChannels)
        var transformed = [Int16](repeating: 0, count: outChannels * 16 * inChannels)
        winogradWeightsF2x3(weights: weights, inChannels: inChannels, outChannels: outChannels, transformed: &transformed)
        conv3x3Reference(input: input, width: width, height: height, inChannels: inChannels, weights: weights, bias: bias,
                         outChannels: outChannels, stride: 1, accumulators: &direct)
        conv3x3WinogradReference(input: input, width: width, height: height, inChannels: inChannels,
                                 transformedWeights: transformed, bias: bias, outChannels: outChannels,
                                 inputMax: inputMax, accumulators: &winograd)
        return (direct, winograd)
    }

    /// SplitMix64-style bytes, reproducible everywhere.
    func random(_ count: Int, seed: UInt64, _ map: (UInt64) -> Int) -> [Int] {
        var state = seed
        return (0..<count).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return map(z ^ (z >> 31))
        }
    }

    @Test(arguments: [(1, 1, 4), (2, 3, 16), (5, 7, 16), (8, 8, 64), (17, 11, 64), (6, 1, 32), (1, 9, 16)])
    func randomLayersMatchTheDirectReference(width: Int, height: Int, inChannels: Int) throws {
        let outChannels = 16
        let seed = UInt64(width * 1000 + height * 10 + inChannels)
        let input = random(width * height * inChannels, seed: seed) { Int($0 % 128) }.map(UInt8.init)
        let weights = random(outChannels * 9 * inChannels, seed: seed + 1) { Int($0 % 255) - 127 }.map(Int8.init)
        let bias = random(outChannels, seed: seed + 2) { Int($0 % 20001) - 10000 }.map(Int32.init)
        let (direct, winograd) = accumulators(input: input, width: width, height: height, inChannels: inChannels,
                                              weights: weights, bias: bias, outChannels: outChannels)
        #expect(direct == winograd, "\(width)x\(height), \(inChannels) channels")
    }

    /// All inputs 127 with all weights +127 or -127, and alternating signs (which makes the
    /// transformed weights' middle entries reach 9 * 127 and the signed input sums 4 * 127), at the
    /// widest exact channel count for the layer sizes the networks use and at the bound itself.
    @Test(arguments: [64, 410])
    func extremesMatchTheDirectReference(inChannels: Int) throws {
        let width = 5, height = 4, outChannels = 4
        let input = [UInt8](repeating: 127, count: width * height * inChannels)
        let checkerboard = (0..<width * height * inChannels).map { (($0 / inChannels) % 2 == 0) ? UInt8(127) : 0 }
        let plus = [Int8](repeating: 127, count: outChannels * 9 * inChannels)
        let minus = [Int8](repeating: -127, count: outChannels * 9 * inChannels)
        let alternating = (0..<outChannels * 9 * inChannels).map { Int8($0 % 2 == 0 ? 127 : -127) }
        let bias = [Int32](repeating: 0, count: outChannels)
        for (name, data) in [("all 127", input), ("checkerboard", checkerboard)] {
            for (wname, weights) in [("+127", plus), ("-127", minus), ("alternating", alternating)] {
                let (direct, winograd) = accumulators(input: data, width: width, height: height, inChannels: inChannels,
                                                      weights: weights, bias: bias, outChannels: outChannels)
                #expect(direct == winograd, "\(name) inputs, \(wname) weights, \(inChannels) channels")
            }
        }
    }

    /// The first layer's range: 3 channels of 0...255.
    @Test func rgbInputMatchesTheDirectReference() {
        let width = 9, height = 7, inChannels = 3, outChannels = 16
        let input = random(width * height * inChannels, seed: 7) { Int($0 % 256) }.map(UInt8.init)
        let weights = random(outChannels * 9 * inChannels, seed: 8) { Int($0 % 255) - 127 }.map(Int8.init)
        let bias = random(outChannels, seed: 9) { Int($0 % 2001) - 1000 }.map(Int32.init)
        let (direct, winograd) = accumulators(input: input, width: width, height: height, inChannels: inChannels,
                                              weights: weights, bias: bias, outChannels: outChannels, inputMax: 255)
        #expect(direct == winograd)
    }

    /// The transformed weights stay within Int16 and the documented bound of 9 * 127.
    @Test func transformedWeightsReachButDoNotPassTheBound() {
        let weights = [Int8](repeating: 127, count: 9), alternating: [Int8] = [127, -127, 127, -127, 127, -127, 127, -127, 127]
        for w in [weights, alternating] {
            var u = [Int16](repeating: 0, count: 16)
            winogradWeightsF2x3(weights: w, inChannels: 1, outChannels: 1, transformed: &u)
            #expect(u.map { abs(Int($0)) }.max() == 9 * 127)
        }
    }

    /// The kernels' packed weights hold the reference's transform, in the layout
    /// `[out / 16][16 elements][in / 2 pairs][16][2]`, with zeros past the real channels.
    @Test(arguments: [(3, 16), (12, 64), (64, 64), (32, 12), (5, 17)])
    func packedWeightsHoldTheReferenceTransform(inChannels: Int, outChannels: Int) throws {
        let weights = random(outChannels * 9 * inChannels, seed: UInt64(inChannels * 1000 + outChannels)) {
            Int($0 % 255) - 127
        }.map { Int8($0) }
        var reference = [Int16](repeating: 0, count: outChannels * 16 * inChannels)
        winogradWeightsF2x3(weights: weights, inChannels: inChannels, outChannels: outChannels, transformed: &reference)
        let kin = (inChannels + 3) & ~3, kout = (outChannels + 15) / 16 * 16
        var packed = [Int16](repeating: 99, count: winogradWeightCount(inChannels: kin, outChannels: kout))
        weights.withUnsafeBufferPointer { w in
            packed.withUnsafeMutableBufferPointer { p in
                packWinogradWeights(inChannels: inChannels, outChannels: outChannels, canonical: w.baseAddress!, packed: p.baseAddress!)
            }
        }
        var mismatches = 0
        for co in 0..<kout {
            for e in 0..<16 {
                for ci in 0..<kin {
                    let index = (((co / 16) * 16 + e) * (kin / 2) + ci / 2) * 32 + (co % 16) * 2 + ci % 2
                    let expected = co < outChannels && ci < inChannels ? reference[(co * 16 + e) * inChannels + ci] : 0
                    if packed[index] != expected { mismatches += 1 }
                }
            }
        }
        #expect(mismatches == 0)
    }

    @Test func admitsExactlyTheLayersWhoseAccumulatorsFitInt32() {
        #expect(winogradF2x3Admits(inChannels: 410) && !winogradF2x3Admits(inChannels: 411))
        #expect(winogradF2x3Admits(inChannels: 204, inputMax: 255) && !winogradF2x3Admits(inChannels: 205, inputMax: 255))
        #expect(winogradF2x3Admits(inChannels: 64))
    }
}

/// The measured choice of algorithm (ConvAlgorithmTable) and the policies that override it.
@Suite struct ConvAlgorithmTableTests {
    /// A packed layer of the given shape (Winograd weights where it admits them).
    func layer(_ kind: ConvLayerKind, _ inChannels: Int, stride: Int = 1) -> Conv3x3Packed {
        let weights = [Int8](repeating: 1, count: 16 * 9 * inChannels)
        let bias = [Int32](repeating: 0, count: 16), multipliers = [Float](repeating: 1, count: 16)
        return weights.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                multipliers.withUnsafeBufferPointer { m in
                    Conv3x3Packed.allocate(packing: Conv3x3Canonical(
                        kind: kind, inChannels: inChannels, outChannels: 16, stride: stride,
                        weights: w.baseAddress!, bias: b.baseAddress!, multipliers: m.baseAddress!))
                }
            }
        }
    }

    @Test func onlyStrideOneHiddenLayersWithinTheBoundGetWinogradWeights() {
        let admitted = [layer(.conv3x3, 64), layer(.conv3x3, 408)]
        let refused = [layer(.conv3x3, 64, stride: 2), layer(.firstConv3x3, 3), layer(.lastConv3x3Residual, 64), layer(.conv3x3, 412)]
        defer { for l in admitted + refused { l.deallocate() } }
        #expect(admitted.allSatisfy { $0.winogradWeights != nil })
        #expect(refused.allSatisfy { $0.winogradWeights == nil })
    }

    @Test func theTableChoosesPerFamilyAndChannelCount() {
        let wide = layer(.conv3x3, 64), narrow = layer(.conv3x3, 16), strided = layer(.conv3x3, 64, stride: 2)
        defer { wide.deallocate(); narrow.deallocate(); strided.deallocate() }
        // Each choice follows its measurement: Winograd exactly where it measured faster.
        for m in ConvAlgorithmTable.measurements {
            let family = m.family.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
            let probe = m.inChannels == 16 ? narrow : wide
            guard m.inChannels == 16 || m.inChannels == 64 else { continue }
            #expect(ConvAlgorithmTable.choice(family: family, layer: probe) == (m.winograd > m.direct ? .winogradF2x3 : .direct),
                    "\(family) \(m.inChannels) channels")
        }
        #expect(ConvAlgorithmTable.choice(family: "avx512vnni", layer: wide) == .direct, "no measurement: direct")
        #expect(ConvAlgorithmTable.choice(family: "avx2", layer: strided) == .direct, "stride 2 has no Winograd")
    }

    @Test func policiesOverrideTheTable() {
        let layers = [layer(.firstConv3x3, 3), layer(.conv3x3, 64), layer(.conv3x3, 64, stride: 2), layer(.lastConv3x3Residual, 64)]
        defer { for l in layers { l.deallocate() } }
        #expect(ConvAlgorithmPolicy.direct.algorithms(for: layers, family: "avx2") == [.direct, .direct, .direct, .direct])
        #expect(ConvAlgorithmPolicy.winograd.algorithms(for: layers, family: "avx512vnni") == [.direct, .winogradF2x3, .direct, .direct])
    }
}
