// AVX2 Winograd F(2x2, 3x3) kernel (ComRecKernels/Winograd/WinogradRowPair.swift). The products
// are Int16 x Int16 with vpmaddwd: one instruction multiplies 8 output channels by a pair of input
// channels and sums the pair into Int32, and vpaddd accumulates. Per channel pair and 6 tiles the
// loop does 12 vpmaddwd and 12 vpaddd for 432 direct-equivalent MACs, where the direct kernel does
// 8 vpmaddubsw, 8 vpmaddwd and 8 vpaddd for 256: on cores where both loops are bound by the
// multiply and add pipes (Zen 3) the inner-loop ceiling is 432 / 256 = 1.69 times the direct
// kernel (docs/performance.md has the measurement and what the transforms cost).
//
// Register blocking, 16x6: 2 ymm of weights (16 output channels x one channel pair) times 6
// broadcast dwords (one channel pair of 6 tiles) feed 12 ymm accumulators; 15 of the 16 registers.
// The transforms are the shared @inlinable ones, compiled here with AVX2.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import ComRecKernels

@inline(__always) private func load(_ p: UnsafeRawPointer, _ offset: Int) -> __m256i {
    (p + offset).loadUnaligned(as: __m256i.self)
}

@inline(__always) private func broadcast(_ p: UnsafeRawPointer, _ offset: Int) -> __m256i {
    _mm256_set1_epi32(p.loadUnaligned(fromByteOffset: offset, as: Int32.self))
}

@inline(__always) private func mac(_ acc: __m256i, _ x: __m256i, _ w: __m256i) -> __m256i {
    _mm256_add_epi32(acc, _mm256_madd_epi16(x, w))
}

@inline(never)
public func conv3x3WinogradF2x3U7S16_16x6_avx2(_ pair: Conv3x3RowPair) {
    winogradClearZeroColumn(pair)
    precondition(winogradTileBlock % 6 == 0, "the register blocking is 6 tiles")
    let pairs = pair.inChannels / 2
    let tileStep = pair.inChannels * 2  // bytes between the tiles of one element of V
    let v = UnsafeRawPointer(pair.transformedInput)
    let products = UnsafeMutableRawPointer(pair.products)
    var first = 0
    while first < pair.tileCount {
        if pair.inChannels % 16 == 0 {
            transformInput(pair, firstTile: first)
        } else {
            winogradTransformInput(pair, firstTile: first)
        }
        let used = min(winogradTileBlock, (pair.tileCount - first + 5) / 6 * 6)
        var cb = 0
        while cb < pair.outChannels {
            for e in 0..<16 {
                // This element's weights (2 KB for 64 channels) stay in L1 over the block's tiles.
                let weights = UnsafeRawPointer(pair.weights + winogradWeightOffset(inChannels: pair.inChannels, cb: cb, element: e))
                var t = 0
                while t < used {
                    // One pointer per tile, indexed by the channel pair: the broadcasts need no
                    // address arithmetic, so the loop is the 2 loads, 6 broadcasts, 12 vpmaddwd
                    // and 12 vpaddd and little else.
                    let x0 = v + (e * winogradTileBlock + t) * tileStep
                    let x1 = x0 + tileStep, x2 = x0 + 2 * tileStep, x3 = x0 + 3 * tileStep
                    let x4 = x0 + 4 * tileStep, x5 = x0 + 5 * tileStep
                    let z = _mm256_setzero_si256()
                    var c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z
                    var c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z
                    for p in 0..<pairs {
                        let w0 = load(weights, 64 * p), w1 = load(weights, 64 * p + 32)
                        var b = broadcast(x0, 4 * p)
                        c00 = mac(c00, b, w0); c01 = mac(c01, b, w1)
                        b = broadcast(x1, 4 * p)
                        c10 = mac(c10, b, w0); c11 = mac(c11, b, w1)
                        b = broadcast(x2, 4 * p)
                        c20 = mac(c20, b, w0); c21 = mac(c21, b, w1)
                        b = broadcast(x3, 4 * p)
                        c30 = mac(c30, b, w0); c31 = mac(c31, b, w1)
                        b = broadcast(x4, 4 * p)
                        c40 = mac(c40, b, w0); c41 = mac(c41, b, w1)
                        b = broadcast(x5, 4 * p)
                        c50 = mac(c50, b, w0); c51 = mac(c51, b, w1)
                    }
                    let m = products + (e * winogradTileBlock + t) * 64
                    m.storeBytes(of: c00, as: __m256i.self); (m + 32).storeBytes(of: c01, as: __m256i.self)
                    (m + 64).storeBytes(of: c10, as: __m256i.self); (m + 96).storeBytes(of: c11, as: __m256i.self)
                    (m + 128).storeBytes(of: c20, as: __m256i.self); (m + 160).storeBytes(of: c21, as: __m256i.self)
                    (m + 192).storeBytes(of: c30, as: __m256i.self); (m + 224).storeBytes(of: c31, as: __m256i.self)
                    (m + 256).storeBytes(of: c40, as: __m256i.self); (m + 288).storeBytes(of: c41, as: __m256i.self)
                    (m + 320).storeBytes(of: c50, as: __m256i.self); (m + 352).storeBytes(of: c51, as: __m256i.self)
                    t += 6
                }
            }
            transformOutput(pair, firstTile: first, cb: cb)
            cb += 16
        }
        first += winogradTileBlock
    }
}
/// `winogradTransformInput` for a multiple of 16 channels: 16 bytes widened to 16 Int16 per ymm.
@inline(__always) private func transformInput(_ pair: Conv3x3RowPair, firstTile: Int) {
    let c = pair.inChannels
    let v = UnsafeMutableRawPointer(pair.transformedInput)
    let elementStride = winogradTileBlock * c * 2  // bytes
    let rows = (UnsafeRawPointer(pair.row0), UnsafeRawPointer(pair.row1), UnsafeRawPointer(pair.row2), UnsafeRawPointer(pair.row3))
    let zero = UnsafeRawPointer(pair.zeroColumn)
    for t in 0..<winogradTileBlock {
        let tile = firstTile + t
        let out = v + t * c * 2
        if tile >= pair.tileCount {
            for e in 0..<16 { (out + e * elementStride).initializeMemory(as: UInt8.self, repeating: 0, count: 2 * c) }
            continue
        }
        // Byte offsets of the tile's four input columns in a padded row; the fourth is past the
        // row when the width is odd and the tile is the last (it reads the zero column then).
        let p = 2 * tile
        let inside3 = p + 3 <= pair.width + 1
        @inline(__always) func d(_ row: UnsafeRawPointer, _ j: Int, _ ch: Int) -> __m256i {
            let at = j == 3 && !inside3 ? zero + ch : row + (p + j) * c + ch
            return _mm256_cvtepu8_epi16(at.loadUnaligned(as: __m128i.self))
        }
        var ch = 0
        while ch < c {
            // B^T d per column: (d0 - d2, d1 + d2, d2 - d1, d1 - d3).
            @inline(__always) func column(_ j: Int) -> (__m256i, __m256i, __m256i, __m256i) {
                let d0 = d(rows.0, j, ch), d1 = d(rows.1, j, ch), d2 = d(rows.2, j, ch), d3 = d(rows.3, j, ch)
                return (_mm256_sub_epi16(d0, d2), _mm256_add_epi16(d1, d2), _mm256_sub_epi16(d2, d1), _mm256_sub_epi16(d1, d3))
            }
            let c0 = column(0), c1 = column(1), c2 = column(2), c3 = column(3)
            // (B^T d) B along each row, element e = 4i + j.
            @inline(__always) func row(_ i: Int, _ t0: __m256i, _ t1: __m256i, _ t2: __m256i, _ t3: __m256i) {
                let o = out + i * 4 * elementStride + ch * 2
                o.storeBytes(of: _mm256_sub_epi16(t0, t2), as: __m256i.self)
                (o + elementStride).storeBytes(of: _mm256_add_epi16(t1, t2), as: __m256i.self)
                (o + 2 * elementStride).storeBytes(of: _mm256_sub_epi16(t2, t1), as: __m256i.self)
                (o + 3 * elementStride).storeBytes(of: _mm256_sub_epi16(t1, t3), as: __m256i.self)
            }
            row(0, c0.0, c1.0, c2.0, c3.0)
            row(1, c0.1, c1.1, c2.1, c3.1)
            row(2, c0.2, c1.2, c2.2, c3.2)
            row(3, c0.3, c1.3, c2.3, c3.3)
            ch += 16
        }
    }
}

/// `winogradTransformOutput` with AVX2: A^T M A, the exact division by 4, bias, and the direct
/// kernel's requantisation and store, 8 channels per ymm.
@inline(__always) private func transformOutput(_ pair: Conv3x3RowPair, firstTile: Int, cb: Int) {
    let m = UnsafeRawPointer(pair.products)
    let tiles = min(winogradTileBlock, pair.tileCount - firstTile)
    let bias = UnsafeRawPointer(pair.bias + cb)
    let bias0 = load(bias, 0), bias1 = load(bias, 32)
    for t in 0..<tiles {
        // The 2x2 outputs of 8 channels (half 0: cb...cb+7, half 1: cb+8...cb+15).
        @inline(__always) func outputs(_ half: Int, _ b: __m256i) -> (__m256i, __m256i, __m256i, __m256i) {
            @inline(__always) func p(_ e: Int) -> __m256i { load(m, ((e * winogradTileBlock + t) * 16 + 8 * half) * 4) }
            @inline(__always) func column(_ j: Int) -> (__m256i, __m256i) {
                let m0 = p(j), m1 = p(4 + j), m2 = p(8 + j), m3 = p(12 + j)
                return (_mm256_add_epi32(_mm256_add_epi32(m0, m1), m2), _mm256_sub_epi32(_mm256_sub_epi32(m1, m2), m3))
            }
            let c0 = column(0), c1 = column(1), c2 = column(2), c3 = column(3)
            @inline(__always) func y(_ a: __m256i, _ b1: __m256i, _ c: __m256i, _ plus: Bool) -> __m256i {
                let s = plus ? _mm256_add_epi32(_mm256_add_epi32(a, b1), c) : _mm256_sub_epi32(_mm256_sub_epi32(a, b1), c)
                return _mm256_add_epi32(_mm256_srai_epi32(s, 2), b)
            }
            return (y(c0.0, c1.0, c2.0, true), y(c1.0, c2.0, c3.0, false), y(c0.1, c1.1, c2.1, true), y(c1.1, c2.1, c3.1, false))
        }
        let lo = outputs(0, bias0), hi = outputs(1, bias1)
        let x = 2 * (firstTile + t)
        store(lo.0, hi.0, pair, pair.output0, x, cb)
        store(lo.2, hi.2, pair, pair.output1, x, cb)
        if x + 1 < pair.width {
            store(lo.1, hi.1, pair, pair.output0, x + 1, cb)
            store(lo.3, hi.3, pair, pair.output1, x + 1, cb)
        }
    }
}

/// Requantisation (or raw Int32) and store of channels cb...cb+15 of pixel x, bias already added.
@inline(__always) private func store(_ a0: __m256i, _ a1: __m256i, _ pair: Conv3x3RowPair, _ row: UnsafeMutableRawPointer, _ x: Int, _ cb: Int) {
    if pair.requantize {
        let q0 = requantizeU7(a0, pair.multipliers + cb), q1 = requantizeU7(a1, pair.multipliers + cb + 8)
        // As in the direct kernel's finish: packs work within 128-bit lanes, the permutation
        // puts q0 0-7, q1 0-7 in the low half.
        let w16 = _mm256_packs_epi32(q0, q1)
        let b8 = _mm256_packus_epi16(w16, w16)
        let ordered = _mm256_permutevar8x32_epi32(b8, _mm256_setr_epi32(0, 4, 1, 5, 0, 0, 0, 0))
        (row + x * pair.outChannels + cb).storeBytes(of: _mm256_castsi256_si128(ordered), as: __m128i.self)
    } else {
        let out = row + (x * pair.outChannels + cb) * 4
        out.storeBytes(of: a0, as: __m256i.self)
        (out + 32).storeBytes(of: a1, as: __m256i.self)
    }
}

@inline(__always) private func requantizeU7(_ a: __m256i, _ m: UnsafePointer<Float>) -> __m256i {
    let f = _mm256_mul_ps(_mm256_cvtepi32_ps(a), _mm256_loadu_ps(m))
    return _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(f, _mm256_setzero_ps()), _mm256_set1_ps(127)))
}
#endif
