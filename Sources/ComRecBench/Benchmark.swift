// Measurements for `comrec bench`: each kernel family's int8 peak (a register-only microkernel)
// and one 3x3 convolution layer over a whole image, with a given number of threads. Beside the
// runtime, not in it: nothing that decodes an image links this code.
import ComRecKernels
import ComRecRuntime

#if arch(x86_64)
import ComRecKernelsAVX2
import ComRecKernelsAVX512
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic seconds.
public func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

public enum Benchmark {
    /// The peak of `isa` in GMAC/s with `pool.threadCount` threads, each running the family's
    /// register-only loop: best of `repetitions` runs of about `seconds` each.
    public static func peakGMACs(isa: KernelISA, pool: ThreadPool, seconds: Double = 0.25, repetitions: Int = 3) -> Double {
        let (perIteration, loop) = peakLoop(isa)
        // Calibrate one thread's iteration count for the target time.
        var iterations = 1 << 16
        while true {
            let t0 = monotonicSeconds()
            _ = loop(iterations)
            let dt = monotonicSeconds() - t0
            if dt > seconds / 4 {
                iterations = Int(Double(iterations) * seconds / dt)
                break
            }
            iterations *= 4
        }
        var best = 0.0
        let sink = Unchecked(UnsafeMutablePointer<Int32>.allocate(capacity: pool.threadCount))
        defer { sink.value.deallocate() }
        let n = iterations
        for _ in 0..<repetitions {
            let t0 = monotonicSeconds()
            pool.run(tasks: pool.threadCount) { _, worker in sink.value[worker] = loop(n) }
            let dt = monotonicSeconds() - t0
            best = max(best, Double(perIteration) * Double(n) * Double(pool.threadCount) / dt / 1e9)
        }
        return best
    }

    static func peakLoop(_ isa: KernelISA) -> (Int, (Int) -> Int32) {
        switch isa {
        #if arch(x86_64)
        case .avx512vnni: return (peakMACsPerIteration_avx512vnni, { peakU7S8_avx512vnni(iterations: $0) })
        case .avx2: return (peakMACsPerIteration_avx2, { peakU7S8_avx2(iterations: $0) })
        #endif
        default: return (peakMACsPerIteration_portable, { peakU7S8_portable(iterations: $0, weight: 3) })
        }
    }

    /// Timing of one 3x3 convolution layer (U7 in, U7 out) over a `width x height` image.
    public struct ConvTiming {
        public var macs: Double
        public var bestSeconds: Double
        public var medianSeconds: Double
        public var gmacs: Double { macs / bestSeconds / 1e9 }
    }

    /// Runs a `inChannels -> outChannels` 3x3 convolution with random U7 data `repetitions` times
    /// (after one warm-up run), output rows split over the pool in chunks of `rowsPerTask`.
    public static func conv3x3(
        isa: KernelISA, pool: ThreadPool, width: Int = 768, height: Int = 512,
        inChannels: Int = 64, outChannels: Int = 64, stride: Int = 1, repetitions: Int = 10, rowsPerTask: Int = 8,
        algorithm: ConvAlgorithm = .direct
    ) -> ConvTiming {
        precondition(algorithm == .direct || stride == 1, "Winograd F(2x2, 3x3) is for stride 1")
        precondition(algorithm == .direct || rowsPerTask % 2 == 0, "Winograd computes rows in pairs")
        let ow = (width + stride - 1) / stride, oh = (height + stride - 1) / stride
        let inRow = (width + 2) * inChannels, outRow = (ow + 2) * outChannels
        let input = UnsafeMutablePointer<UInt8>.allocate(capacity: height * inRow)
        let output = UnsafeMutablePointer<UInt8>.allocate(capacity: oh * outRow)
        let zero = UnsafeMutablePointer<UInt8>.allocate(capacity: inRow)
        let canonical = UnsafeMutablePointer<Int8>.allocate(capacity: outChannels * 9 * inChannels)
        let bias = UnsafeMutablePointer<Int32>.allocate(capacity: outChannels)
        let multipliers = UnsafeMutablePointer<Float>.allocate(capacity: outChannels)
        defer {
            input.deallocate(); output.deallocate(); zero.deallocate()
            canonical.deallocate(); bias.deallocate(); multipliers.deallocate()
        }
        var state: UInt64 = 0x1234_5678
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        for y in 0..<height {
            for i in 0..<inRow {
                let border = i < inChannels || i >= inRow - inChannels
                input[y * inRow + i] = border ? 0 : UInt8(next() & 127)
            }
        }
        zero.initialize(repeating: 0, count: inRow)
        output.initialize(repeating: 0, count: oh * outRow)
        for i in 0..<(outChannels * 9 * inChannels) { canonical[i] = Int8(Int(next() % 255) - 127) }
        for c in 0..<outChannels {
            bias[c] = Int32(Int(next() % 20001) - 10000)
            multipliers[c] = 1.0 / 2048
        }
        let layer = Conv3x3Packed.allocate(packing: Conv3x3Canonical(
            kind: .conv3x3, inChannels: inChannels, outChannels: outChannels, stride: stride,
            weights: canonical, bias: bias, multipliers: multipliers))
        defer { layer.deallocate() }
        // Per-thread Winograd scratch, and a row that takes the second output of the last pair.
        let scratchBytes = (winogradScratchBytes(inChannels: layer.kernelIn) + 63) & ~63
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: pool.threadCount * scratchBytes, alignment: 64)
        let spare = UnsafeMutablePointer<UInt8>.allocate(capacity: outRow)
        defer { scratch.deallocate(); spare.deallocate() }
        let job = Unchecked((input, output, zero, layer, isa, scratch, spare))
        let tasks = (oh + rowsPerTask - 1) / rowsPerTask
        func runOnce() {
            pool.run(tasks: tasks) { task, worker in
                let (input, output, zero, layer, isa, scratch, spare) = job.value
                var y = task * rowsPerTask
                while y < min(oh, (task + 1) * rowsPerTask) {
                    func row(_ ky: Int) -> UnsafePointer<UInt8> {
                        let iy = stride * y + ky - 1
                        return iy < 0 || iy >= height ? UnsafePointer(zero) : UnsafePointer(input + iy * inRow)
                    }
                    if algorithm == .winogradF2x3 {
                        let second = y + 1 < oh ? output + (y + 1) * outRow : spare
                        isa.conv3x3WinogradF2x3(Conv3x3RowPair(
                            row0: row(0), row1: row(1), row2: row(2), row3: row(3), inChannels: layer.kernelIn,
                            outChannels: layer.kernelOut, width: ow, weights: layer.winogradWeights!,
                            bias: layer.bias, multipliers: layer.multipliers,
                            output0: UnsafeMutableRawPointer(output + y * outRow + outChannels),
                            output1: UnsafeMutableRawPointer(second + outChannels), requantize: true,
                            scratch: scratch + worker * scratchBytes))
                        y += 2
                        continue
                    }
                    defer { y += 1 }
                    isa.conv3x3(Conv3x3Row(
                        row0: row(0), row1: row(1), row2: row(2), inChannels: layer.kernelIn,
                        outChannels: layer.kernelOut, stride: stride, width: ow, weights: layer.weights,
                        bias: layer.bias, multipliers: layer.multipliers,
                        output: output + y * outRow + outChannels, requantize: true))
                }
            }
        }
        runOnce()
        var times: [Double] = []
        for _ in 0..<max(1, repetitions) {
            let t0 = monotonicSeconds()
            runOnce()
            times.append(monotonicSeconds() - t0)
        }
        times.sort()
        let macs = Double(ow * oh) * Double(outChannels) * Double(9 * inChannels)
        return ConvTiming(macs: macs, bestSeconds: times[0], medianSeconds: times[times.count / 2])
    }
}

extension Benchmark {
    /// Network shapes for timing whole networks (random weights).
    public enum NetworkShape: String, CaseIterable, Sendable {
        /// RecCNN at full resolution: 3->64, 18 x 64->64, 64->3 residual.
        case paper
        /// RecCNN at compact resolution: 3->64, 10 x 64->64, 64->12 pixel-shuffled residual.
        case fast
        /// ComCNN: 3->64, 64->64 stride 2, 64->3 residual onto the 2x2 average.
        case comcnn
        /// The `fast` enhancer (full-resolution mode): 3->64 stride 2, 10 x 64->64, 64->12
        /// pixel-shuffled residual. (The `paper` enhancer has the `paper` RecCNN's shape.)
        case fastFull = "fast-full"

        /// Whether the network reads the half-size compact image (the output is twice its size).
        var readsCompact: Bool { self == .fast }
        /// Whether the last layer pixel-shuffles (the output is twice the last grid).
        var pixelShuffles: Bool { self == .fast || self == .fastFull }

        var layers: [(ConvLayerKind, Int, Int, Int)] {
            switch self {
            case .paper:
                return [(.firstConv3x3, 3, 64, 1)] + Array(repeating: (.conv3x3, 64, 64, 1), count: 18)
                    + [(.lastConv3x3Residual, 64, 3, 1)]
            case .fast:
                return [(.firstConv3x3, 3, 64, 1)] + Array(repeating: (.conv3x3, 64, 64, 1), count: 10)
                    + [(.lastConv3x3PixelShuffleResidual, 64, 12, 1)]
            case .comcnn:
                return [(.firstConv3x3, 3, 64, 1), (.conv3x3, 64, 64, 2), (.lastConv3x3Residual, 64, 3, 1)]
            case .fastFull:
                return [(.firstConv3x3, 3, 64, 2)] + Array(repeating: (.conv3x3, 64, 64, 1), count: 10)
                    + [(.lastConv3x3PixelShuffleResidual, 64, 12, 1)]
            }
        }
    }

    /// Timing of a whole network producing a `width x height` output with the tile plan (NetworkTilePlan).
    /// `macs` counts the network's multiply-accumulates once (no halo recomputation, the
    /// first layer as 3 input channels), so GMAC/s here is "useful" work.
    public static func network(
        _ shape: NetworkShape, isa: KernelISA, pool: ThreadPool, width: Int = 768, height: Int = 512,
        tileHeight: Int = 0, repetitions: Int = 3, algorithms: ConvAlgorithmPolicy = .measured
    ) throws(AllocationFailure) -> ConvTiming {
        let layers = shape.layers
        // Input size: the compact image for `fast` RecCNN, the full image otherwise.
        let inWidth = shape.readsCompact ? (width + 1) / 2 : width
        let inHeight = shape.readsCompact ? (height + 1) / 2 : height
        var w = inWidth, h = inHeight, macs = 0.0
        var storage: [UnsafeMutableRawPointer] = []
        var packed: [Conv3x3Packed] = []
        var state: UInt64 = 99
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        for (kind, cin, cout, stride) in layers {
            let wt = UnsafeMutablePointer<Int8>.allocate(capacity: cout * 9 * cin)
            for i in 0..<(cout * 9 * cin) { wt[i] = Int8(Int(next() % 255) - 127) }
            let b = UnsafeMutablePointer<Int32>.allocate(capacity: cout)
            let m = UnsafeMutablePointer<Float>.allocate(capacity: cout)
            for c in 0..<cout {
                b[c] = Int32(Int(next() % 20001) - 10000)
                m[c] = 1.0 / 4096
            }
            storage += [UnsafeMutableRawPointer(wt), UnsafeMutableRawPointer(b), UnsafeMutableRawPointer(m)]
            packed.append(Conv3x3Packed.allocate(packing: Conv3x3Canonical(
                kind: kind, inChannels: cin, outChannels: cout, stride: stride, weights: wt, bias: b, multipliers: m)))
            w = (w + stride - 1) / stride
            h = (h + stride - 1) / stride
            macs += Double(w * h) * Double(9 * cin * cout)
        }
        let outWidth = shape.pixelShuffles ? 2 * w : w, outHeight = shape.pixelShuffles ? 2 * h : h
        let input = UnsafeMutablePointer<UInt8>.allocate(capacity: inWidth * inHeight * 3)
        let base = UnsafeMutablePointer<UInt8>.allocate(capacity: outWidth * outHeight * 3)
        let output = UnsafeMutablePointer<UInt8>.allocate(capacity: outWidth * outHeight * 3)
        for i in 0..<(inWidth * inHeight * 3) { input[i] = UInt8(truncatingIfNeeded: next()) }
        for i in 0..<(outWidth * outHeight * 3) { base[i] = UInt8(truncatingIfNeeded: next()) }
        defer {
            for p in packed { p.deallocate() }
            for p in storage { p.deallocate() }
            input.deallocate(); base.deallocate(); output.deallocate()
        }
        let runner = NetworkRunner.threaded(pool: pool, isa: isa, tileHeight: tileHeight, algorithms: algorithms)
        var times: [Double] = []
        for _ in 0..<max(1, repetitions) {
            let t0 = monotonicSeconds()
            try runner.run(layers: packed, input: input, inputWidth: inWidth, inputHeight: inHeight,
                           base: base, output: output, outputWidth: outWidth, outputHeight: outHeight)
            times.append(monotonicSeconds() - t0)
        }
        times.sort()
        return ConvTiming(macs: macs, bestSeconds: times[0], medianSeconds: times[times.count / 2])
    }
}

extension Benchmark {
    /// Seconds for a bicubic x2 upsampling of a (width/2) x (height/2) RGB8 image to width x
    /// height: the reference and the fast version (same bytes), best of `repetitions`.
    public static func upsample(width: Int = 768, height: Int = 512, repetitions: Int = 3)
        -> (reference: Double, fast: Double) {
        let sw = (width + 1) / 2, sh = (height + 1) / 2
        let src = UnsafeMutablePointer<UInt8>.allocate(capacity: sw * sh * 3)
        let dst = UnsafeMutablePointer<UInt8>.allocate(capacity: width * height * 3)
        defer { src.deallocate(); dst.deallocate() }
        for i in 0..<(sw * sh * 3) { src[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 13) }
        func best(_ body: () -> Void) -> Double {
            var t = Double.infinity
            for _ in 0..<repetitions {
                let t0 = monotonicSeconds()
                body()
                t = min(t, monotonicSeconds() - t0)
            }
            return t
        }
        let reference = best {
            upsample2xBicubic(src: src, srcWidth: sw, srcHeight: sh, channels: 3, dst: dst, dstWidth: width, rows: 0..<height)
        }
        let fast = best {
            upsample2xBicubicFast(src: src, srcWidth: sw, srcHeight: sh, channels: 3, dst: dst, dstWidth: width, rows: 0..<height)
        }
        return (reference, fast)
    }
}

/// Carries non-Sendable values (pointers, closures) into pool tasks; the pool's `run` returns only
/// when every task is done, so nothing outlives the call.
private struct Unchecked<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
