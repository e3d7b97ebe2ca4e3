// Scalar reference 3x3 convolution: the specification every kernel is tested against.
// Written as the maths reads (docs/int8.md, "3x3 convolution"), not for speed.

/// 3x3 convolution with zero padding 1 and stride 1 or 2, producing raw Int32 accumulators
/// (bias included) in NHWC order.
///
/// - input: `height x width x inChannels` bytes, rows packed. Any UInt8 values (the first layer
///   reads 0...255, hidden layers 0...127).
/// - weights: canonical layout `[outChannels][3][3][inChannels]`, Int8 in -127...127.
/// - accumulators: `ceil(height/stride) x ceil(width/stride) x outChannels` Int32.
///
/// Range: |acc| <= 9 * inChannels * 255 * 127 + |bias|; for 64 U7 channels 9 * 64 * 127 * 127 <
/// 2^24, and for the RGB8 first layer 27 * 255 * 127 < 2^20 (Int32 cannot overflow).
public func conv3x3Reference(
    input: UnsafePointer<UInt8>, width: Int, height: Int, inChannels: Int,
    weights: UnsafePointer<Int8>, bias: UnsafePointer<Int32>, outChannels: Int, stride: Int,
    accumulators: UnsafeMutablePointer<Int32>
) {
    precondition(stride == 1 || stride == 2)
    let outHeight = (height + stride - 1) / stride, outWidth = (width + stride - 1) / stride
    for oy in 0..<outHeight {
        for ox in 0..<outWidth {
            for co in 0..<outChannels {
                var acc = bias[co]
                for ky in 0..<3 {
                    let iy = stride * oy + ky - 1
                    if iy < 0 || iy >= height { continue }  // zero padding: zero point is 0
                    for kx in 0..<3 {
                        let ix = stride * ox + kx - 1
                        if ix < 0 || ix >= width { continue }
                        let pixel = input + (iy * width + ix) * inChannels
                        let w = weights + ((co * 3 + ky) * 3 + kx) * inChannels
                        for ci in 0..<inChannels {
                            acc += Int32(pixel[ci]) * Int32(w[ci])
                        }
                    }
                }
                accumulators[(oy * outWidth + ox) * outChannels + co] = acc
            }
        }
    }
}

/// Hidden-layer epilogue: ReLU + requantisation to U7 (0...127), one multiplier per channel.
public func requantizeU7Reference(
    accumulators: UnsafePointer<Int32>, pixels: Int, channels: Int,
    multipliers: UnsafePointer<Float>, output: UnsafeMutablePointer<UInt8>
) {
    for p in 0..<pixels {
        for c in 0..<channels {
            let q = requantize(accumulators[p * channels + c], multipliers[c], lo: 0, hi: 127)
            output[p * channels + c] = UInt8(q)
        }
    }
}

/// Last-layer epilogue: the accumulators become a signed residual in pixel units (-255...255),
/// which is added to the base image and clamped: `out = clamp(base + residual, 0, 255)`.
/// `accumulators`, `base` and `output` are all `pixels x 3`.
public func residualReference(
    accumulators: UnsafePointer<Int32>, pixels: Int, multipliers: UnsafePointer<Float>,
    base: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>
) {
    for p in 0..<pixels {
        for c in 0..<3 {
            let r = requantize(accumulators[p * 3 + c], multipliers[c], lo: -255, hi: 255)
            output[p * 3 + c] = addResidual(base[p * 3 + c], r)
        }
    }
}

/// The residual add: `clamp(base + residual, 0, 255)` with residual in -255...255.
@inline(__always)
public func addResidual(_ base: UInt8, _ residual: Int32) -> UInt8 {
    let v = Int32(base) + residual
    return UInt8(v < 0 ? 0 : (v > 255 ? 255 : v))
}

/// Pixel shuffle (sub-pixel convolution) of a 12-channel compact residual followed by the residual
/// add. Channel `c * 4 + dy * 2 + dx` of compact pixel (y, x) is channel c of output pixel
/// (2y + dy, 2x + dx) (PyTorch `PixelShuffle(2)` order). The output is
/// `outputHeight x outputWidth x 3` with `outputHeight <= 2 * height`, `outputWidth <= 2 * width`
/// (the decoder crops odd sizes); `base` has the output's size.
public func pixelShuffleResidualReference(
    accumulators: UnsafePointer<Int32>, width: Int, height: Int, multipliers: UnsafePointer<Float>,
    base: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>, outputWidth: Int, outputHeight: Int
) {
    precondition(outputWidth <= 2 * width && outputHeight <= 2 * height)
    for oy in 0..<outputHeight {
        for ox in 0..<outputWidth {
            let y = oy / 2, dy = oy % 2, x = ox / 2, dx = ox % 2
            for c in 0..<3 {
                let ch = c * 4 + dy * 2 + dx
                let r = requantize(accumulators[(y * width + x) * 12 + ch], multipliers[ch], lo: -255, hi: 255)
                let i = (oy * outputWidth + ox) * 3 + c
                output[i] = addResidual(base[i], r)
            }
        }
    }
}
