import CComRecImage

/// What a JPEG decoder accepts (docs/security.md): limits that bound the work a hostile file can
/// cause before its pixels are known to exist, and whether damaged data is an error.
public struct JPEGDecodeRules: Sendable, Equatable {
    /// Scans a progressive JPEG may have (each scan costs a pass over the whole image); >= 1.
    public var maxScans: Int
    /// APPn and COM segments before the image data, and their payload bytes in all.
    public var maxSegments: Int
    public var maxSegmentBytes: Int
    /// False (the default): libjpeg's corrupt-data warnings (a truncated file, a bad Huffman code)
    /// are errors, so no decode returns invented pixels. True: libjpeg patches the image as it can
    /// (grey rows past a truncation, a damaged block's neighbours repeated) and the damage is
    /// reported through `LibJPEG.onDamage`, for rescuing what a damaged file still holds.
    public var lenient: Bool
    /// False (the default): an arithmetic-coded JPEG's pixels are refused (its header is read).
    /// Where its data ends an arithmetic decoder legally goes on with zeros, so a few hundred
    /// bytes can make the largest image the pixel limit allows. ComRec never writes it, and it
    /// is rare in files in the wild.
    public var allowArithmetic: Bool

    public static let defaultMaxSegments = Int(CRC_JPEG_DEFAULT_MAX_SEGMENTS)
    public static let defaultMaxSegmentBytes = Int(CRC_JPEG_DEFAULT_MAX_SEGMENT_BYTES)

    public init(
        maxScans: Int = LibJPEG.defaultMaxScans, maxSegments: Int = JPEGDecodeRules.defaultMaxSegments,
        maxSegmentBytes: Int = JPEGDecodeRules.defaultMaxSegmentBytes, lenient: Bool = false,
        allowArithmetic: Bool = false
    ) {
        self.maxScans = max(1, maxScans)
        self.maxSegments = max(0, maxSegments)
        self.maxSegmentBytes = max(0, maxSegmentBytes)
        self.lenient = lenient
        self.allowArithmetic = allowArithmetic
    }

    /// The C wrapper's form.
    var c: crc_jpeg_rules {
        crc_jpeg_rules(max_scans: Int32(clamping: maxScans), max_segments: Int32(clamping: maxSegments),
                       max_segment_bytes: maxSegmentBytes, lenient: lenient ? 1 : 0,
                       allow_arithmetic: allowArithmetic ? 1 : 0)
    }
}

/// What a lenient decode let through: libjpeg's corrupt-data warnings, each a place where the
/// decoded image holds pixels that are not in the file.
public struct JPEGDamage: Sendable, Equatable {
    public let warnings: Int
    /// libjpeg's message for the first one ("Premature end of JPEG file", ...).
    public let firstWarning: String
    /// The JPEG's rows decoded before the first warning, and all of them: rows `firstRow..<rows`
    /// may hold patched pixels; none did when `firstRow == rows` (damage after the image data).
    public let firstRow: Int
    public let rows: Int

    public init(warnings: Int, firstWarning: String, firstRow: Int, rows: Int) {
        self.warnings = warnings
        self.firstWarning = firstWarning
        self.firstRow = firstRow
        self.rows = rows
    }
}
