// The static description of a network that generated code hands to the network runner: plain structs
// and pointers (Embedded-safe), one per 3x3 convolution, in two forms:
//   Conv3x3Canonical: what training exports, weights [cout][ky][kx][cin] (the reference reads it);
//   Conv3x3Packed:    the same layer in the kernels' packing (Packing.swift), which the
//                     tile plan and every SIMD kernel read.

/// What a layer reads and writes (docs/int8.md).
public enum ConvLayerKind: Equatable, Sendable {
    /// RGB8 image (0...255, 3 channels) in, U7 out, ReLU.
    case firstConv3x3
    /// U7 in, U7 out, ReLU; stride 1 or 2.
    case conv3x3
    /// U7 in; 3-channel signed residual (-255...255) added to the base image, clamped to 0...255.
    case lastConv3x3Residual
    /// U7 in; 12-channel residual, pixel-shuffled to twice the resolution, added to the base image.
    case lastConv3x3PixelShuffleResidual
}

/// How a layer's weights are laid out (a type-level tag: canonical and packed layers cannot be
/// mixed up).
public protocol Conv3x3WeightLayout {}
/// `[outChannels][3][3][inChannels]`, as training exports; bias and multipliers have
/// `outChannels` entries.
public enum CanonicalWeights: Conv3x3WeightLayout {}
/// `packConv3x3Weights` order (`packedWeightCount(...)` bytes); bias and multipliers have
/// `paddedOutChannels(outChannels)` entries, zero past `outChannels`.
public enum PackedWeights: Conv3x3WeightLayout {}

/// One 3x3 convolution: kind, channels, stride and pointers to its parameters in `Layout`.
public struct Conv3x3Layer<Layout: Conv3x3WeightLayout> {
    public var kind: ConvLayerKind
    public var inChannels: Int
    public var outChannels: Int
    public var stride: Int
    /// -127...127.
    public var weights: UnsafePointer<Int8>
    /// In accumulator units.
    public var bias: UnsafePointer<Int32>
    /// `s_in * s_w[c] / s_out` as Float32.
    public var multipliers: UnsafePointer<Float>
    /// The weights transformed for Winograd F(2x2, 3x3) (`packWinogradWeights`), or nil where the
    /// layer cannot use it (not a stride-1 hidden layer, or too many channels to stay exact).
    public var winogradWeights: UnsafePointer<Int16>?

    public init(
        kind: ConvLayerKind, inChannels: Int, outChannels: Int, stride: Int = 1,
        weights: UnsafePointer<Int8>, bias: UnsafePointer<Int32>, multipliers: UnsafePointer<Float>,
        winogradWeights: UnsafePointer<Int16>? = nil
    ) {
        self.kind = kind
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.stride = stride
        self.weights = weights
        self.bias = bias
        self.multipliers = multipliers
        self.winogradWeights = winogradWeights
    }
}

/// A layer as exported by training; the scalar reference reads it.
public typealias Conv3x3Canonical = Conv3x3Layer<CanonicalWeights>

/// A layer in kernel packing; the tile plan (NetworkTilePlan) and every kernel read it. Generated code may
/// point it at static data packed ahead of time.
public typealias Conv3x3Packed = Conv3x3Layer<PackedWeights>

extension Conv3x3Layer where Layout == PackedWeights {
    /// Channels per pixel of the tensor the kernel reads (see `kernelInChannels`).
    public var kernelIn: Int { kernelInChannels(kind: kind, inChannels: inChannels) }
    /// Output channels the kernel computes (multiple of 16).
    public var kernelOut: Int { paddedOutChannels(outChannels) }

    /// Whether the layer can run with Winograd F(2x2, 3x3) exactly: a stride-1 hidden layer whose
    /// channel count keeps every intermediate in Int32 (`winogradF2x3Admits`, docs/int8.md).
    public static func admitsWinograd(kind: ConvLayerKind, inChannels: Int, stride: Int) -> Bool {
        kind == .conv3x3 && stride == 1 && winogradF2x3Admits(inChannels: (inChannels + 3) & ~3)
    }

    /// Packs a canonical layer into freshly allocated memory, with Winograd weights where the layer
    /// admits them and `winograd` is true; release it with `deallocate()`.
    public static func allocate(packing layer: Conv3x3Canonical, winograd: Bool = true) -> Conv3x3Packed {
        let count = packedWeightCount(kind: layer.kind, inChannels: layer.inChannels, outChannels: layer.outChannels)
        let w = UnsafeMutablePointer<Int8>.allocate(capacity: count)
        packConv3x3Weights(
            kind: layer.kind, inChannels: layer.inChannels, outChannels: layer.outChannels,
            canonical: layer.weights, packed: w)
        let n = paddedOutChannels(layer.outChannels)
        let b = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        let m = UnsafeMutablePointer<Float>.allocate(capacity: n)
        padConv3x3Parameters(
            outChannels: layer.outChannels, bias: layer.bias, multipliers: layer.multipliers,
            paddedBias: b, paddedMultipliers: m)
        var transformed: UnsafeMutablePointer<Int16>? = nil
        if winograd && admitsWinograd(kind: layer.kind, inChannels: layer.inChannels, stride: layer.stride) {
            let kin = (layer.inChannels + 3) & ~3
            let t = UnsafeMutablePointer<Int16>.allocate(capacity: winogradWeightCount(inChannels: kin, outChannels: n))
            packWinogradWeights(inChannels: layer.inChannels, outChannels: layer.outChannels, canonical: layer.weights, packed: t)
            transformed = t
        }
        return Conv3x3Packed(
            kind: layer.kind, inChannels: layer.inChannels, outChannels: layer.outChannels,
            stride: layer.stride, weights: w, bias: b, multipliers: m,
            winogradWeights: transformed.map { UnsafePointer($0) })
    }

    /// Frees memory made by `allocate(packing:)` (never call it on static data).
    public func deallocate() {
        UnsafeMutablePointer(mutating: weights).deallocate()
        UnsafeMutablePointer(mutating: bias).deallocate()
        UnsafeMutablePointer(mutating: multipliers).deallocate()
        winogradWeights.map { UnsafeMutablePointer(mutating: $0).deallocate() }
    }
}
