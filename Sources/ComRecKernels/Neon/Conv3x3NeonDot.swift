// NEON kernels with the dot-product extension (sdot: 4 x s8 x s8 summed into each Int32 lane;
// U7 activations are valid s8). Built for a core that has it (for example -target-cpu
// cortex-a76) with -D COMREC_NEON_DOT; see scripts/embedded-aarch64.sh.
//
// Register blocking, 16x4: 4 q registers of weights (16 output channels x 4 input channels) times
// 4 broadcast input dwords feed 16 accumulators; 24 of the 32 v registers are live.
#if arch(arm64) && COMREC_NEON_DOT
import _Builtin_intrinsics.arm.neon

/// The NEON dot-product kernel family (any multiple of 16 output channels).
public enum NeonDotConv3x3: Conv3x3Kernel {
    public static func conv3x3(_ row: Conv3x3Row) { conv3x3U7S8_16x4_neondot(row) }
    /// The plain NEON Winograd kernel (Int16 products have no dot-product instruction); the
    /// measured table (ConvAlgorithmTable) keeps direct sdot on these cores.
    public static func conv3x3WinogradF2x3(_ pair: Conv3x3RowPair) { conv3x3WinogradF2x3U7S16_16x3_neon(pair) }
}

@inline(__always) private func weights(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD16<Int8> {
    p.loadUnaligned(fromByteOffset: offset, as: SIMD16<Int8>.self)
}

@inline(__always) private func broadcast(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD16<Int8> {
    unsafeBitCast(vdupq_n_s32(p.loadUnaligned(fromByteOffset: offset, as: Int32.self)), to: SIMD16<Int8>.self)
}

@inline(never)
public func conv3x3U7S8_16x4_neondot(_ r: Conv3x3Row) {
    let steps = 3 * (r.inChannels / 4)  // taps kx = 0...2 x channel groups (Packing.swift)
    let p = r.stride * r.inChannels
    let p2 = 2 &* p, p3 = 3 &* p
    let weightStep = r.outChannels * 4
    var x = 0
    while x < r.width {
        let pixels = min(4, r.width - x)
        var cb = 0
        while cb < r.outChannels {
            let z = SIMD4<Int32>(repeating: 0)
            var c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z
            var c20 = z, c21 = z, c22 = z, c23 = z, c30 = z, c31 = z, c32 = z, c33 = z
            var w = UnsafeRawPointer(r.weights) + cb * 4
            for ky in 0..<3 {
                var a = UnsafeRawPointer(r.row(ky)) + x * p
                if pixels == 4 {
                    for _ in 0..<steps {
                        let w0 = weights(w, 0), w1 = weights(w, 16), w2 = weights(w, 32), w3 = weights(w, 48)
                        w += weightStep
                        var b = broadcast(a, 0)
                        c00 = vdotq_s32(c00, w0, b); c01 = vdotq_s32(c01, w1, b); c02 = vdotq_s32(c02, w2, b); c03 = vdotq_s32(c03, w3, b)
                        b = broadcast(a, p)
                        c10 = vdotq_s32(c10, w0, b); c11 = vdotq_s32(c11, w1, b); c12 = vdotq_s32(c12, w2, b); c13 = vdotq_s32(c13, w3, b)
                        b = broadcast(a, p2)
                        c20 = vdotq_s32(c20, w0, b); c21 = vdotq_s32(c21, w1, b); c22 = vdotq_s32(c22, w2, b); c23 = vdotq_s32(c23, w3, b)
                        b = broadcast(a, p3)
                        c30 = vdotq_s32(c30, w0, b); c31 = vdotq_s32(c31, w1, b); c32 = vdotq_s32(c32, w2, b); c33 = vdotq_s32(c33, w3, b)
                        a += 4
                    }
                } else {
                    // Fewer than 4 pixels left: one pixel at a time into the first accumulators.
                    for _ in 0..<steps {
                        let b = broadcast(a, 0)
                        c00 = vdotq_s32(c00, weights(w, 0), b); c01 = vdotq_s32(c01, weights(w, 16), b)
                        c02 = vdotq_s32(c02, weights(w, 32), b); c03 = vdotq_s32(c03, weights(w, 48), b)
                        w += weightStep
                        a += 4
                    }
                }
            }
            finishNeon16(c00, c01, c02, c03, r, x, cb)
            if pixels == 4 {
                finishNeon16(c10, c11, c12, c13, r, x + 1, cb)
                finishNeon16(c20, c21, c22, c23, r, x + 2, cb)
                finishNeon16(c30, c31, c32, c33, r, x + 3, cb)
            }
            cb += 16
        }
        x += pixels == 4 ? 4 : 1
    }
}
#endif
