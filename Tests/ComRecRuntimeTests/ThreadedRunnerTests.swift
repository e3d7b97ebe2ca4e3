// The tiled, threaded runner against a whole-image run of the scalar reference: random weights,
// the three network shapes ComRec ships (paper RecCNN, fast pixel-shuffle RecCNN, ComCNN with a
// stride-2 layer), odd sizes, images smaller than a tile, several tile heights and thread counts,
// every kernel family the CPU supports, direct and Winograd.
import ComRecKernels
import ComRecRuntime
import Foundation
import Testing

/// A random network in canonical form, owning its memory.
final class RandomNetwork {
    let canonical: [Conv3x3Canonical]
    let packed: [Conv3x3Packed]
    private var storage: [UnsafeMutableRawPointer] = []

    /// `shape`: (kind, inChannels, outChannels, stride) per layer.
    init(_ shape: [(ConvLayerKind, Int, Int, Int)], seed: UInt64) {
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var layers: [Conv3x3Canonical] = []
        var owned: [UnsafeMutableRawPointer] = []
        for (kind, cin, cout, stride) in shape {
            let w = UnsafeMutablePointer<Int8>.allocate(capacity: cout * 9 * cin)
            for i in 0..<(cout * 9 * cin) { w[i] = Int8(Int(next() % 255) - 127) }
            let b = UnsafeMutablePointer<Int32>.allocate(capacity: cout)
            let m = UnsafeMutablePointer<Float>.allocate(capacity: cout)
            let inMax: Float = kind == .firstConv3x3 ? 255 : 127
            let typical = 74 * inMax / 2 * Float(9 * cin).squareRoot()
            let target: Float = kind == .conv3x3 || kind == .firstConv3x3 ? 120 : 300
            for c in 0..<cout {
                b[c] = Int32(Int(next() % 4001) - 2000) * Int32(cin)
                m[c] = target * (0.3 + Float(next() % 1000) / 1000) / typical
            }
            owned += [UnsafeMutableRawPointer(w), UnsafeMutableRawPointer(b), UnsafeMutableRawPointer(m)]
            layers.append(Conv3x3Canonical(kind: kind, inChannels: cin, outChannels: cout, stride: stride,
                                           weights: w, bias: b, multipliers: m))
        }
        canonical = layers
        packed = layers.map { Conv3x3Packed.allocate(packing: $0) }
        storage = owned
    }

    deinit {
        for p in packed { p.deallocate() }
        for p in storage { p.deallocate() }
    }
}

func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 56)
    }
}

@Suite struct ThreadedRunnerTests {
    static let paperLike: [(ConvLayerKind, Int, Int, Int)] =
        [(.firstConv3x3, 3, 64, 1), (.conv3x3, 64, 64, 1), (.conv3x3, 64, 64, 1), (.lastConv3x3Residual, 64, 3, 1)]
    static let fastLike: [(ConvLayerKind, Int, Int, Int)] =
        [(.firstConv3x3, 3, 64, 1), (.conv3x3, 64, 64, 1), (.lastConv3x3PixelShuffleResidual, 64, 12, 1)]
    static let comCNN: [(ConvLayerKind, Int, Int, Int)] =
        [(.firstConv3x3, 3, 64, 1), (.conv3x3, 64, 64, 2), (.lastConv3x3Residual, 64, 3, 1)]

    /// Runs `shape` on a `width x height` image, reference vs the threaded runner, over the grid of settings.
    func check(_ shape: [(ConvLayerKind, Int, Int, Int)], width: Int, height: Int, crop: Int = 0,
               tileHeights: [Int], threadCounts: [Int], isas: [KernelISA] = KernelISA.supported,
               seed: UInt64, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let network = RandomNetwork(shape, seed: seed)
        var ow = width, oh = height
        for (kind, _, _, stride) in shape {
            ow = (ow + stride - 1) / stride
            oh = (oh + stride - 1) / stride
            if kind == .lastConv3x3PixelShuffleResidual { ow *= 2; oh *= 2 }
        }
        ow -= crop
        oh -= crop
        let input = randomBytes(width * height * 3, seed: seed &+ 1)
        let base = randomBytes(ow * oh * 3, seed: seed &+ 2)
        var expected = [UInt8](repeating: 0, count: ow * oh * 3)
        runNetworkReference(layers: network.canonical, input: input, width: width, height: height,
                            base: base, output: &expected, outputWidth: ow, outputHeight: oh)
        for threads in threadCounts {
            let pool = ThreadPool(threads: threads)
            for isa in isas {
                for tile in tileHeights {
                    for algorithms in [ConvAlgorithmPolicy.direct, .winograd] {
                        let runner = NetworkRunner.threaded(pool: pool, isa: isa, tileHeight: tile, algorithms: algorithms)
                        var actual = [UInt8](repeating: 0x55, count: ow * oh * 3)
                        try runner.run(layers: network.packed, input: input, inputWidth: width, inputHeight: height,
                                   base: base, output: &actual, outputWidth: ow, outputHeight: oh)
                        let matches = actual == expected  // a Bool: a failure does not print both images
                        #expect(matches,
                                "\(isa.rawValue) \(algorithms.name), \(threads) threads, tile \(tile), \(width)x\(height): differs from the reference",
                                sourceLocation: sourceLocation)
                    }
                }
            }
        }
    }

    @Test func paperShape() throws {
        try check(Self.paperLike, width: 17, height: 11, tileHeights: [0, 1, 6], threadCounts: [1, 2], seed: 11)
        try check(Self.paperLike, width: 23, height: 17, tileHeights: [4, 100], threadCounts: [3], isas: [KernelISA.best], seed: 19)
    }

    /// Winograd layers of different channel counts share one scratch per thread; odd widths make
    /// each of them read its zero column past the row.
    @Test func mixedChannelCountsOddWidth() throws {
        let shape: [(ConvLayerKind, Int, Int, Int)] =
            [(.firstConv3x3, 3, 32, 1), (.conv3x3, 32, 64, 1), (.conv3x3, 64, 32, 1), (.conv3x3, 32, 48, 1), (.lastConv3x3Residual, 48, 3, 1)]
        try check(shape, width: 15, height: 9, tileHeights: [0, 2], threadCounts: [1, 2], seed: 21)
    }

    @Test func fastPixelShuffleShape() throws {
        try check(Self.fastLike, width: 13, height: 9, tileHeights: [0, 2, 5], threadCounts: [1, 2], seed: 12)
    }

    @Test func fastPixelShuffleCroppedToOddSize() throws {
        try check(Self.fastLike, width: 8, height: 6, crop: 1, tileHeights: [0, 3], threadCounts: [2], seed: 13)
    }

    @Test func comCNNStride2Shape() throws {
        try check(Self.comCNN, width: 19, height: 15, tileHeights: [0, 1, 3], threadCounts: [1, 2], seed: 14)
    }

    @Test func tinyImages() throws {
        try check(Self.paperLike, width: 1, height: 1, tileHeights: [0, 16], threadCounts: [1, 2], seed: 15)
        try check(Self.comCNN, width: 2, height: 3, tileHeights: [0, 1], threadCounts: [2], seed: 16)
        try check(Self.fastLike, width: 1, height: 2, tileHeights: [1, 8], threadCounts: [2], seed: 17)
    }

    /// One runner (one pool) called from several threads at once: the calls take turns, and every
    /// call gets the reference bytes (each output is cleared before its call and checked after).
    /// A runner whose scratch memory is refused says so with the bytes and writes nothing.
    @Test func aRefusedScratchIsAnErrorAndTheOutputIsUntouched() throws {
        let network = RandomNetwork([(.firstConv3x3, 3, 16, 1), (.lastConv3x3Residual, 16, 3, 1)], seed: 5)
        let input = randomBytes(16 * 12 * 3, seed: 6)
        for runner in [NetworkRunner.portable, NetworkRunner.threaded(pool: ThreadPool(threads: 2), isa: KernelISA.supported[0])] {
            var output = [UInt8](repeating: 0x55, count: input.count)
            #expect {
                try LargeBuffer<UInt8>.failingAbove(16) {
                    try runner.run(layers: network.packed, input: input, inputWidth: 16, inputHeight: 12,
                                   base: input, output: &output, outputWidth: 16, outputHeight: 12)
                }
            } throws: { error in
                guard let failure = error as? AllocationFailure else { return false }
                return failure.bytes > 16
            }
            #expect(output.allSatisfy { $0 == 0x55 }, "\(runner.summary)")
        }
    }

    @Test func concurrentCallersTakeTurns() throws {
        let network = RandomNetwork(Self.paperLike, seed: 21)
        let width = 29, height = 96
        let input = randomBytes(width * height * 3, seed: 22), base = randomBytes(width * height * 3, seed: 23)
        var expected = [UInt8](repeating: 0, count: width * height * 3)
        runNetworkReference(layers: network.canonical, input: input, width: width, height: height,
                            base: base, output: &expected, outputWidth: width, outputHeight: height)
        // Many small tiles: a long run of tasks, so that calls that did not take turns would overlap.
        // Two runners on one pool: the pool, not the runner, makes them take turns.
        let pool = ThreadPool(threads: 2)
        let runners = [NetworkRunner.threaded(pool: pool, isa: KernelISA.best, tileHeight: 2),
                       NetworkRunner.threaded(pool: pool, isa: KernelISA.best, tileHeight: 3)]
        let callers = 4, runs = 10, reference = expected
        let wrong = UnsafeMutablePointer<Int>.allocate(capacity: callers)
        wrong.initialize(repeating: 0, count: callers)
        defer { wrong.deallocate() }
        let shared = UncheckedBox((network, wrong))
        DispatchQueue.concurrentPerform(iterations: callers) { caller in
            let (network, wrong) = shared.value
            for _ in 0..<runs {
                var output = [UInt8](repeating: 0x55, count: reference.count)
                try! runners[caller % 2].run(layers: network.packed, input: input, inputWidth: width, inputHeight: height, base: base,
                           output: &output, outputWidth: width, outputHeight: height)
                if output != reference { wrong[caller] += 1 }
            }
        }
        #expect(Array(UnsafeBufferPointer(start: wrong, count: callers)) == Array(repeating: 0, count: callers),
                "calls per caller whose output differs from the reference")
    }

    @Test func deeperNetworkWideImage() throws {
        let shape: [(ConvLayerKind, Int, Int, Int)] = [(.firstConv3x3, 3, 64, 1)]
            + Array(repeating: (.conv3x3, 64, 64, 1), count: 5) + [(.lastConv3x3Residual, 64, 3, 1)]
        try check(shape, width: 70, height: 21, tileHeights: [0, 6, 13], threadCounts: [2],
              isas: [KernelISA.best], seed: 18)
    }
}

private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
