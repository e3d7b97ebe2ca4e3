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
}

@inline(__always) private func half(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD8<Int8> {
    p.loadUnaligned(fromByteOffset: offset, as: SIMD8<Int8>.self)
}

@inline(__always) private func broadcast(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD8<Int8> {
    unsafeBitCast(vdup_n_s32(p.loadUnaligned(fromByteOffset: offset, as: Int32.self)), to: SIMD8<Int8>.self)
}

@inline(never)
public func conv3x3U7S8_16x1_neon(_ r: Conv3x3Row) {
    let steps = 3 * (r.inChannels / 4)  // taps kx = 0...2 x channel groups (Packing.swift)
    let p = r.stride * r.inChannels
    let weightStep = r.outChannels * 4
    for x in 0..<r.width {
        var cb = 0
        while cb < r.outChannels {
            // h_k: output channels cb + 2k, cb + 2k + 1, each as two partial sums.
            let z = SIMD4<Int32>(repeating: 0)
            var h0 = z, h1 = z, h2 = z, h3 = z, h4 = z, h5 = z, h6 = z, h7 = z
            var w = UnsafeRawPointer(r.weights) + cb * 4
            for ky in 0..<3 {
                var a = UnsafeRawPointer(r.row(ky)) + x * p
                var j = 0
                while j < steps {
                    let pair = j + 1 < steps
                    let b0 = broadcast(a, 0)
                    let b1 = pair ? broadcast(a, 4) : SIMD8<Int8>(repeating: 0)
                    let v = w + weightStep
                    @inline(__always) func mac(_ h: SIMD4<Int32>, _ offset: Int) -> SIMD4<Int32> {
                        var s = vmull_s8(half(w, offset), b0)
                        if pair { s = vmlal_s8(s, half(v, offset), b1) }
                        return vpadalq_s16(h, s)
                    }
                    h0 = mac(h0, 0); h1 = mac(h1, 8); h2 = mac(h2, 16); h3 = mac(h3, 24)
                    h4 = mac(h4, 32); h5 = mac(h5, 40); h6 = mac(h6, 48); h7 = mac(h7, 56)
                    let taken = pair ? 2 : 1
                    w += taken * weightStep
                    a += 4 * taken
                    j += taken
                }
            }
            finishNeon16(vpaddq_s32(h0, h1), vpaddq_s32(h2, h3), vpaddq_s32(h4, h5), vpaddq_s32(h6, h7), r, x, cb)
            cb += 16
        }
    }
}
#endif
