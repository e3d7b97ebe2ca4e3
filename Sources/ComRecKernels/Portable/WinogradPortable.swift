// Portable Swift SIMD Winograd F(2x2, 3x3) kernel (WinogradRowPair.swift): always builds, always
// exact. One tile x 16 output channels per step; the packed weight dword of output channel c holds
// input channels 2p and 2p + 1 as two Int16 (little endian), sign-extended with shifts on Int32
// lanes as in the portable direct kernel.

@inline(never)
public func conv3x3WinogradF2x3U7S16_16x1_portable(_ pair: Conv3x3RowPair) {
    winogradClearZeroColumn(pair)
    let pairs = pair.inChannels / 2
    let weightStep = 64  // bytes per channel pair: 16 output channels x 2 Int16
    let v = UnsafeRawPointer(pair.transformedInput)
    let products = UnsafeMutableRawPointer(pair.products)
    var first = 0
    while first < pair.tileCount {
        winogradTransformInput(pair, firstTile: first)
        var cb = 0
        while cb < pair.outChannels {
            for e in 0..<16 {
                let weights = UnsafeRawPointer(pair.weights + winogradWeightOffset(inChannels: pair.inChannels, cb: cb, element: e))
                for t in 0..<winogradTileBlock {
                    let x = v + (e * winogradTileBlock + t) * pair.inChannels * 2
                    var acc = SIMD16<Int32>()
                    var w = weights
                    for p in 0..<pairs {
                        let wv = w.loadUnaligned(as: SIMD16<Int32>.self)
                        w += weightStep
                        let xv = x.loadUnaligned(fromByteOffset: 4 * p, as: UInt32.self)
                        let x0 = Int32(Int16(truncatingIfNeeded: xv)), x1 = Int32(Int16(truncatingIfNeeded: xv >> 16))
                        acc &+= ((wv &<< 16) &>> 16) &* x0
                        acc &+= (wv &>> 16) &* x1
                    }
                    (products + ((e * winogradTileBlock + t) * 16) * 4).storeBytes(of: acc, as: SIMD16<Int32>.self)
                }
            }
            winogradTransformOutput(pair, firstTile: first, cb: cb)
            cb += 16
        }
        first += winogradTileBlock
    }
}
