// AVX-512 VNNI convolution kernels (vpdpbusd: u8 x s8, 4 products summed into each Int32 lane).
// This module is compiled with -mavx512{f,bw,dq,vl,vnni} (Package.swift) and must only be called
// after ComRecRuntime's cpuid check; nothing here is @inlinable, so no AVX-512 code leaks into
// callers built for baseline x86-64.
//
// Register blocking, 64x6: 4 zmm of weights (64 output channels x 4 input channels) times 6
// broadcast input dwords (6 output pixels x 4 input channels) feed 24 zmm accumulators. Per step:
// 4 weight loads + 6 broadcast loads for 24 vpdpbusd (1536 MACs), 0.42 loads per vpdpbusd; 30 of
// the 32 zmm registers are live. No im2col: the three padded input rows are read in place.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import ComRecKernels

/// The AVX-512 VNNI kernel family: 64x6 blocks where the output channels are a multiple of 64,
/// 16x8 blocks otherwise (the 3- and 12-channel last layers, padded to 16).
public enum AVX512VNNIConv3x3: Conv3x3Kernel {
    public static func conv3x3(_ row: Conv3x3Row) {
        if row.outChannels % 64 == 0 {
            conv3x3U7S8_64x6_avx512vnni(row)
        } else {
            conv3x3U7S8_16x8_avx512vnni(row)
        }
    }
}

@inline(__always) private func load(_ p: UnsafeRawPointer, _ offset: Int) -> __m512i {
    _mm512_loadu_si512(p + offset)
}

@inline(__always) private func broadcast(_ p: UnsafeRawPointer, _ offset: Int) -> __m512i {
    _mm512_set1_epi32(p.loadUnaligned(fromByteOffset: offset, as: Int32.self))
}

@inline(__always) private func dot(_ acc: __m512i, _ x: __m512i, _ w: __m512i) -> __m512i {
    _mm512_dpbusd_epi32(acc, x, w)  // x unsigned (U7 activations), w signed
}

/// Bias, requantisation (or raw Int32) and store of 16 output channels `cb...cb+15` of pixel `x`.
@inline(__always) private func finish(_ acc: __m512i, _ r: Conv3x3Row, _ x: Int, _ cb: Int) {
    let a = _mm512_add_epi32(acc, load(UnsafeRawPointer(r.bias), cb * 4))
    if r.requantize {
        var f = _mm512_mul_ps(_mm512_cvtepi32_ps(a), _mm512_loadu_ps(r.multipliers + cb))
        f = _mm512_min_ps(_mm512_max_ps(f, _mm512_setzero_ps()), _mm512_set1_ps(127))
        let q = _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(f))  // round half even (MXCSR default)
        (r.output + x * r.outChannels + cb).storeBytes(of: q, as: __m128i.self)
    } else {
        _mm512_storeu_si512(r.output + (x * r.outChannels + cb) * 4, a)
    }
}

@inline(never)
public func conv3x3U7S8_64x6_avx512vnni(_ r: Conv3x3Row) {
    // Step j of an input row covers taps kx = 0...2 and channel groups: input bytes 4j...4j+3,
    // weights at j * weightStep (Packing.swift).
    let steps = 3 * (r.inChannels / 4)
    let p = r.stride * r.inChannels  // input bytes between neighbouring output pixels
    let weightStep = r.outChannels * 4
    let p2 = 2 &* p, p3 = 3 &* p, p4 = 4 &* p, p5 = 5 &* p  // offsets of pixels 2...5
    var x = 0
    while x + 6 <= r.width {
        var cb = 0
        while cb < r.outChannels {
            let z = _mm512_setzero_si512()
            var c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z
            var c20 = z, c21 = z, c22 = z, c23 = z, c30 = z, c31 = z, c32 = z, c33 = z
            var c40 = z, c41 = z, c42 = z, c43 = z, c50 = z, c51 = z, c52 = z, c53 = z
            var w = UnsafeRawPointer(r.weights) + cb * 4
            for ky in 0..<3 {
                var a = UnsafeRawPointer(r.row(ky)) + x * p
                for _ in 0..<steps {
                    let w0 = load(w, 0), w1 = load(w, 64), w2 = load(w, 128), w3 = load(w, 192)
                    w += weightStep
                    var b = broadcast(a, 0)
                    c00 = dot(c00, b, w0); c01 = dot(c01, b, w1); c02 = dot(c02, b, w2); c03 = dot(c03, b, w3)
                    b = broadcast(a, p)
                    c10 = dot(c10, b, w0); c11 = dot(c11, b, w1); c12 = dot(c12, b, w2); c13 = dot(c13, b, w3)
                    b = broadcast(a, p2)
                    c20 = dot(c20, b, w0); c21 = dot(c21, b, w1); c22 = dot(c22, b, w2); c23 = dot(c23, b, w3)
                    b = broadcast(a, p3)
                    c30 = dot(c30, b, w0); c31 = dot(c31, b, w1); c32 = dot(c32, b, w2); c33 = dot(c33, b, w3)
                    b = broadcast(a, p4)
                    c40 = dot(c40, b, w0); c41 = dot(c41, b, w1); c42 = dot(c42, b, w2); c43 = dot(c43, b, w3)
                    b = broadcast(a, p5)
                    c50 = dot(c50, b, w0); c51 = dot(c51, b, w1); c52 = dot(c52, b, w2); c53 = dot(c53, b, w3)
                    a += 4
                }
            }
            finish(c00, r, x, cb); finish(c01, r, x, cb + 16); finish(c02, r, x, cb + 32); finish(c03, r, x, cb + 48)
            finish(c10, r, x + 1, cb); finish(c11, r, x + 1, cb + 16); finish(c12, r, x + 1, cb + 32); finish(c13, r, x + 1, cb + 48)
            finish(c20, r, x + 2, cb); finish(c21, r, x + 2, cb + 16); finish(c22, r, x + 2, cb + 32); finish(c23, r, x + 2, cb + 48)
            finish(c30, r, x + 3, cb); finish(c31, r, x + 3, cb + 16); finish(c32, r, x + 3, cb + 32); finish(c33, r, x + 3, cb + 48)
            finish(c40, r, x + 4, cb); finish(c41, r, x + 4, cb + 16); finish(c42, r, x + 4, cb + 32); finish(c43, r, x + 4, cb + 48)
            finish(c50, r, x + 5, cb); finish(c51, r, x + 5, cb + 16); finish(c52, r, x + 5, cb + 32); finish(c53, r, x + 5, cb + 48)
            cb += 64
        }
        x += 6
    }
    // Fewer than 6 pixels left: one pixel x 64 channels at a time.
    while x < r.width {
        var cb = 0
        while cb < r.outChannels {
            let z = _mm512_setzero_si512()
            var c0 = z, c1 = z, c2 = z, c3 = z
            var w = UnsafeRawPointer(r.weights) + cb * 4
            for ky in 0..<3 {
                let a = UnsafeRawPointer(r.row(ky)) + x * p
                for j in 0..<steps {
                    let b = broadcast(a, 4 * j)
                    c0 = dot(c0, b, load(w, 0)); c1 = dot(c1, b, load(w, 64))
                    c2 = dot(c2, b, load(w, 128)); c3 = dot(c3, b, load(w, 192))
                    w += weightStep
                }
            }
            finish(c0, r, x, cb); finish(c1, r, x, cb + 16); finish(c2, r, x, cb + 32); finish(c3, r, x, cb + 48)
            cb += 64
        }
        x += 1
    }
}

@inline(never)
public func conv3x3U7S8_16x8_avx512vnni(_ r: Conv3x3Row) {
    let steps = 3 * (r.inChannels / 4)
    let p = r.stride * r.inChannels
    let weightStep = r.outChannels * 4
    let p2 = 2 &* p, p3 = 3 &* p, p4 = 4 &* p, p5 = 5 &* p, p6 = 6 &* p, p7 = 7 &* p
    var x = 0
    while x + 8 <= r.width {
        var cb = 0
        while cb < r.outChannels {
            let z = _mm512_setzero_si512()
            var c0 = z, c1 = z, c2 = z, c3 = z, c4 = z, c5 = z, c6 = z, c7 = z
            var w = UnsafeRawPointer(r.weights) + cb * 4
            for ky in 0..<3 {
                var a = UnsafeRawPointer(r.row(ky)) + x * p
                for _ in 0..<steps {
                    let w0 = load(w, 0)
                    w += weightStep
                    c0 = dot(c0, broadcast(a, 0), w0)
                    c1 = dot(c1, broadcast(a, p), w0)
                    c2 = dot(c2, broadcast(a, p2), w0)
                    c3 = dot(c3, broadcast(a, p3), w0)
                    c4 = dot(c4, broadcast(a, p4), w0)
                    c5 = dot(c5, broadcast(a, p5), w0)
                    c6 = dot(c6, broadcast(a, p6), w0)
                    c7 = dot(c7, broadcast(a, p7), w0)
                    a += 4
                }
            }
            finish(c0, r, x, cb); finish(c1, r, x + 1, cb); finish(c2, r, x + 2, cb); finish(c3, r, x + 3, cb)
            finish(c4, r, x + 4, cb); finish(c5, r, x + 5, cb); finish(c6, r, x + 6, cb); finish(c7, r, x + 7, cb)
            cb += 16
        }
        x += 8
    }
    while x < r.width {
        var cb = 0
        while cb < r.outChannels {
            var c0 = _mm512_setzero_si512()
            var w = UnsafeRawPointer(r.weights) + cb * 4
            for ky in 0..<3 {
                let a = UnsafeRawPointer(r.row(ky)) + x * p
                for j in 0..<steps {
                    c0 = dot(c0, broadcast(a, 4 * j), load(w, 0))
                    w += weightStep
                }
            }
            finish(c0, r, x, cb)
            cb += 16
        }
        x += 1
    }
}
#endif
