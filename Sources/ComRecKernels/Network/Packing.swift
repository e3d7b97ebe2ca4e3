// Weight packing shared by every kernel (AVX-512 VNNI, AVX2, NEON dot, NEON, portable).
//
// Packed layout: [ky][kx][g][co][k] Int8, where the kernel's input channel is ci = 4 * g + k and
// co runs over paddedOutChannels(outChannels) (a multiple of 16; padding is 0). So for one tap
// and one group of 4 input channels, 16 output channels are 64 contiguous bytes: one zmm for
// vpdpbusd (16 lanes x 4 bytes), two ymm for vpmaddubsw + vpmaddwd, four q registers for sdot.
//
// The first layer reads RGB8 (0...255), which breaks the 7-bit argument (vpmaddubsw would
// saturate, sdot reads s8). It is turned into a U7 convolution with 12 input channels:
//   x = 2 * (x >> 1) + (x & 1), so   w * x = w * (x >> 1) + w * (x >> 1) + w * (x & 1)
// The input row becomes [R>>1, G>>1, B>>1, 0, R>>1, G>>1, B>>1, 0, R&1, G&1, B&1, 0] per pixel
// (expandRGB8Row) and each colour's weight is repeated at its three positions; every value is
// 0...127 and the accumulator is exactly the RGB8 one. It costs 12 instead of 3 channels on a
// layer that is about 1% of the network's MACs, and lets every ISA use its one fast kernel.

/// Output channels a kernel computes: `outChannels` rounded up to 16.
@inline(__always)
public func paddedOutChannels(_ outChannels: Int) -> Int { (outChannels + 15) & ~15 }

/// Channels per pixel in the tensor the kernel reads: 12 for the first layer (see above),
/// otherwise `inChannels` rounded up to 4.
@inline(__always)
public func kernelInChannels(kind: ConvLayerKind, inChannels: Int) -> Int {
    kind == .firstConv3x3 ? 12 : (inChannels + 3) & ~3
}

/// Bytes of packed weights for a layer.
public func packedWeightCount(kind: ConvLayerKind, inChannels: Int, outChannels: Int) -> Int {
    9 * kernelInChannels(kind: kind, inChannels: inChannels) * paddedOutChannels(outChannels)
}

/// Packs canonical weights `[outChannels][3][3][inChannels]` into the kernel layout above.
public func packConv3x3Weights(
    kind: ConvLayerKind, inChannels: Int, outChannels: Int,
    canonical: UnsafePointer<Int8>, packed: UnsafeMutablePointer<Int8>
) {
    precondition(kind != .firstConv3x3 || inChannels == 3, "the first layer reads RGB8")
    let kin = kernelInChannels(kind: kind, inChannels: inChannels)
    let kout = paddedOutChannels(outChannels)
    var i = 0
    for ky in 0..<3 {
        for kx in 0..<3 {
            for g in 0..<(kin / 4) {
                for co in 0..<kout {
                    for k in 0..<4 {
                        let ci = 4 * g + k
                        // Source channel in the canonical tensor, or -1 for a zero.
                        let source = kind == .firstConv3x3 ? (k == 3 ? -1 : k) : (ci < inChannels ? ci : -1)
                        packed[i] = co < outChannels && source >= 0
                            ? canonical[((co * 3 + ky) * 3 + kx) * inChannels + source] : 0
                        i += 1
                    }
                }
            }
        }
    }
}

/// Copies bias and multipliers into arrays of `paddedOutChannels(outChannels)`, zero-filled.
public func padConv3x3Parameters(
    outChannels: Int, bias: UnsafePointer<Int32>, multipliers: UnsafePointer<Float>,
    paddedBias: UnsafeMutablePointer<Int32>, paddedMultipliers: UnsafeMutablePointer<Float>
) {
    for c in 0..<paddedOutChannels(outChannels) {
        paddedBias[c] = c < outChannels ? bias[c] : 0
        paddedMultipliers[c] = c < outChannels ? multipliers[c] : 0
    }
}

/// Expands `width` RGB8 pixels into the first layer's 12-channel U7 form (see above).
public func expandRGB8Row(_ src: UnsafePointer<UInt8>, width: Int, into dst: UnsafeMutablePointer<UInt8>) {
    for x in 0..<width {
        let s = src + 3 * x, d = dst + 12 * x
        for c in 0..<3 {
            let v = s[c]
            d[c] = v >> 1
            d[4 + c] = v >> 1
            d[8 + c] = v & 1
        }
        d[3] = 0
        d[7] = 0
        d[11] = 0
    }
}
