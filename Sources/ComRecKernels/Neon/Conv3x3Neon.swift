// NEON kernels without the dot-product extension (any ARMv8-A core, for example cortex-a53).
// smull multiplies 8 s8 pairs into s16 (2 output channels x 4 input channels), smlal adds the
// next channel group's products (two products per s16 lane: |sum| <= 2 * 127 * 127 = 32258,
// no overflow), and sadalp adds adjacent s16 pairs into s32 accumulators that each hold half of
// one output channel's sum; addp folds the halves at the end.
#if arch(arm64)
import _Builtin_intrinsics.arm.neon

/// The plain NEON kernel family (any multiple of 16 output channels).
public enum NeonConv3x3: Conv3x3Kernel {
    public static func conv3x3(_ row: Conv3x3Row) { conv3x3U7S8_16x1_neon(row) }
    public static func conv3x3WinogradF2x3(_ pair: Conv3x3RowPair) { conv3x3WinogradF2x3U7S16_16x3_neon(pair) }
}

@inline(__always) private func half(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD8<Int8> {
    p.loadUnaligned(fromByteOffset: offset, as: SIMD8<Int8>.self)
}

@inline(__always) private func broadcast(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD8<Int8> {
    unsafeBitCast(vdup_n_s32(p.loadUnaligned(fromByteOffset: offset, as: Int32.self)), to: SIMD8<Int8>.self)
}

/// Eight half-channel accumulators: h_k holds output channels cb + 2k and cb + 2k + 1, each as two
/// partial sums.
private struct Halves {
    var h0 = SIMD4<Int32>(repeating: 0), h1 = SIMD4<Int32>(repeating: 0)
    var h2 = SIMD4<Int32>(repeating: 0), h3 = SIMD4<Int32>(repeating: 0)
    var h4 = SIMD4<Int32>(repeating: 0), h5 = SIMD4<Int32>(repeating: 0)
    var h6 = SIMD4<Int32>(repeating: 0), h7 = SIMD4<Int32>(repeating: 0)

    /// Adds one step (one group of 4 input channels, weights at w) or two (the next group's
    /// weights at v, inputs b1), two products per s16 lane.
    @inline(__always) mutating func add(_ w: UnsafeRawPointer, _ b0: SIMD8<Int8>, _ v: UnsafeRawPointer, _ b1: SIMD8<Int8>, pair: Bool) {
        @inline(__always) func mac(_ h: SIMD4<Int32>, _ offset: Int) -> SIMD4<Int32> {
            var s = vmull_s8(half(w, offset), b0)
            if pair { s = vmlal_s8(s, half(v, offset), b1) }
            return vpadalq_s16(h, s)
        }
        h0 = mac(h0, 0); h1 = mac(h1, 8); h2 = mac(h2, 16); h3 = mac(h3, 24)
        h4 = mac(h4, 32); h5 = mac(h5, 40); h6 = mac(h6, 48); h7 = mac(h7, 56)
    }

    @inline(__always) func finish(_ r: Conv3x3Row, _ x: Int, _ cb: Int) {
        finishNeon16(vpaddq_s32(h0, h1), vpaddq_s32(h2, h3), vpaddq_s32(h4, h5), vpaddq_s32(h6, h7), r, x, cb)
    }
}

/// One pixel x 16 output channels per block. A 16x2 block (sharing weight loads between two
/// pixels) needs 16 accumulators + 16 weight halves + 16 products, more than the 32 v registers:
/// LLVM spilled about 40 times per block for cortex-a53, so 16x1 (no spills) is the kernel.
@inline(never)
public func conv3x3U7S8_16x1_neon(_ r: Conv3x3Row) {
    let steps = 3 * (r.inChannels / 4)  // taps kx = 0...2 x channel groups (Packing.swift)
    let p = r.stride * r.inChannels
    let weightStep = r.outChannels * 4
    let zero = SIMD8<Int8>(repeating: 0)
    for x in 0..<r.width {
        var cb = 0
        while cb < r.outChannels {
            var h = Halves()
            var w = UnsafeRawPointer(r.weights) + cb * 4
            for ky in 0..<3 {
                var a = UnsafeRawPointer(r.row(ky)) + x * p
                var j = 0
                // Steps go in pairs (smull + smlal); an odd last step of a row goes alone.
                while j + 1 < steps {
                    h.add(w, broadcast(a, 0), w + weightStep, broadcast(a, 4), pair: true)
                    w += 2 * weightStep
                    a += 8
                    j += 2
                }
                if j < steps {
                    h.add(w, broadcast(a, 0), w, zero, pair: false)
                    w += weightStep
                }
            }
            h.finish(r, x, cb)
            cb += 16
        }
    }
}
#endif
