// The JPEG segments that carry an image's EXIF, XMP and ICC profile in a ComRec file, beside the
// ComRec segment (docs/format.md, "Metadata"): APP1 "Exif\0\0" + the TIFF structure, APP1 XMP with
// its namespace header, APP2 ICC_PROFILE chunks numbered 1...N. Shared by the CLI (ComRecIO's
// ImageMetadata) and the C API, so that both write the same bytes.

public enum MetadataSegments {
    /// What an APP1 segment starts with when it holds EXIF (the TIFF structure follows).
    public static let exifHeader: [UInt8] = Array("Exif".utf8) + [0, 0]
    /// What an APP1 segment starts with when it holds the (main) XMP packet.
    public static let xmpHeader: [UInt8] = Array("http://ns.adobe.com/xap/1.0/".utf8) + [0]
    /// What each APP2 chunk of an ICC profile starts with, before its sequence number and count.
    public static let iccHeader: [UInt8] = Array("ICC_PROFILE".utf8) + [0]
    /// A JPEG segment's payload is at most 65533 bytes (its 2-byte length counts itself).
    public static let maxSegmentPayload = 65533
    /// The largest EXIF block one APP1 segment holds (JPEG has no standard way to split EXIF).
    public static let maxExifBytes = maxSegmentPayload - exifHeader.count
    /// The largest XMP packet one APP1 segment holds (extended XMP, which splits larger ones, is
    /// not written).
    public static let maxXMPBytes = maxSegmentPayload - xmpHeader.count
    /// Profile bytes per APP2 chunk: the payload less the header, sequence number and count.
    public static let maxICCChunkBytes = maxSegmentPayload - iccHeader.count - 2
    /// The largest profile 255 chunks (a one-byte count) hold.
    public static let maxICCBytes = 255 * maxICCChunkBytes

    /// Why metadata cannot go into a JPEG.
    public enum Problem: Equatable, Sendable {
        case exifTooLarge(bytes: Int)
        case exifWithoutTIFFHeader
        case xmpTooLarge(bytes: Int)
        case iccProfileTooLarge(bytes: Int)

        /// One line for the C API's messages (the CLI words its own).
        public var message: String {
            switch self {
            case .exifTooLarge(let bytes):
                return "EXIF of \(bytes) bytes does not fit one JPEG segment (at most \(maxExifBytes))"
            case .exifWithoutTIFFHeader:
                return "EXIF must start with a TIFF header (\"II*\\0\" or \"MM\\0*\"), without JPEG's \"Exif\\0\\0\""
            case .xmpTooLarge(let bytes):
                return "XMP of \(bytes) bytes does not fit one JPEG segment (at most \(maxXMPBytes))"
            case .iccProfileTooLarge(let bytes):
                return "an ICC profile of \(bytes) bytes does not fit 255 JPEG segments (at most \(maxICCBytes))"
            }
        }
    }

    /// The first reason the metadata cannot be stored, nil when it can.
    public static func problem(exif: [UInt8]?, xmp: [UInt8]?, icc: [UInt8]?) -> Problem? {
        if let exif {
            guard exif.count <= maxExifBytes else { return .exifTooLarge(bytes: exif.count) }
            guard exif.starts(with: Array("II*".utf8) + [0]) || exif.starts(with: Array("MM".utf8) + [0, 42]) else {
                return .exifWithoutTIFFHeader
            }
        }
        if let xmp, xmp.count > maxXMPBytes { return .xmpTooLarge(bytes: xmp.count) }
        if let icc, icc.count > maxICCBytes { return .iccProfileTooLarge(bytes: icc.count) }
        return nil
    }

    /// The segments, in the usual order: APP1 EXIF, APP1 XMP, then the APP2 ICC chunks (at most
    /// `maxICCChunkBytes` of profile each; none for an empty profile). Throws what `problem` says.
    public static func segments(exif: [UInt8]?, xmp: [UInt8]?, icc: [UInt8]?) throws(ComRecError) -> [JPEGSegment] {
        if let problem = problem(exif: exif, xmp: xmp, icc: icc) { throw .invalidArgument(problem.message) }
        var segments: [JPEGSegment] = []
        if let exif { segments.append(JPEGSegment(marker: 0xE1, payload: exifHeader + exif)) }
        if let xmp { segments.append(JPEGSegment(marker: 0xE1, payload: xmpHeader + xmp)) }
        if let icc, !icc.isEmpty {
            let count = (icc.count + maxICCChunkBytes - 1) / maxICCChunkBytes
            for index in 0..<count {
                let chunk = icc[index * maxICCChunkBytes..<min((index + 1) * maxICCChunkBytes, icc.count)]
                segments.append(JPEGSegment(marker: 0xE2, payload: iccHeader + [UInt8(index + 1), UInt8(count)] + chunk))
            }
        }
        return segments
    }
}
