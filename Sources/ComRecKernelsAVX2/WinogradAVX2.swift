// AVX2 Winograd F(2x2, 3x3) kernel (ComRecKernels/Winograd/WinogradRowPair.swift). The products
// are Int16 x Int16 with vpmaddwd: one instruction multiplies 8 output channels by a pair of input
// channels and sums the pair into Int32 (16 multiply-accumulates), then vpaddd accumulates, so 16
// Winograd-domain MACs take 2 instructions where the direct kernel needs 3 for 32 MACs; with 2.25
// times fewer multiplies per output (16 per 2x2 tile and channel against 36), the multiplier
// (vpmaddwd and vpmaddubsw share one port on Zen 2 and Skylake) does 2.25 / 2 * 2 = 1.125 x... see
// docs/performance.md for what the measurement says.
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
    precondition(winogradTileBlock == 6, "the register blocking is 6 tiles")
    let pairs = pair.inChannels / 2
    let weightStep = pair.outChannels * 4  // bytes per channel pair
    let tileStep = pair.inChannels * 2  // bytes between the tiles of one element of V
    let v = UnsafeRawPointer(pair.transformedInput)
    let products = UnsafeMutableRawPointer(pair.products)
    var first = 0
    while first < pair.tileCount {
        winogradTransformInput(pair, firstTile: first)
        var cb = 0
        while cb < pair.outChannels {
            for e in 0..<16 {
                var w = UnsafeRawPointer(pair.weights) + e * pairs * weightStep + cb * 4
                var x = v + e * winogradTileBlock * tileStep
                let z = _mm256_setzero_si256()
                var c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z
                var c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z
                for _ in 0..<pairs {
                    let w0 = load(w, 0), w1 = load(w, 32)
                    w += weightStep
                    var b = broadcast(x, 0)
                    c00 = mac(c00, b, w0); c01 = mac(c01, b, w1)
                    b = broadcast(x, tileStep)
                    c10 = mac(c10, b, w0); c11 = mac(c11, b, w1)
                    b = broadcast(x, 2 * tileStep)
                    c20 = mac(c20, b, w0); c21 = mac(c21, b, w1)
                    b = broadcast(x, 3 * tileStep)
                    c30 = mac(c30, b, w0); c31 = mac(c31, b, w1)
                    b = broadcast(x, 4 * tileStep)
                    c40 = mac(c40, b, w0); c41 = mac(c41, b, w1)
                    b = broadcast(x, 5 * tileStep)
                    c50 = mac(c50, b, w0); c51 = mac(c51, b, w1)
                    x += 4
                }
                let m = products + e * winogradTileBlock * 64
                m.storeBytes(of: c00, as: __m256i.self); (m + 32).storeBytes(of: c01, as: __m256i.self)
                (m + 64).storeBytes(of: c10, as: __m256i.self); (m + 96).storeBytes(of: c11, as: __m256i.self)
                (m + 128).storeBytes(of: c20, as: __m256i.self); (m + 160).storeBytes(of: c21, as: __m256i.self)
                (m + 192).storeBytes(of: c30, as: __m256i.self); (m + 224).storeBytes(of: c31, as: __m256i.self)
                (m + 256).storeBytes(of: c40, as: __m256i.self); (m + 288).storeBytes(of: c41, as: __m256i.self)
                (m + 320).storeBytes(of: c50, as: __m256i.self); (m + 352).storeBytes(of: c51, as: __m256i.self)
            }
            winogradTransformOutput(pair, firstTile: first, cb: cb)
            cb += 16
        }
        first += winogradTileBlock
    }
}
#endif
