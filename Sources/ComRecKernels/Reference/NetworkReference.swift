// Whole-image reference run of a network, layer by layer, with the scalar reference operators and
// canonical weights. The tile plan (NetworkTilePlan) with any kernel, tile height and thread count must give
// exactly these bytes.

/// Runs `layers` on the RGB8 `input` (`width x height`) and writes `outputWidth x outputHeight`
/// RGB8 pixels: the last layer's residual added to `base` (same size as the output), clamped.
/// The output may be smaller than the network's natural output size (the decoder crops).
public func runNetworkReference(
    layers: [Conv3x3Canonical], input: UnsafePointer<UInt8>, width: Int, height: Int,
    base: UnsafePointer<UInt8>, output: UnsafeMutablePointer<UInt8>, outputWidth: Int, outputHeight: Int
) {
    precondition(layers.count >= 2 && layers[0].kind == .firstConv3x3)
    var w = width, h = height, channels = 3
    var current = UnsafeMutablePointer<UInt8>.allocate(capacity: w * h * 3)
    current.initialize(from: input, count: w * h * 3)
    for layer in layers {
        precondition(layer.inChannels == channels, "layer input channels must match")
        let ow = (w + layer.stride - 1) / layer.stride, oh = (h + layer.stride - 1) / layer.stride
        let acc = UnsafeMutablePointer<Int32>.allocate(capacity: ow * oh * layer.outChannels)
        conv3x3Reference(
            input: current, width: w, height: h, inChannels: channels, weights: layer.weights,
            bias: layer.bias, outChannels: layer.outChannels, stride: layer.stride, accumulators: acc)
        current.deallocate()
        switch layer.kind {
        case .firstConv3x3, .conv3x3:
            current = UnsafeMutablePointer<UInt8>.allocate(capacity: ow * oh * layer.outChannels)
            requantizeU7Reference(
                accumulators: acc, pixels: ow * oh, channels: layer.outChannels,
                multipliers: layer.multipliers, output: current)
        case .lastConv3x3Residual:
            precondition(layer.outChannels == 3 && outputWidth <= ow && outputHeight <= oh)
            // Crop: copy the kept columns of each kept row, then apply the residual.
            let cropped = UnsafeMutablePointer<Int32>.allocate(capacity: outputWidth * outputHeight * 3)
            for y in 0..<outputHeight {
                (cropped + y * outputWidth * 3).update(from: acc + y * ow * 3, count: outputWidth * 3)
            }
            residualReference(
                accumulators: cropped, pixels: outputWidth * outputHeight,
                multipliers: layer.multipliers, base: base, output: output)
            cropped.deallocate()
            current = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        case .lastConv3x3PixelShuffleResidual:
            precondition(layer.outChannels == 12)
            pixelShuffleResidualReference(
                accumulators: acc, width: ow, height: oh, multipliers: layer.multipliers,
                base: base, output: output, outputWidth: outputWidth, outputHeight: outputHeight)
            current = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        }
        acc.deallocate()
        w = ow
        h = oh
        channels = layer.outChannels
    }
    current.deallocate()
}
