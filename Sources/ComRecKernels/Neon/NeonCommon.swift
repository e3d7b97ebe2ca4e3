// Shared pieces of the NEON kernels (aarch64 only): the requantising epilogue.
#if arch(arm64)
import _Builtin_intrinsics.arm.neon

/// Bias, requantisation (or raw Int32) and store of output channels `cb...cb+15` of pixel `x`
/// from four int32x4 accumulators (channels cb+0...3, 4...7, 8...11, 12...15).
@inline(__always)
func finishNeon16(
    _ a0: SIMD4<Int32>, _ a1: SIMD4<Int32>, _ a2: SIMD4<Int32>, _ a3: SIMD4<Int32>,
    _ r: Conv3x3Row, _ x: Int, _ cb: Int
) {
    let bias = UnsafeRawPointer(r.bias + cb)
    let s0 = a0 &+ bias.loadUnaligned(as: SIMD4<Int32>.self)
    let s1 = a1 &+ bias.loadUnaligned(fromByteOffset: 16, as: SIMD4<Int32>.self)
    let s2 = a2 &+ bias.loadUnaligned(fromByteOffset: 32, as: SIMD4<Int32>.self)
    let s3 = a3 &+ bias.loadUnaligned(fromByteOffset: 48, as: SIMD4<Int32>.self)
    if r.requantize {
        let m = UnsafeRawPointer(r.multipliers + cb)
        let q0 = requantizeNeonU7(s0, m.loadUnaligned(as: SIMD4<Float>.self))
        let q1 = requantizeNeonU7(s1, m.loadUnaligned(fromByteOffset: 16, as: SIMD4<Float>.self))
        let q2 = requantizeNeonU7(s2, m.loadUnaligned(fromByteOffset: 32, as: SIMD4<Float>.self))
        let q3 = requantizeNeonU7(s3, m.loadUnaligned(fromByteOffset: 48, as: SIMD4<Float>.self))
        let h0 = vcombine_s16(vqmovn_s32(q0), vqmovn_s32(q1))
        let h1 = vcombine_s16(vqmovn_s32(q2), vqmovn_s32(q3))
        let bytes = vcombine_u8(vqmovun_s16(h0), vqmovun_s16(h1))
        (r.output + x * r.outChannels + cb).storeBytes(of: bytes, as: SIMD16<UInt8>.self)
    } else {
        let out = r.output + (x * r.outChannels + cb) * 4
        out.storeBytes(of: s0, as: SIMD4<Int32>.self)
        (out + 16).storeBytes(of: s1, as: SIMD4<Int32>.self)
        (out + 32).storeBytes(of: s2, as: SIMD4<Int32>.self)
        (out + 48).storeBytes(of: s3, as: SIMD4<Int32>.self)
    }
}

/// clamp(roundHalfEven(Float(acc) * m), 0, 127): fmul, clamp, fcvtns (round to nearest even).
@inline(__always)
func requantizeNeonU7(_ acc: SIMD4<Int32>, _ m: SIMD4<Float>) -> SIMD4<Int32> {
    let p = vmulq_f32(vcvtq_f32_s32(acc), m)
    let c = vminq_f32(vmaxq_f32(p, vdupq_n_f32(0)), vdupq_n_f32(127))
    return vcvtnq_s32_f32(c)
}
#endif
