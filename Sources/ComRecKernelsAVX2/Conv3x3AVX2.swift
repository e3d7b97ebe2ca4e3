// AVX2 convolution kernels. AVX2 has no int8 dot product, so each 32 MACs take three
// instructions: vpmaddubsw (u8 x s8, adjacent pairs summed into Int16: with U7 activations
// |x0*w0 + x1*w1| <= 2 * 127 * 127 = 32258 < 32767, so it never saturates), vpmaddwd by ones
// (pairs of Int16 into Int32) and vpaddd. Compiled with -mavx2 only (Package.swift), so it runs on
// any AVX2 CPU; called only after ComRecRuntime's cpuid check.
//
// Register blocking, 16x4: 2 ymm of weights (16 output channels x 4 input channels) times 4
// broadcast input dwords feed 8 ymm accumulators; with the ones vector, the broadcast and a
// temporary, 13 of the 16 ymm registers are live. 2 + 4 loads per 8 x 3 instructions.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import ComRecKernels

/// The AVX2 kernel family (any multiple of 16 output channels).
public enum AVX2Conv3x3: Conv3x3Kernel {
    public static func conv3x3(_ row: Conv3x3Row) { conv3x3U7S8_16x4_avx2(row) }
    public static func conv3x3WinogradF2x3(_ pair: Conv3x3RowPair) { conv3x3WinogradF2x3U7S16_16x6_avx2(pair) }
}

@inline(__always) private func load(_ p: UnsafeRawPointer, _ offset: Int) -> __m256i {
    (p + offset).loadUnaligned(as: __m256i.self)
}

@inline(__always) private func broadcast(_ p: UnsafeRawPointer, _ offset: Int) -> __m256i {
    _mm256_set1_epi32(p.loadUnaligned(fromByteOffset: offset, as: Int32.self))
}

@inline(__always) private func dot(_ acc: __m256i, _ x: __m256i, _ w: __m256i, _ ones: __m256i) -> __m256i {
    _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w), ones))
}

@inline(__always) private func requantizeU7(_ a: __m256i, _ m: UnsafePointer<Float>) -> __m256i {
    let f = _mm256_mul_ps(_mm256_cvtepi32_ps(a), _mm256_loadu_ps(m))
    return _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(f, _mm256_setzero_ps()), _mm256_set1_ps(127)))
}

/// Bias, requantisation (or raw Int32) and store of output channels `cb...cb+15` of pixel `x`.
@inline(__always) private func finish(_ lo: __m256i, _ hi: __m256i, _ r: Conv3x3Row, _ x: Int, _ cb: Int) {
    let bias = UnsafeRawPointer(r.bias)
    let a0 = _mm256_add_epi32(lo, load(bias, cb * 4))
    let a1 = _mm256_add_epi32(hi, load(bias, cb * 4 + 32))
    if r.requantize {
        let q0 = requantizeU7(a0, r.multipliers + cb), q1 = requantizeU7(a1, r.multipliers + cb + 8)
        // packs/packus work within 128-bit lanes: dwords come out as [q0 0-3, q1 0-3, q0 0-3,
        // q1 0-3 | q0 4-7, q1 4-7, ...]; the permutation puts q0 0-7, q1 0-7 in the low half.
        let w16 = _mm256_packs_epi32(q0, q1)
        let b8 = _mm256_packus_epi16(w16, w16)
        let ordered = _mm256_permutevar8x32_epi32(b8, _mm256_setr_epi32(0, 4, 1, 5, 0, 0, 0, 0))
        (r.output + x * r.outChannels + cb).storeBytes(of: _mm256_castsi256_si128(ordered), as: __m128i.self)
    } else {
        let out = r.output + (x * r.outChannels + cb) * 4
        out.storeBytes(of: a0, as: __m256i.self)
        (out + 32).storeBytes(of: a1, as: __m256i.self)
    }
}

@inline(never)
public func conv3x3U7S8_16x4_avx2(_ r: Conv3x3Row) {
    // Step j of an input row covers taps kx = 0...2 and channel groups (Packing.swift).
    let steps = 3 * (r.inChannels / 4)
    let p = r.stride * r.inChannels
    let weightStep = r.outChannels * 4
    let p2 = 2 &* p, p3 = 3 &* p  // offsets of pixels 2 and 3
    let ones = _mm256_set1_epi16(1)
    var x = 0
    while x + 4 <= r.width {
        var cb = 0
        while cb < r.outChannels {
            let z = _mm256_setzero_si256()
            var c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z
            var w = UnsafeRawPointer(r.weights) + cb * 4
            for ky in 0..<3 {
                var a = UnsafeRawPointer(r.row(ky)) + x * p
                for _ in 0..<steps {
                    let w0 = load(w, 0), w1 = load(w, 32)
                    w += weightStep
                    var b = broadcast(a, 0)
                    c00 = dot(c00, b, w0, ones); c01 = dot(c01, b, w1, ones)
                    b = broadcast(a, p)
                    c10 = dot(c10, b, w0, ones); c11 = dot(c11, b, w1, ones)
                    b = broadcast(a, p2)
                    c20 = dot(c20, b, w0, ones); c21 = dot(c21, b, w1, ones)
                    b = broadcast(a, p3)
                    c30 = dot(c30, b, w0, ones); c31 = dot(c31, b, w1, ones)
                    a += 4
                }
            }
            finish(c00, c01, r, x, cb); finish(c10, c11, r, x + 1, cb)
            finish(c20, c21, r, x + 2, cb); finish(c30, c31, r, x + 3, cb)
            cb += 16
        }
        x += 4
    }
    while x < r.width {
        var cb = 0
        while cb < r.outChannels {
            var c0 = _mm256_setzero_si256(), c1 = c0
            var w = UnsafeRawPointer(r.weights) + cb * 4
            for ky in 0..<3 {
                let a = UnsafeRawPointer(r.row(ky)) + x * p
                for j in 0..<steps {
                    let b = broadcast(a, 4 * j)
                    c0 = dot(c0, b, load(w, 0), ones); c1 = dot(c1, b, load(w, 32), ones)
                    w += weightStep
                }
            }
            finish(c0, c1, r, x, cb)
            cb += 16
        }
        x += 1
    }
}

/// Multiply-accumulates per iteration of `peakU7S8_avx2`: 12 x (vpmaddubsw, vpmaddwd, vpaddd) x 32.
public let peakMACsPerIteration_avx2 = 12 * 32

/// The AVX2 int8 peak: the kernel's own 3-instruction sequence on registers only. Each chain feeds
/// its accumulator back in as the byte operand, so the compiler cannot hoist the multiplies out of
/// the loop; 12 chains cover their latency.
@inline(never)
public func peakU7S8_avx2(iterations: Int) -> Int32 {
    let w = _mm256_set1_epi32(0x0101_0101), ones = _mm256_set1_epi16(1)
    var a0 = _mm256_set1_epi32(0x0102_0304), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0
    var a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0
    for _ in 0..<iterations {
        a0 = dot(a0, a0, w, ones); a1 = dot(a1, a1, w, ones); a2 = dot(a2, a2, w, ones)
        a3 = dot(a3, a3, w, ones); a4 = dot(a4, a4, w, ones); a5 = dot(a5, a5, w, ones)
        a6 = dot(a6, a6, w, ones); a7 = dot(a7, a7, w, ones); a8 = dot(a8, a8, w, ones)
        a9 = dot(a9, a9, w, ones); a10 = dot(a10, a10, w, ones); a11 = dot(a11, a11, w, ones)
    }
    let s = _mm256_add_epi32(
        _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3)),
                         _mm256_add_epi32(_mm256_add_epi32(a4, a5), _mm256_add_epi32(a6, a7))),
        _mm256_add_epi32(_mm256_add_epi32(a8, a9), _mm256_add_epi32(a10, a11)))
    return unsafeBitCast(s, to: SIMD8<Int32>.self).wrappedSum()
}
#endif
