// The call every convolution kernel implements: one output row of a 3x3 convolution.
//
// Tensors are NHWC with one zero pixel of border on each side of a row ("padded rows"): a row of
// W pixels and C channels takes (W + 2) * C bytes and pixel x lives at byte (x + 1) * C. Rows
// above or below the image are a row of zeros. So a kernel never tests an edge: output pixel x
// reads padded input columns stride * x + 0...2 of the three row pointers.

/// Arguments for one output row. Kernels read `inChannels` (a multiple of 4) bytes per input pixel
/// and compute `outChannels` (a multiple of 16) outputs per pixel with weights packed by
/// `packConv3x3Weights`.
public struct Conv3x3Row {
    /// Input rows stride * y - 1, stride * y, stride * y + 1, each at padded column 0.
    public var row0: UnsafePointer<UInt8>
    public var row1: UnsafePointer<UInt8>
    public var row2: UnsafePointer<UInt8>
    public var inChannels: Int
    public var outChannels: Int
    public var stride: Int
    /// Output pixels in this row.
    public var width: Int
    public var weights: UnsafePointer<Int8>
    /// `outChannels` entries (padded).
    public var bias: UnsafePointer<Int32>
    public var multipliers: UnsafePointer<Float>
    /// Output pixel 0 (not the border). With `requantize`, `outChannels` U7 bytes per pixel
    /// (ReLU + requantisation); without, `outChannels` Int32 accumulators (bias included) per pixel.
    public var output: UnsafeMutableRawPointer
    public var requantize: Bool

    public init(
        row0: UnsafePointer<UInt8>, row1: UnsafePointer<UInt8>, row2: UnsafePointer<UInt8>,
        inChannels: Int, outChannels: Int, stride: Int, width: Int,
        weights: UnsafePointer<Int8>, bias: UnsafePointer<Int32>, multipliers: UnsafePointer<Float>,
        output: UnsafeMutableRawPointer, requantize: Bool
    ) {
        self.row0 = row0
        self.row1 = row1
        self.row2 = row2
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.stride = stride
        self.width = width
        self.weights = weights
        self.bias = bias
        self.multipliers = multipliers
        self.output = output
        self.requantize = requantize
    }

    /// Input row `ky` (0...2).
    @inline(__always) public func row(_ ky: Int) -> UnsafePointer<UInt8> {
        ky == 0 ? row0 : (ky == 1 ? row1 : row2)
    }
}

/// A convolution kernel family for one ISA. Generic code (the tile plan (NetworkTilePlan)) is specialised per
/// conforming type, so no existential or function value is needed (Embedded Swift).
public protocol Conv3x3Kernel: SendableMetatype {
    /// Computes one output row.
    static func conv3x3(_ row: Conv3x3Row)
    /// Computes two output rows of a stride-1 layer with Winograd F(2x2, 3x3) (a family without
    /// its own Winograd kernel gets the portable one).
    static func conv3x3WinogradF2x3(_ pair: Conv3x3RowPair)
}

extension Conv3x3Kernel {
    public static func conv3x3WinogradF2x3(_ pair: Conv3x3RowPair) { conv3x3WinogradF2x3U7S16_16x1_portable(pair) }
}

/// How a layer is computed: the direct 3x3 convolution, or Winograd F(2x2, 3x3) (stride-1 hidden
/// layers whose packed form carries transformed weights). Both give the same bytes.
public enum ConvAlgorithm: CaseIterable, Sendable {
    case direct
    case winogradF2x3

    /// "direct" or "winograd", as reports and COMREC_CONV spell it. (No String raw values in this
    /// Embedded module: their parser would link Unicode normalisation.)
    public var name: String {
        switch self {
        case .direct: return "direct"
        case .winogradF2x3: return "winograd"
        }
    }
}
