import ComRecKernels

// What a generated model file (comrec-compile, docs/models.md) describes: plain structs and one
// base64 StaticString per network, nothing decoded until first use. Embedded-safe.
//
// Network blob, format 1 (what the base64 text decodes to; little-endian throughout):
//   offset 0   "CRN1"                  magic and blob format
//          4   role         UInt8      NetworkRole
//          5   semantics    UInt8      1 = docs/int8.md (bump it with any change there)
//          6   layer count  UInt16
//          8   per layer, 8 bytes:     kind UInt8 (LayerKindCode), stride UInt8, cin UInt16,
//                                      cout UInt16, reserved UInt16 = 0
//          then per layer in order:    weights  Int8    [cout][3][3][cin]  (canonical, -127...127)
//                                      bias     Int32   [cout]             (accumulator units)
//                                      multiplier Float32 [cout]           (IEEE bits)
// The model hash is the first 8 bytes of SHA-256 over the profile's blobs concatenated, ComCNN's
// first (when there is one), so it covers the shapes and the wiring as well as the weights.

/// What a network reads and what its residual is added to.
public enum NetworkRole: UInt8, Sendable {
    /// ComCNN: the image replicate-padded to even sizes; residual onto its 2x2 average.
    case comcnn = 0
    /// `paper` RecCNN: the x2 bicubic upsampling of the decoded compact image, at full resolution;
    /// residual onto that upsampling.
    case reccnnUpsampled = 1
    /// `fast` RecCNN: the decoded compact image; a 12-channel residual pixel-shuffled onto the x2
    /// upsampling.
    case reccnnDecoded = 2
    /// Full-resolution mode's enhancer: reads the decoded full-resolution JPEG (padded
    /// to even sizes by replication when a layer has stride 2) and adds its residual to that same
    /// image: a 3-channel residual at full resolution (`paper` wiring) or, after a stride-2 first
    /// layer, a 12-channel residual pixel-shuffled back to full resolution (`fast` wiring).
    case enhancer = 3
}

/// Layer kinds as stored in a blob.
public enum LayerKindCode {
    public static func code(_ kind: ConvLayerKind) -> UInt8 {
        switch kind {
        case .firstConv3x3: return 0
        case .conv3x3: return 1
        case .lastConv3x3Residual: return 2
        case .lastConv3x3PixelShuffleResidual: return 3
        }
    }

    public static func kind(_ code: UInt8) -> ConvLayerKind? {
        switch code {
        case 0: return .firstConv3x3
        case 1: return .conv3x3
        case 2: return .lastConv3x3Residual
        case 3: return .lastConv3x3PixelShuffleResidual
        default: return nil
        }
    }
}

/// The shape of one 3x3 convolution, fixed when the model is generated.
public struct LayerShape: Equatable, Sendable {
    public var kind: ConvLayerKind
    public var inChannels: Int
    public var outChannels: Int
    public var stride: Int

    public init(_ kind: ConvLayerKind, _ inChannels: Int, _ outChannels: Int, stride: Int = 1) {
        self.kind = kind
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.stride = stride
    }

    /// Bytes of this layer's weights, bias and multipliers in a blob.
    public var blobBytes: Int { outChannels * 9 * inChannels + 8 * outChannels }

    /// Multiply-accumulates per pixel of this layer's output.
    public var macsPerOutputPixel: Int { 9 * inChannels * outChannels }
}

/// One network of a generated model.
public struct NetworkSource: Sendable {
    public var role: NetworkRole
    public var layers: [LayerShape]
    /// Base64 of the blob (line breaks allowed).
    public var base64: StaticString
    /// Bytes of the decoded blob.
    public var blobBytes: Int

    public init(role: NetworkRole, layers: [LayerShape], base64: StaticString, blobBytes: Int) {
        self.role = role
        self.layers = layers
        self.base64 = base64
        self.blobBytes = blobBytes
    }

    /// Bytes of the blob header for `layerCount` layers.
    public static func headerBytes(layerCount: Int) -> Int { 8 + 8 * layerCount }
}

/// A generated model: the networks of one codec profile.
public struct ModelSource: Sendable {
    /// The profile name (what `--profile` takes and files record).
    public var profile: String
    /// One line for `--help`.
    public var summary: String
    /// First 8 bytes of SHA-256 over the blobs, most significant byte first.
    public var modelHash: UInt64
    /// ComCNN, or nil when the compact image is the plain 2x2 average (and for an enhancer).
    public var com: NetworkSource?
    /// The decoding network: a RecCNN (half-resolution mode) or an enhancer (full-resolution mode).
    public var rec: NetworkSource

    public init(profile: String, summary: String, modelHash: UInt64, com: NetworkSource?, rec: NetworkSource) {
        self.profile = profile
        self.summary = summary
        self.modelHash = modelHash
        self.com = com
        self.rec = rec
    }
}

/// What a generated file defines: a caseless enum with its source and its decoded model.
public protocol GeneratedModel: Sendable {
    static var source: ModelSource { get }
    /// Decoded and packed on first use (a `static let`, so once per process, thread-safe).
    static var model: LearnedModel { get }
}
