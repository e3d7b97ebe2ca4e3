// Embedded Swift test driver for aarch64 (scripts/embedded-aarch64.sh builds it with the
// ComRecKernels sources and Tests/ComRecKernelsTests/Shared/KernelCases.swift, links it with
// Debian's cross gcc and runs it under qemu-aarch64). For every kernel family of this build it
// prints one line per case, "<family> <index> <name> <hash>", which the script compares with
// Fixtures/kernels/conv3x3-hashes.txt (made by the x86 reference), then runs a small network with
// the tile plan (NetworkTilePlan) against the whole-image reference.
import ComRecKernels

func name(_ s: StaticString) -> String {
    s.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
}

func printCases(_ family: String, _ conv: (Conv3x3Row) -> Void) {
    for i in 0..<kernelCases.count {
        let c = kernelCases[i]
        let hash = fnv1a(kernelOutput(c, makeCaseData(c), conv: conv))
        print(family + " " + String(i) + " " + name(c.name) + " " + hex16(hash))
    }
}

/// The family's Winograd kernel on the cases it applies to, as "<family>-winograd <index> <name>
/// <hash>" lines: the same hashes as the fixture's lines for those cases.
func printWinogradCases(_ family: String, _ conv: (Conv3x3RowPair) -> Void) {
    for i in 0..<kernelCases.count where winogradApplies(kernelCases[i]) {
        let c = kernelCases[i]
        let hash = fnv1a(winogradKernelOutput(c, makeCaseData(c), conv: conv))
        print(family + "-winograd " + String(i) + " " + name(c.name) + " " + hex16(hash))
    }
}

/// A 4-layer pixel-shuffle network and a 3-layer ComCNN-like one on odd sizes, tile heights 1, 3
/// and whole-image, against runNetworkReference. Returns false on any difference.
func checkNetworks<K: Conv3x3Kernel>(_ kernel: K.Type, _ family: String) -> Bool {
    var ok = true
    let shapes: [[(ConvLayerKind, Int, Int, Int)]] = [
        [(.firstConv3x3, 3, 64, 1), (.conv3x3, 64, 64, 1), (.conv3x3, 64, 64, 1), (.lastConv3x3PixelShuffleResidual, 64, 12, 1)],
        [(.firstConv3x3, 3, 64, 1), (.conv3x3, 64, 64, 2), (.lastConv3x3Residual, 64, 3, 1)],
    ]
    for (s, shape) in shapes.enumerated() {
        var rng = SplitMix64(seed: 77 + UInt64(s))
        var weights: [[Int8]] = [], biases: [[Int32]] = [], multipliers: [[Float]] = []
        for (_, cin, cout, _) in shape {
            var w = [Int8](repeating: 0, count: cout * 9 * cin)
            for i in 0..<w.count { w[i] = Int8(rng.int(-127, 127)) }
            var b = [Int32](repeating: 0, count: cout), m = [Float](repeating: 0, count: cout)
            for i in 0..<cout {
                b[i] = Int32(rng.int(-60000, 60000))
                m[i] = (0.3 + rng.unit()) * 120 / (74 * 127 / 2 * Float(9 * cin).squareRoot())
            }
            weights.append(w); biases.append(b); multipliers.append(m)
        }
        let width = 11, height = 7
        var ow = width, oh = height
        for (kind, _, _, stride) in shape {
            ow = (ow + stride - 1) / stride; oh = (oh + stride - 1) / stride
            if kind == .lastConv3x3PixelShuffleResidual { ow *= 2; oh *= 2 }
        }
        var input = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<input.count { input[i] = UInt8(rng.int(0, 255)) }
        var base = [UInt8](repeating: 0, count: ow * oh * 3)
        for i in 0..<base.count { base[i] = UInt8(rng.int(0, 255)) }
        // Canonical and packed layers point into the arrays above, which outlive every use here.
        var canonical: [Conv3x3Canonical] = []
        for l in 0..<shape.count {
            let (kind, cin, cout, stride) = shape[l]
            canonical.append(Conv3x3Canonical(
                kind: kind, inChannels: cin, outChannels: cout, stride: stride,
                weights: weights[l].withUnsafeBufferPointer { $0.baseAddress! },
                bias: biases[l].withUnsafeBufferPointer { $0.baseAddress! },
                multipliers: multipliers[l].withUnsafeBufferPointer { $0.baseAddress! }))
        }
        var packed: [Conv3x3Packed] = []
        for layer in canonical { packed.append(Conv3x3Packed.allocate(packing: layer)) }
        var expected = [UInt8](repeating: 0, count: ow * oh * 3)
        input.withUnsafeBufferPointer { i in
            base.withUnsafeBufferPointer { b in
                expected.withUnsafeMutableBufferPointer { e in
                    runNetworkReference(layers: canonical, input: i.baseAddress!, width: width, height: height,
                                        base: b.baseAddress!, output: e.baseAddress!, outputWidth: ow, outputHeight: oh)
                }
                for (tile, algorithm) in [(1, ConvAlgorithm.direct), (3, .direct), (0, .direct), (1, .winogradF2x3), (0, .winogradF2x3)] {
                    var actual = [UInt8](repeating: 0x55, count: ow * oh * 3)
                    actual.withUnsafeMutableBufferPointer { a in
                        let run = NetworkTilePlan(
                            layers: packed, input: i.baseAddress!, inputWidth: width, inputHeight: height,
                            base: b.baseAddress!, output: a.baseAddress!, outputWidth: ow, outputHeight: oh,
                            tileHeight: tile, algorithms: packed.map { $0.winogradWeights != nil ? algorithm : .direct })
                        let scratch = UnsafeMutableRawPointer.allocate(byteCount: run.scratchBytes, alignment: 64)
                        for t in 0..<run.tileCount { run.runTile(t, scratch: scratch, kernel: K.self) }
                        scratch.deallocate()
                    }
                    let same = actual == expected
                    if !same { ok = false }
                    print(family + " network " + String(s) + " tile " + String(tile) + " " + algorithm.name + (same ? " ok" : " DIFFERS"))
                }
            }
        }
        for layer in packed { layer.deallocate() }
    }
    return ok
}

@main
struct EmbeddedKernelDriver {
    static func main() {
        var ok = true
        for i in 0..<kernelCases.count {
            let c = kernelCases[i]
            print("reference " + String(i) + " " + name(c.name) + " " + hex16(fnv1a(referenceOutput(c, makeCaseData(c)))))
        }
        printCases("portable", PortableConv3x3.conv3x3)
        printWinogradCases("portable", PortableConv3x3.conv3x3WinogradF2x3)
        ok = checkNetworks(PortableConv3x3.self, "portable") && ok
        #if arch(arm64)
        printCases("neon", NeonConv3x3.conv3x3)
        printWinogradCases("neon", NeonConv3x3.conv3x3WinogradF2x3)
        ok = checkNetworks(NeonConv3x3.self, "neon") && ok
        #if COMREC_NEON_DOT
        printCases("neondot", NeonDotConv3x3.conv3x3)
        ok = checkNetworks(NeonDotConv3x3.self, "neondot") && ok
        #endif
        #endif
        print(ok ? "networks: all equal to the reference" : "networks: DIFFERENCES")
    }
}
