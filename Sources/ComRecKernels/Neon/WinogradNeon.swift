// NEON Winograd F(2x2, 3x3) kernel (Winograd/WinogradRowPair.swift) for cores without the dot
// product. The transformed operands are Int16, so the multiply is smlal/smlal2 (4 Int16 products
// into 4 Int32 lanes): a weight register holds 4 output channels x one channel pair, the input
// pair is duplicated across the lanes, and each Int32 lane accumulates one channel of the pair;
// addp folds the two halves at the end (as the direct NEON kernel does with sadalp).
//
// Register blocking, 16x3: 4 q registers of weights (16 output channels x one channel pair) times
// 3 duplicated input pairs feed 24 accumulators: 31 of the 32 v registers. Per channel pair: one
// 64-byte weight load, 3 duplicating loads, 24 multiply-accumulates of 4 lanes.
#if arch(arm64)
import _Builtin_intrinsics.arm.neon

/// The accumulators of one tile: 16 output channels as 8 pairs of half sums.
private struct TileHalves {
    var a0 = SIMD4<Int32>(), a1 = SIMD4<Int32>(), a2 = SIMD4<Int32>(), a3 = SIMD4<Int32>()
    var a4 = SIMD4<Int32>(), a5 = SIMD4<Int32>(), a6 = SIMD4<Int32>(), a7 = SIMD4<Int32>()

    @inline(__always) mutating func add(_ w0: SIMD8<Int16>, _ w1: SIMD8<Int16>, _ w2: SIMD8<Int16>, _ w3: SIMD8<Int16>, _ b: SIMD8<Int16>) {
        let lo = vget_low_s16(b)
        a0 = vmlal_s16(a0, vget_low_s16(w0), lo); a1 = vmlal_high_s16(a1, w0, b)
        a2 = vmlal_s16(a2, vget_low_s16(w1), lo); a3 = vmlal_high_s16(a3, w1, b)
        a4 = vmlal_s16(a4, vget_low_s16(w2), lo); a5 = vmlal_high_s16(a5, w2, b)
        a6 = vmlal_s16(a6, vget_low_s16(w3), lo); a7 = vmlal_high_s16(a7, w3, b)
    }

    /// Output channels 0...15 of the tile as Int32, into `m`.
    @inline(__always) func store(_ m: UnsafeMutableRawPointer) {
        m.storeBytes(of: vpaddq_s32(a0, a1), as: SIMD4<Int32>.self)
        (m + 16).storeBytes(of: vpaddq_s32(a2, a3), as: SIMD4<Int32>.self)
        (m + 32).storeBytes(of: vpaddq_s32(a4, a5), as: SIMD4<Int32>.self)
        (m + 48).storeBytes(of: vpaddq_s32(a6, a7), as: SIMD4<Int32>.self)
    }
}

/// The input channel pair `p` of a tile, duplicated into 4 lanes of 2 Int16.
@inline(__always) private func duplicated(_ x: UnsafeRawPointer, _ p: Int) -> SIMD8<Int16> {
    vreinterpretq_s16_s32(vdupq_n_s32(x.loadUnaligned(fromByteOffset: 4 * p, as: Int32.self)))
}

@inline(never)
public func conv3x3WinogradF2x3U7S16_16x3_neon(_ pair: Conv3x3RowPair) {
    winogradClearZeroColumn(pair)
    let pairs = pair.inChannels / 2
    let tileStep = pair.inChannels * 2  // bytes between the tiles of one element of V
    let v = UnsafeRawPointer(pair.transformedInput)
    let products = UnsafeMutableRawPointer(pair.products)
    var first = 0
    while first < pair.tileCount {
        winogradTransformInput(pair, firstTile: first)
        let used = min(winogradTileBlock, (pair.tileCount - first + 2) / 3 * 3)
        var cb = 0
        while cb < pair.outChannels {
            for e in 0..<16 {
                let weights = UnsafeRawPointer(pair.weights + winogradWeightOffset(inChannels: pair.inChannels, cb: cb, element: e))
                var t = 0
                while t < used {
                    let x0 = v + (e * winogradTileBlock + t) * tileStep
                    let x1 = x0 + tileStep, x2 = x0 + 2 * tileStep
                    var h0 = TileHalves(), h1 = TileHalves(), h2 = TileHalves()
                    for p in 0..<pairs {
                        let w = weights + 64 * p
                        let w0 = w.loadUnaligned(as: SIMD8<Int16>.self)
                        let w1 = w.loadUnaligned(fromByteOffset: 16, as: SIMD8<Int16>.self)
                        let w2 = w.loadUnaligned(fromByteOffset: 32, as: SIMD8<Int16>.self)
                        let w3 = w.loadUnaligned(fromByteOffset: 48, as: SIMD8<Int16>.self)
                        h0.add(w0, w1, w2, w3, duplicated(x0, p))
                        h1.add(w0, w1, w2, w3, duplicated(x1, p))
                        h2.add(w0, w1, w2, w3, duplicated(x2, p))
                    }
                    let m = products + (e * winogradTileBlock + t) * 64
                    h0.store(m)
                    h1.store(m + 64)
                    h2.store(m + 128)
                    t += 3
                }
            }
            winogradTransformOutput(pair, firstTile: first, cb: cb)
            cb += 16
        }
        first += winogradTileBlock
    }
}
#endif
