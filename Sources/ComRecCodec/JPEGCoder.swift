import ComRecKernels

/// JPEG settings for an encode.
public struct JPEGSettings: Equatable, Sendable {
    public enum Chroma: Sendable { case subsampled420, full444 }

    /// 1...100 (libjpeg's scale).
    public var quality: Int
    public var chroma: Chroma
    /// Optimised Huffman tables (a second pass over the coefficients; smaller files, same pixels).
    public var optimizeCoding: Bool
    /// How the coefficients are laid out in scans (same pixels whichever).
    public var scans: JPEGScans
    /// One grey component (the image's first channel; its three channels are equal) instead of
    /// three colour ones.
    public var grey: Bool
    /// Rate-distortion optimised quantisation (trellis) instead of rounding: smaller files for the
    /// error, still standard JPEG. nil: libjpeg's own encoder, rounding.
    public var trellis: TrellisTuning?
    /// The quantisation tables `quality` scales: the JPEG standard's (libjpeg's default) or
    /// ComRec's, which every ComRec file uses (JPEGQuality.comrecLuma).
    public var tables: JPEGTables

    public init(quality: Int, chroma: Chroma = .subsampled420, optimizeCoding: Bool = true, scans: JPEGScans = .baseline,
                grey: Bool = false, trellis: TrellisTuning? = nil, tables: JPEGTables = .standard) {
        self.quality = quality
        self.chroma = chroma
        self.optimizeCoding = optimizeCoding
        self.scans = scans
        self.grey = grey
        self.trellis = trellis
        self.tables = tables
    }
}

/// How a JPEG's coefficients are laid out in scans. Every choice stores the same coefficients, so
/// the same pixels; only the size and how a decoder reads the file differ.
public enum JPEGScans: String, CaseIterable, Sendable {
    /// One sequential scan: a decoder can stream rows without holding the coefficients.
    case baseline
    /// libjpeg's standard progression (jpeg_simple_progression, 10 scans for colour).
    case progressive
    /// The smallest of one baseline scan and three progressive scripts of 5 to 7 scans (2 to 4
    /// for grey), each written in full (docs/format.md): a few percent smaller from about 0.3 bits
    /// per pixel up, baseline where that wins. Progressive files keep their coefficients whole at
    /// decode.
    case smallest
}

/// Which quantisation tables a JPEG is written with. Either way the file is an ordinary JPEG: the
/// tables travel in its DQT segment and every decoder uses them.
public enum JPEGTables: String, CaseIterable, Sendable {
    /// The example tables of the JPEG standard (Annex K), scaled as libjpeg scales them.
    case standard
    /// ComRec's tables for squared error (JPEGQuality.comrecLuma), scaled the same way.
    case comrec
}

/// How the trellis trades bits for error (JPEGSettings.trellis).
public struct TrellisTuning: Equatable, Sendable {
    /// Lambda as a multiple of luma's typical squared step (the geometric mean of its AC steps):
    /// larger gives smaller files at more error per coefficient. nil: chosen per file, by whether
    /// an enhancer will restore it (ComRecPipeline.file): `enhancedLambdaScale` when one will,
    /// else `plainLambdaScale`.
    public var lambdaScale: Double?
    /// Whether a ComRec file's half-mode JPEG (the compact image) is trellis-quantised too; by
    /// default only full mode's is (ComRecPipeline.file).
    public var inHalfMode: Bool

    public init(lambdaScale: Double? = nil, inHalfMode: Bool = false) {
        self.lambdaScale = lambdaScale
        self.inHalfMode = inHalfMode
    }

    /// Both chosen on training images, never the validation sets (docs/results.md, "Trellis
    /// quantisation"): for a JPEG decoded as it is, BD-rate is within 1% of its best from 0.035 to
    /// 0.07; under the enhancers (trained on rounded JPEGs) the best is near 0.02 for `tiny` and
    /// `fast` alike, since they restore detail that a larger lambda removes.
    public static let plainLambdaScale = 0.05
    public static let enhancedLambdaScale = 0.02
}

/// An APPn or COM segment: marker byte (0xE0 + n, or 0xFE) and payload (after the length bytes).
public struct JPEGSegment: Equatable, Sendable {
    public var marker: UInt8
    public var payload: [UInt8]
    public init(marker: UInt8, payload: [UInt8]) {
        self.marker = marker
        self.payload = payload
    }
}

/// What a JPEG's header says, read without decoding the pixels.
public struct JPEGHeader: Equatable, Sendable {
    public var width: Int
    public var height: Int
    /// Colour components in the file: 1 grey, 3 colour, 4 CMYK.
    public var components: Int
    public var progressive: Bool
    /// APPn and COM segments in file order.
    public var segments: [JPEGSegment]
    /// Each component's quantisation table (64 values in natural, row-major order): luma first.
    /// Empty when the coder does not report them.
    public var quantTables: [[UInt16]]

    public init(width: Int, height: Int, components: Int, progressive: Bool, segments: [JPEGSegment],
                quantTables: [[UInt16]] = []) {
        self.width = width
        self.height = height
        self.components = components
        self.progressive = progressive
        self.segments = segments
        self.quantTables = quantTables
    }
}

/// A JPEG encoder/decoder. The codec layer does no JPEG itself: ComRecIO provides libjpeg-turbo,
/// tests may provide a fake, an embedded build its own. Decoding must be deterministic.
public protocol JPEGCoder {
    /// Compresses an RGB image (its first channel alone with `settings.grey`), writing `segments`
    /// right after the JFIF APP0 segment.
    func encode(_ image: RGB8Image, settings: JPEGSettings, segments: [JPEGSegment]) throws(ComRecError) -> [UInt8]
    /// Reads the header and every APPn/COM segment, without decoding pixels.
    func readHeader(_ jpeg: [UInt8]) throws(ComRecError) -> JPEGHeader
    /// Decodes to RGB, refusing (before allocating) an image of more than `maxPixels` pixels.
    func decode(_ jpeg: [UInt8], maxPixels: Int) throws(ComRecError) -> RGB8Image
}
