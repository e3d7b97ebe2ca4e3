import ComRecKernels
import ComRecModels

/// Everything that can go wrong in the codec layer. Each case reads as one line that says what is
/// wrong and, where there is one, what to do; the I/O layer prefixes the file name.
public enum ComRecError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A JPEG without a ComRec segment.
    case notComRec
    /// Several ComRec segments in one file.
    case duplicateSegment
    /// The segment is shorter than its fields or holds an impossible value.
    case malformedSegment(String)
    /// The segment's format version is one this build does not read.
    case unsupportedVersion(found: Int, supported: ClosedRange<Int>)
    /// The segment's mode byte (format version 2) is one this build does not know.
    case unsupportedMode(UInt8)
    /// The segment has a critical extension record this build does not know.
    case unsupportedExtension(tag: UInt8)
    /// The file's profile is not in this build.
    case unknownProfile(name: String, available: [String])
    /// Same profile name, different model weights (of the file's mode).
    case modelMismatch(profile: String, mode: CodecMode, fileHash: ModelHash, buildHash: ModelHash)
    /// Claimed dimensions over the pixel limit (checked before allocating).
    case tooLarge(width: Int, height: Int, limit: Int)
    /// A width or height of zero.
    case emptyImage(width: Int, height: Int)
    /// The JPEG does not have the size the original dimensions and the mode imply.
    case storedSizeMismatch(mode: CodecMode, jpegWidth: Int, jpegHeight: Int, width: Int, height: Int)
    /// An argument outside its range (quality, profile name, ...).
    case invalidArgument(String)
    /// Rate control: even quality 1 makes a file larger than the target (bits per pixel of the
    /// original, whole file).
    case sizeTargetUnreachable(bitsPerPixel: Double, smallestBitsPerPixel: Double)
    /// libjpeg (or another JPEG coder) refused the data; the text is its message.
    case jpeg(String)
    /// The JPEG encoder failed; the text is its message.
    case jpegEncoder(String)
    /// The system refused memory for a buffer of this many bytes (an image, a plane, a network's
    /// scratch); `Int.max` when the size itself overflows.
    case outOfMemory(bytes: Int)

    public var description: String {
        switch self {
        case .notComRec:
            return "not a ComRec file: this JPEG has no ComRec segment (APP9 \"ComRec\"); "
                + "`comrec decode` reads only files written by `comrec encode`"
        case .duplicateSegment:
            return "malformed ComRec file: it has more than one ComRec segment"
        case .malformedSegment(let why):
            return "malformed ComRec segment: \(why)"
        case .unsupportedVersion(let found, let supported):
            return "ComRec format version \(found) is not supported by this comrec (it reads versions "
                + "\(supported.lowerBound) to \(supported.upperBound)); decode it with the comrec release that wrote it"
        case .unsupportedMode(let byte):
            return "ComRec file uses mode \(byte), which this comrec does not know (it knows "
                + CodecMode.allCases.map { "\($0.rawValue) \($0.name)" }.joined(separator: ", ") + "); decode it with a newer comrec"
        case .unsupportedExtension(let tag):
            return "ComRec segment needs extension \(tag) which this comrec does not know; "
                + "decode it with a newer comrec"
        case .unknownProfile(let name, let available):
            return "made with profile '\(name)', which this comrec does not have (it has: "
                + available.joined(separator: ", ") + ")"
        case .modelMismatch(let profile, let mode, let fileHash, let buildHash):
            let model = mode == .half ? "'\(profile)' model" : "'\(profile)' full-resolution enhancer"
            return "made by a different \(model) (file: model hash \(fileHash), this comrec: "
                + "model hash \(buildHash)); decode it with the comrec build that wrote it"
        case .tooLarge(let width, let height, let limit):
            let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
            return "image is \(width) x \(height) = \(overflow ? "too many pixels" : pixelCount(pixels)), over the "
                + "limit of \(pixelCount(limit)); raise --max-pixels (and --max-memory) if you trust this file"
        case .emptyImage(let width, let height):
            return "image is \(width) x \(height): it has no pixels"
        case .storedSizeMismatch(let mode, let jw, let jh, let width, let height):
            if mode == .full {
                return "malformed ComRec file: its JPEG is \(jw) x \(jh) but a full-mode file of an original of "
                    + "\(width) x \(height) stores it at that size"
            }
            let expected = compactSize(width: width, height: height)
            return "malformed ComRec file: the compact image is \(jw) x \(jh) but an original of "
                + "\(width) x \(height) needs \(expected.width) x \(expected.height)"
        case .invalidArgument(let why):
            return why
        case .sizeTargetUnreachable(let bpp, let smallest):
            return "even quality 1 gives \(decimalString(smallest, 3)) bits per pixel, above --bpp \(bpp); "
                + "allow more bits per pixel"
        case .jpeg(let message):
            return "JPEG data is invalid or truncated (libjpeg: \(message))"
        case .jpegEncoder(let message):
            return "JPEG encoding failed (libjpeg: \(message))"
        case .outOfMemory(let bytes):
            let size = bytes == Int.max ? "more bytes than the address space holds" : byteCount(bytes)
            return "out of memory: the system refused \(size) for an image buffer; free memory, raise the "
                + "process's memory limit or use a smaller image"
        }
    }

    /// The result of `allocate`, with a refused allocation as `outOfMemory`.
    public static func allocating<Result>(
        _ allocate: () throws(AllocationFailure) -> Result
    ) throws(ComRecError) -> Result {
        do { return try allocate() } catch { throw .outOfMemory(bytes: error.bytes) }
    }
}

/// "640 MB" (rounded, decimal megabytes) from 1 MB up, else "12345 bytes"; no Foundation.
public func byteCount(_ bytes: Int) -> String {
    bytes >= 1_000_000 ? "\((bytes + 500_000) / 1_000_000) MB" : "\(bytes) bytes"
}

/// "12.3 megapixels" (one decimal) from 0.1 megapixels up, else "12345 pixels"; no Foundation.
func pixelCount(_ pixels: Int) -> String {
    guard pixels >= 100_000 else { return "\(pixels) pixels" }
    let tenths = pixels / 100_000 + (pixels % 100_000 >= 50_000 ? 1 : 0)
    return "\(tenths / 10).\(tenths % 10) megapixels"
}
