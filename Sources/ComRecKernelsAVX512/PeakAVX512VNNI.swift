// The machine's int8 peak for this ISA: a loop of vpdpbusd on registers only (no loads), with
// enough independent accumulators to cover the instruction's latency. `comrec bench` divides the
// convolution's GMAC/s by this figure.
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Multiply-accumulates per iteration of `peakU7S8_avx512vnni`: 16 vpdpbusd x 64.
public let peakMACsPerIteration_avx512vnni = 16 * 64

/// Runs `iterations` x 16 independent vpdpbusd; returns a value so the loop is not removed.
@inline(never)
public func peakU7S8_avx512vnni(iterations: Int) -> Int32 {
    let x = _mm512_set1_epi32(0x0102_0304), w = _mm512_set1_epi32(0x0101_0101)
    var a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0
    var a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0
    for _ in 0..<iterations {
        a0 = _mm512_dpbusd_epi32(a0, x, w); a1 = _mm512_dpbusd_epi32(a1, x, w)
        a2 = _mm512_dpbusd_epi32(a2, x, w); a3 = _mm512_dpbusd_epi32(a3, x, w)
        a4 = _mm512_dpbusd_epi32(a4, x, w); a5 = _mm512_dpbusd_epi32(a5, x, w)
        a6 = _mm512_dpbusd_epi32(a6, x, w); a7 = _mm512_dpbusd_epi32(a7, x, w)
        a8 = _mm512_dpbusd_epi32(a8, x, w); a9 = _mm512_dpbusd_epi32(a9, x, w)
        a10 = _mm512_dpbusd_epi32(a10, x, w); a11 = _mm512_dpbusd_epi32(a11, x, w)
        a12 = _mm512_dpbusd_epi32(a12, x, w); a13 = _mm512_dpbusd_epi32(a13, x, w)
        a14 = _mm512_dpbusd_epi32(a14, x, w); a15 = _mm512_dpbusd_epi32(a15, x, w)
    }
    let s0 = _mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3))
    let s1 = _mm512_add_epi32(_mm512_add_epi32(a4, a5), _mm512_add_epi32(a6, a7))
    let s2 = _mm512_add_epi32(_mm512_add_epi32(a8, a9), _mm512_add_epi32(a10, a11))
    let s3 = _mm512_add_epi32(_mm512_add_epi32(a12, a13), _mm512_add_epi32(a14, a15))
    let s = _mm512_add_epi32(_mm512_add_epi32(s0, s1), _mm512_add_epi32(s2, s3))
    return _mm512_reduce_add_epi32(s)
}
#endif
