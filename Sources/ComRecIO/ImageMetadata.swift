import ComRecCodec

// EXIF, XMP and the ICC profile, carried from the input image into the ComRec file and on into
// the decoded PNG (docs/format.md, "Metadata"). In a JPEG (input or ComRec file) they are the
// standard segments, separate from the ComRec segment: APP1 "Exif\0\0", APP1 XMP and APP2
// ICC_PROFILE chunks. PNG.swift reads and writes their PNG chunks (eXIf, iTXt, iCCP).

/// The metadata of one image, as raw bytes; nil where the image has none. The pixels are never
/// changed to suit it: an EXIF orientation is kept as it is for viewers to apply.
public struct ImageMetadata: Equatable, Sendable {
    /// The EXIF block: a TIFF structure (starting "II*\0" or "MM\0*"), without JPEG's "Exif\0\0".
    public var exif: [UInt8]?
    /// The XMP packet (UTF-8 XML), without JPEG's namespace header.
    public var xmp: [UInt8]?
    /// The ICC colour profile, reassembled from its chunks.
    public var icc: [UInt8]?
    /// Why a colour profile the input has could not be read (a PNG iCCP that does not inflate,
    /// JPEG ICC chunks that are not numbered 1...N); `icc` is nil then. Encoding refuses the
    /// profile unless metadata is stripped, decoding goes on without it.
    public var unreadableICC: String?

    public init(exif: [UInt8]? = nil, xmp: [UInt8]? = nil, icc: [UInt8]? = nil, unreadableICC: String? = nil) {
        self.exif = exif
        self.xmp = xmp
        self.icc = icc
        self.unreadableICC = unreadableICC
    }

    /// The headers and limits of the segments that carry metadata (MetadataSegments).
    public static let exifHeader = MetadataSegments.exifHeader
    public static let xmpHeader = MetadataSegments.xmpHeader
    public static let iccHeader = MetadataSegments.iccHeader
    public static let maxExifBytes = MetadataSegments.maxExifBytes
    public static let maxXMPBytes = MetadataSegments.maxXMPBytes
    public static let maxICCBytes = MetadataSegments.maxICCBytes

    public var isEmpty: Bool { exif == nil && xmp == nil && icc == nil && unreadableICC == nil }

    /// What `--strip-metadata` keeps: the colour profile alone (the pixels mean nothing exact
    /// without it), and only when it can be read.
    public var colourProfileOnly: ImageMetadata { ImageMetadata(icc: icc) }

    /// The metadata in a JPEG's APPn segments (file order): the first EXIF and XMP segments, and
    /// the ICC profile from its chunks in sequence order. Other segments (JFIF, the ComRec
    /// segment, extended XMP, ...) are not metadata that ComRec carries. Never throws: what cannot
    /// be read is described in `unreadableICC`.
    public init(jpegSegments segments: [JPEGSegment]) {
        self.init()
        var iccChunks: [(sequence: Int, count: Int, bytes: ArraySlice<UInt8>)] = []
        for segment in segments {
            let payload = segment.payload
            if segment.marker == 0xE1, exif == nil, payload.starts(with: Self.exifHeader) {
                exif = Array(payload.dropFirst(Self.exifHeader.count))
            } else if segment.marker == 0xE1, xmp == nil, payload.starts(with: Self.xmpHeader) {
                xmp = Array(payload.dropFirst(Self.xmpHeader.count))
            } else if segment.marker == 0xE2, payload.starts(with: Self.iccHeader), payload.count >= Self.iccHeader.count + 2 {
                let at = Self.iccHeader.count
                iccChunks.append((Int(payload[at]), Int(payload[at + 1]), payload[(at + 2)...]))
            }
        }
        guard !iccChunks.isEmpty else { return }
        // As libjpeg's jpeg_read_icc_profile: every chunk gives the same count N and the sequence
        // numbers are 1...N, each once.
        let count = iccChunks[0].count
        let sequences = iccChunks.map(\.sequence).sorted()
        guard count >= 1, iccChunks.allSatisfy({ $0.count == count }), sequences == Array(1...count) else {
            unreadableICC = "its \(iccChunks.count) APP2 ICC_PROFILE chunks are not numbered 1 to \(count)"
            return
        }
        icc = iccChunks.sorted { $0.sequence < $1.sequence }.flatMap(\.bytes)
    }

    /// Refuses what a ComRec file cannot hold: EXIF or XMP larger than one APP1 segment, EXIF
    /// without a TIFF header, a colour profile that cannot be read or is over 255 chunks.
    public func checkStorable() throws {
        if let problem = MetadataSegments.problem(exif: exif, xmp: xmp, icc: nil) { throw Self.error(problem) }
        if let unreadableICC { throw ComRecIOError(.iccProfileUnreadable(unreadableICC)) }
        if let problem = MetadataSegments.problem(exif: nil, xmp: nil, icc: icc) { throw Self.error(problem) }
    }

    private static func error(_ problem: MetadataSegments.Problem) -> ComRecIOError {
        switch problem {
        case .exifTooLarge(let bytes): return ComRecIOError(.exifTooLarge(bytes: bytes))
        case .exifWithoutTIFFHeader: return ComRecIOError(.exifWithoutTIFFHeader)
        case .xmpTooLarge(let bytes): return ComRecIOError(.xmpTooLarge(bytes: bytes))
        case .iccProfileTooLarge(let bytes): return ComRecIOError(.iccProfileTooLarge(bytes: bytes))
        }
    }

    /// The segments that carry this metadata in a JPEG (MetadataSegments.segments). Checks first.
    public func jpegSegments() throws -> [JPEGSegment] {
        try checkStorable()
        do throws(ComRecError) {
            return try MetadataSegments.segments(exif: exif, xmp: xmp, icc: icc)
        } catch {
            throw ComRecIOError(error)
        }
    }
}

/// The metadata of an input image held in memory (PNG chunks, JPEG segments; PPM/PGM have none).
/// With `strip` (`--strip-metadata`) only a readable colour profile is kept. A JPEG's segments are
/// read within `jpegRules`' limits.
public func readMetadata(_ bytes: [UInt8], strip: Bool = false, jpegRules: JPEGDecodeRules = JPEGDecodeRules()) throws -> ImageMetadata {
    let metadata: ImageMetadata
    switch ImageFormat.detect(bytes) {
    case .png: metadata = PNG.metadata(bytes)
    case .jpeg:
        do throws(ComRecError) {
            metadata = ImageMetadata(jpegSegments: try LibJPEG(rules: jpegRules).readHeader(bytes).segments)
        } catch {
            throw ComRecIOError(error)
        }
    case .pnm, nil: metadata = ImageMetadata()
    }
    return strip ? metadata.colourProfileOnly : metadata
}
