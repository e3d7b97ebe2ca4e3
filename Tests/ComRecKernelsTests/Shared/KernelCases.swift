// Deterministic kernel test cases, shared by the Swift test harness (Conv3x3KernelTests: x86, every ISA the CPU has) and
// the Embedded Swift driver that scripts/embedded-aarch64.sh runs under qemu (NEON, NEON dot,
// portable). Both print or check one FNV-1a hash per case; Fixtures/kernels/conv3x3-hashes.txt holds the
// hashes the scalar reference gives, so x86 and aarch64 are tied to the same bytes.
// Embedded-safe: no Foundation, no existentials.
import ComRecKernels

/// SplitMix64: a small, fully specified generator, identical on every platform.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in lo...hi.
    mutating func int(_ lo: Int, _ hi: Int) -> Int { lo + Int(next() % UInt64(hi - lo + 1)) }
    /// Uniform in [0, 1) with 24 bits.
    mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) }
}

/// How a case fills its inputs or weights: random, all the maximum (127, or 255 for the RGB8
/// input), all the minimum (0 inputs, -127 weights), or alternating: weights +127 and -127 on a
/// checkerboard of the 3x3 taps, inputs the maximum and 0 on a checkerboard of pixels (the fills
/// that make the Winograd transforms' intermediate values largest).
enum Fill { case random, high, low, alternating }

/// One convolution layer test: a shape, a fill, and a seed.
struct KernelCase {
    var name: StaticString
    var kind: ConvLayerKind
    var inChannels: Int
    var outChannels: Int
    var stride: Int
    var width: Int
    var height: Int
    var input: Fill = .random
    var weights: Fill = .random
    /// Power-of-two multipliers put many products exactly on .5: round-half-even is exercised.
    var tieMultipliers = false
    var seed: UInt64 = 1
}

let kernelCases: [KernelCase] = [
    KernelCase(name: "hidden64_13x5", kind: .conv3x3, inChannels: 64, outChannels: 64, stride: 1, width: 13, height: 5),
    KernelCase(name: "hidden64_1x1", kind: .conv3x3, inChannels: 64, outChannels: 64, stride: 1, width: 1, height: 1, seed: 2),
    KernelCase(name: "hidden64_25x3", kind: .conv3x3, inChannels: 64, outChannels: 64, stride: 1, width: 25, height: 3, seed: 3),
    KernelCase(name: "hidden64_stride2_9x7", kind: .conv3x3, inChannels: 64, outChannels: 64, stride: 2, width: 9, height: 7, seed: 4),
    KernelCase(name: "hidden64_stride2_14x4", kind: .conv3x3, inChannels: 64, outChannels: 64, stride: 2, width: 14, height: 4, seed: 5),
    KernelCase(name: "hidden64_all127", kind: .conv3x3, inChannels: 64, outChannels: 64, stride: 1, width: 8, height: 3, input: .high, weights: .high, seed: 6),
    KernelCase(name: "hidden64_all127_weightsMinus127", kind: .conv3x3, inChannels: 64, outChannels: 64, stride: 1, width: 8, height: 3, input: .high, weights: .low, seed: 7),
    KernelCase(name: "hidden64_ties", kind: .conv3x3, inChannels: 64, outChannels: 64, stride: 1, width: 7, height: 4, tieMultipliers: true, seed: 8),
    KernelCase(name: "first_9x6", kind: .firstConv3x3, inChannels: 3, outChannels: 64, stride: 1, width: 9, height: 6, seed: 9),
    KernelCase(name: "first_all255", kind: .firstConv3x3, inChannels: 3, outChannels: 64, stride: 1, width: 7, height: 2, input: .high, weights: .high, seed: 10),
    KernelCase(name: "first_all255_weightsMinus127", kind: .firstConv3x3, inChannels: 3, outChannels: 64, stride: 1, width: 7, height: 2, input: .high, weights: .low, seed: 11),
    KernelCase(name: "last3_11x3", kind: .lastConv3x3Residual, inChannels: 64, outChannels: 3, stride: 1, width: 11, height: 3, seed: 12),
    KernelCase(name: "last12_10x2", kind: .lastConv3x3PixelShuffleResidual, inChannels: 64, outChannels: 12, stride: 1, width: 10, height: 2, seed: 13),
    KernelCase(name: "last3_all127", kind: .lastConv3x3Residual, inChannels: 64, outChannels: 3, stride: 1, width: 9, height: 2, input: .high, weights: .low, seed: 14),
    KernelCase(name: "narrow8to32_17x5", kind: .conv3x3, inChannels: 8, outChannels: 32, stride: 1, width: 17, height: 5, seed: 15),
    KernelCase(name: "odd5to48_stride2_11x5", kind: .conv3x3, inChannels: 5, outChannels: 48, stride: 2, width: 11, height: 5, seed: 16),
    KernelCase(name: "wide64to128_7x2", kind: .conv3x3, inChannels: 64, outChannels: 128, stride: 1, width: 7, height: 2, seed: 17),
    KernelCase(name: "hidden64_all127_alternating", kind: .conv3x3, inChannels: 64, outChannels: 32, stride: 1, width: 5, height: 5, input: .high, weights: .alternating, seed: 18),
    KernelCase(name: "wide256to16_all127", kind: .conv3x3, inChannels: 256, outChannels: 16, stride: 1, width: 6, height: 3, input: .high, weights: .high, seed: 19),
    KernelCase(name: "wide408to16_all127", kind: .conv3x3, inChannels: 408, outChannels: 16, stride: 1, width: 5, height: 4, input: .high, weights: .high, seed: 22),
    KernelCase(name: "wide408to16_checkerboards", kind: .conv3x3, inChannels: 408, outChannels: 16, stride: 1, width: 5, height: 4, input: .alternating, weights: .alternating, seed: 23),
    KernelCase(name: "hidden32_1x2", kind: .conv3x3, inChannels: 32, outChannels: 32, stride: 1, width: 1, height: 2, seed: 20),
    KernelCase(name: "hidden32_14x1", kind: .conv3x3, inChannels: 32, outChannels: 32, stride: 1, width: 14, height: 1, seed: 21),
] + randomKernelCases(count: 8, seed: 1000)

/// Random shapes: channels, stride and odd sizes drawn from a fixed seed.
func randomKernelCases(count: Int, seed: UInt64) -> [KernelCase] {
    var rng = SplitMix64(seed: seed)
    var cases: [KernelCase] = []
    let inChoices = [4, 12, 16, 64], outChoices = [16, 32, 64, 80, 128]
    for i in 0..<count {
        cases.append(KernelCase(
            name: "random", kind: .conv3x3,
            inChannels: inChoices[rng.int(0, 3)], outChannels: outChoices[rng.int(0, 4)],
            stride: rng.int(1, 2), width: rng.int(1, 31), height: rng.int(1, 6),
            seed: seed + UInt64(i) + 1))
    }
    return cases
}

/// The tensors of a case, in canonical layouts.
struct CaseData {
    var input: [UInt8]  // height x width x inChannels
    var weights: [Int8]  // [cout][3][3][cin]
    var bias: [Int32]
    var multipliers: [Float]
}

func makeCaseData(_ c: KernelCase) -> CaseData {
    var rng = SplitMix64(seed: c.seed)
    let inMax = c.kind == .firstConv3x3 ? 255 : 127
    var input = [UInt8](repeating: 0, count: c.width * c.height * c.inChannels)
    for i in 0..<input.count {
        switch c.input {
        case .random: input[i] = UInt8(rng.int(0, inMax))
        case .high: input[i] = UInt8(inMax)
        case .low: input[i] = 0
        case .alternating:
            let pixel = i / c.inChannels
            input[i] = (pixel % c.width + pixel / c.width) % 2 == 0 ? UInt8(inMax) : 0
        }
    }
    var weights = [Int8](repeating: 0, count: c.outChannels * 9 * c.inChannels)
    for i in 0..<weights.count {
        switch c.weights {
        case .random: weights[i] = Int8(rng.int(-127, 127))
        case .high: weights[i] = 127
        case .low: weights[i] = -127
        case .alternating: weights[i] = (i / c.inChannels) % 9 % 2 == 0 ? 127 : -127
        }
    }
    var bias = [Int32](repeating: 0, count: c.outChannels)
    var multipliers = [Float](repeating: 0, count: c.outChannels)
    // Scale so that outputs spread over the requantised range: |acc| is about
    // 74 * (inMax / 2) * sqrt(9 * cin) for random data, 9 * cin * inMax * 127 for extreme fills.
    let terms = Float(9 * c.inChannels)
    let typical = c.input == .random && c.weights == .random
        ? 74 * Float(inMax) / 2 * terms.squareRoot() : terms * Float(inMax) * 127
    for i in 0..<c.outChannels {
        bias[i] = Int32(rng.int(-2000, 2000)) * Int32(c.inChannels)
        multipliers[i] = c.tieMultipliers ? 1 / Float(1 << rng.int(6, 10)) : (40 + 200 * rng.unit()) / typical
    }
    return CaseData(input: input, weights: weights, bias: bias, multipliers: multipliers)
}

/// The case's expected output bytes by the scalar reference: requantised U7 bytes (all layers,
/// ReLU epilogue) followed by the raw Int32 accumulators as little-endian bytes.
func referenceOutput(_ c: KernelCase, _ d: CaseData) -> [UInt8] {
    let ow = (c.width + c.stride - 1) / c.stride, oh = (c.height + c.stride - 1) / c.stride
    let n = ow * oh * c.outChannels
    var acc = [Int32](repeating: 0, count: n)
    var q = [UInt8](repeating: 0, count: n)
    d.input.withUnsafeBufferPointer { input in
        d.weights.withUnsafeBufferPointer { w in
            d.bias.withUnsafeBufferPointer { b in
                acc.withUnsafeMutableBufferPointer { a in
                    conv3x3Reference(
                        input: input.baseAddress!, width: c.width, height: c.height, inChannels: c.inChannels,
                        weights: w.baseAddress!, bias: b.baseAddress!, outChannels: c.outChannels,
                        stride: c.stride, accumulators: a.baseAddress!)
                }
            }
        }
    }
    acc.withUnsafeBufferPointer { a in
        d.multipliers.withUnsafeBufferPointer { m in
            q.withUnsafeMutableBufferPointer { o in
                requantizeU7Reference(
                    accumulators: a.baseAddress!, pixels: ow * oh, channels: c.outChannels,
                    multipliers: m.baseAddress!, output: o.baseAddress!)
            }
        }
    }
    return q + littleEndianBytes(acc)
}

func littleEndianBytes(_ values: [Int32]) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(values.count * 4)
    for v in values {
        let u = UInt32(bitPattern: v)
        bytes.append(UInt8(truncatingIfNeeded: u))
        bytes.append(UInt8(truncatingIfNeeded: u >> 8))
        bytes.append(UInt8(truncatingIfNeeded: u >> 16))
        bytes.append(UInt8(truncatingIfNeeded: u >> 24))
    }
    return bytes
}

/// The same output computed row by row with a kernel family, on padded rows and packed weights.
func kernelOutput(_ c: KernelCase, _ d: CaseData, conv: (Conv3x3Row) -> Void) -> [UInt8] {
    let kin = kernelInChannels(kind: c.kind, inChannels: c.inChannels)
    let kout = paddedOutChannels(c.outChannels)
    let ow = (c.width + c.stride - 1) / c.stride, oh = (c.height + c.stride - 1) / c.stride
    // Padded input rows (one zero pixel each side), first layer expanded to 12 channels.
    let rowBytes = (c.width + 2) * kin
    var padded = [UInt8](repeating: 0, count: c.height * rowBytes)
    let zero = [UInt8](repeating: 0, count: rowBytes)
    for y in 0..<c.height {
        for x in 0..<c.width {
            for ch in 0..<c.inChannels {
                let v = d.input[(y * c.width + x) * c.inChannels + ch]
                let at = y * rowBytes + (x + 1) * kin
                if c.kind == .firstConv3x3 {
                    padded[at + ch] = v >> 1
                    padded[at + 4 + ch] = v >> 1
                    padded[at + 8 + ch] = v & 1
                } else {
                    padded[at + ch] = v
                }
            }
        }
    }
    var packed = [Int8](repeating: 0, count: packedWeightCount(kind: c.kind, inChannels: c.inChannels, outChannels: c.outChannels))
    var bias = [Int32](repeating: 0, count: kout)
    var multipliers = [Float](repeating: 0, count: kout)
    d.weights.withUnsafeBufferPointer { w in
        packed.withUnsafeMutableBufferPointer { p in
            packConv3x3Weights(kind: c.kind, inChannels: c.inChannels, outChannels: c.outChannels,
                               canonical: w.baseAddress!, packed: p.baseAddress!)
        }
    }
    d.bias.withUnsafeBufferPointer { b in
        d.multipliers.withUnsafeBufferPointer { m in
            bias.withUnsafeMutableBufferPointer { pb in
                multipliers.withUnsafeMutableBufferPointer { pm in
                    padConv3x3Parameters(outChannels: c.outChannels, bias: b.baseAddress!, multipliers: m.baseAddress!,
                                         paddedBias: pb.baseAddress!, paddedMultipliers: pm.baseAddress!)
                }
            }
        }
    }
    var q = [UInt8](repeating: 0, count: ow * oh * c.outChannels)
    var acc = [Int32](repeating: 0, count: ow * oh * c.outChannels)
    // Kernel outputs carry kout channels per pixel; a guard zone after each row catches overruns.
    let guardBytes = 64
    var qRow = [UInt8](repeating: 0xA5, count: ow * kout + guardBytes)
    var accRow = [Int32](repeating: 0, count: ow * kout + guardBytes)
    padded.withUnsafeBufferPointer { input in
        zero.withUnsafeBufferPointer { z in
            packed.withUnsafeBufferPointer { w in
                bias.withUnsafeBufferPointer { b in
                    multipliers.withUnsafeBufferPointer { m in
                        for y in 0..<oh {
                            var rows = (z.baseAddress!, z.baseAddress!, z.baseAddress!)
                            for ky in 0..<3 {
                                let iy = c.stride * y + ky - 1
                                if iy < 0 || iy >= c.height { continue }
                                let p = input.baseAddress! + iy * rowBytes
                                if ky == 0 { rows.0 = p } else if ky == 1 { rows.1 = p } else { rows.2 = p }
                            }
                            for requantize in [true, false] {
                                func row(_ out: UnsafeMutableRawPointer) -> Conv3x3Row {
                                    Conv3x3Row(
                                        row0: rows.0, row1: rows.1, row2: rows.2, inChannels: kin, outChannels: kout,
                                        stride: c.stride, width: ow, weights: w.baseAddress!, bias: b.baseAddress!,
                                        multipliers: m.baseAddress!, output: out, requantize: requantize)
                                }
                                if requantize {
                                    qRow.withUnsafeMutableBytes { conv(row($0.baseAddress!)) }
                                } else {
                                    accRow.withUnsafeMutableBytes { conv(row($0.baseAddress!)) }
                                }
                            }
                            for x in 0..<ow {
                                for ch in 0..<c.outChannels {
                                    q[(y * ow + x) * c.outChannels + ch] = qRow[x * kout + ch]
                                    acc[(y * ow + x) * c.outChannels + ch] = accRow[x * kout + ch]
                                }
                            }
                            for i in (ow * kout)..<(ow * kout + guardBytes) where qRow[i] != 0xA5 {
                                q[0] = 0xFF  // an overrun poisons the output, so the hash differs
                            }
                        }
                    }
                }
            }
        }
    }
    return q + littleEndianBytes(acc)
}

/// Whether a Winograd kernel computes the case: a stride-1 hidden layer within the exactness bound.
func winogradApplies(_ c: KernelCase) -> Bool {
    Conv3x3Packed.admitsWinograd(kind: c.kind, inChannels: c.inChannels, stride: c.stride)
}

/// The same output computed two rows at a time with a Winograd F(2x2, 3x3) kernel, on padded rows
/// and packed Winograd weights, in `referenceOutput`'s format. Only for `winogradApplies` cases.
func winogradKernelOutput(_ c: KernelCase, _ d: CaseData, conv: (Conv3x3RowPair) -> Void) -> [UInt8] {
    let kin = kernelInChannels(kind: c.kind, inChannels: c.inChannels)
    let kout = paddedOutChannels(c.outChannels)
    let (w, h) = (c.width, c.height)
    let rowBytes = (w + 2) * kin
    // One zero row above and below the padded image, so that rows -1 and height are in the array.
    var padded = [UInt8](repeating: 0, count: (h + 3) * rowBytes)
    for y in 0..<h {
        for x in 0..<w {
            for ch in 0..<c.inChannels { padded[(y + 1) * rowBytes + (x + 1) * kin + ch] = d.input[(y * w + x) * c.inChannels + ch] }
        }
    }
    var packed = [Int16](repeating: 0, count: winogradWeightCount(inChannels: kin, outChannels: kout))
    d.weights.withUnsafeBufferPointer { cw in
        packed.withUnsafeMutableBufferPointer { p in
            packWinogradWeights(inChannels: c.inChannels, outChannels: c.outChannels, canonical: cw.baseAddress!, packed: p.baseAddress!)
        }
    }
    var bias = [Int32](repeating: 0, count: kout), multipliers = [Float](repeating: 0, count: kout)
    for i in 0..<c.outChannels {
        bias[i] = d.bias[i]
        multipliers[i] = d.multipliers[i]
    }
    var q = [UInt8](repeating: 0, count: w * h * c.outChannels)
    var acc = [Int32](repeating: 0, count: w * h * c.outChannels)
    // Two output rows per call, each followed by a guard zone that catches overruns.
    let guardBytes = 64, qStride = w * kout + guardBytes, accStride = w * kout + guardBytes / 4
    var qRows = [UInt8](repeating: 0xA5, count: 2 * qStride)
    var accRows = [Int32](repeating: 0, count: 2 * accStride)
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: winogradScratchBytes(inChannels: kin), alignment: 64)
    defer { scratch.deallocate() }
    scratch.initializeMemory(as: UInt8.self, repeating: 0x5A, count: winogradScratchBytes(inChannels: kin))  // no zeros to rely on
    padded.withUnsafeBufferPointer { input in
        packed.withUnsafeBufferPointer { pw in
            bias.withUnsafeBufferPointer { b in
                multipliers.withUnsafeBufferPointer { m in
                    var y = 0
                    while y < h {
                        let row = { (i: Int) in input.baseAddress! + (y + i) * rowBytes }  // padded row y - 1 + i
                        for requantize in [true, false] {
                            func pair(_ out: UnsafeMutableRawPointer, _ stride: Int) -> Conv3x3RowPair {
                                Conv3x3RowPair(
                                    row0: row(0), row1: row(1), row2: row(2), row3: row(3),
                                    inChannels: kin, outChannels: kout, width: w, weights: pw.baseAddress!,
                                    bias: b.baseAddress!, multipliers: m.baseAddress!,
                                    output0: out, output1: out + stride, requantize: requantize, scratch: scratch)
                            }
                            if requantize {
                                qRows.withUnsafeMutableBytes { conv(pair($0.baseAddress!, qStride)) }
                            } else {
                                accRows.withUnsafeMutableBytes { conv(pair($0.baseAddress!, 4 * accStride)) }
                            }
                        }
                        for dy in 0..<min(2, h - y) {
                            for x in 0..<w {
                                for ch in 0..<c.outChannels {
                                    q[((y + dy) * w + x) * c.outChannels + ch] = qRows[dy * qStride + x * kout + ch]
                                    acc[((y + dy) * w + x) * c.outChannels + ch] = accRows[dy * accStride + x * kout + ch]
                                }
                            }
                        }
                        for dy in 0..<2 {
                            for i in (w * kout)..<qStride where qRows[dy * qStride + i] != 0xA5 {
                                q[0] = 0xFF  // an overrun poisons the output, so the hash differs
                            }
                            for i in (w * kout)..<accStride where accRows[dy * accStride + i] != 0 {
                                q[0] = 0xFF
                            }
                        }
                        y += 2
                    }
                }
            }
        }
    }
    return q + littleEndianBytes(acc)
}

/// FNV-1a, 64 bits.
func fnv1a(_ bytes: [UInt8]) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    return h
}

/// Lowercase hexadecimal, 16 digits (Embedded-safe: no String(format:)).
func hex16(_ v: UInt64) -> String {
    let digits: [UInt8] = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]
    var s = ""
    for i in 0..<16 {
        let d = Int((v >> UInt64(60 - 4 * i)) & 0xF)
        s.append(Character(Unicode.Scalar(digits[d])))
    }
    return s
}
