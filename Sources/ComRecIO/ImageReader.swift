import ComRecCodec

/// How input images are read.
public struct ImageReadOptions: Equatable, Sendable {
    /// Images claiming more pixels than this are refused before any pixel memory is allocated.
    public var maxPixels: Int
    /// Composite images with transparency on white instead of refusing them.
    public var flattenAlpha: Bool
    /// The limits of JPEG inputs, and whether damaged JPEG data is an error (the default) or
    /// patched and reported (lenient).
    public var jpegRules: JPEGDecodeRules
    /// The memory the caller's whole operation needs per pixel of the image (WorkingMemory): it
    /// is asked of the allocator once the size is known, before any pixel is decoded; 0 skips it.
    public var workingBytesPerPixel: Int
    /// Input files larger than this are refused (`readInputFile`).
    public var maxInputBytes: Int

    public init(
        maxPixels: Int = defaultMaxPixels, flattenAlpha: Bool = false, jpegRules: JPEGDecodeRules = JPEGDecodeRules(),
        workingBytesPerPixel: Int = 0, maxInputBytes: Int = defaultMaxInputBytes
    ) {
        self.maxPixels = maxPixels
        self.flattenAlpha = flattenAlpha
        self.jpegRules = jpegRules
        self.workingBytesPerPixel = workingBytesPerPixel
        self.maxInputBytes = maxInputBytes
    }
}

/// What the lenient JPEG decodes of one operation let through: kept for its report.
final class DamageLog: @unchecked Sendable {  // used by one operation on one thread
    private(set) var damage: JPEGDamage?

    func record(_ new: JPEGDamage) {
        damage = damage.map { JPEGDamage(warnings: $0.warnings + new.warnings, firstWarning: $0.firstWarning,
                                         firstRow: $0.firstRow, rows: $0.rows) } ?? new
    }

    /// A coder with `rules` that records here.
    func coder(_ rules: JPEGDecodeRules) -> LibJPEG {
        LibJPEG(rules: rules, onDamage: { [self] in record($0) })
    }
}

/// The image formats ComRec reads, recognised by their first bytes (never by the file name).
public enum ImageFormat: String, Sendable {
    case png, jpeg, pnm

    /// Enough first bytes for `detect` to know any of the formats (PNG's signature is the longest).
    public static let signatureBytes = 8

    public static let all: Set<ImageFormat> = [.png, .jpeg, .pnm]

    public static func detect(_ bytes: [UInt8]) -> ImageFormat? {
        if bytes.starts(with: PNG.signature) { return .png }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if bytes.count >= 2, bytes[0] == UInt8(ascii: "P"), (UInt8(ascii: "1")...UInt8(ascii: "7")).contains(bytes[1]) {
            return .pnm
        }
        return nil
    }
}

/// Decodes a PNG, JPEG or binary PPM/PGM held in memory to RGB8. With lenient JPEG rules,
/// `onDamage` hears of damaged JPEG data that was patched rather than refused.
public func decodeImage(
    _ bytes: [UInt8], options: ImageReadOptions = ImageReadOptions(), onDamage: (@Sendable (JPEGDamage) -> Void)? = nil
) throws -> RGB8Image {
    guard !bytes.isEmpty else { throw ComRecIOError(.emptyImageData) }
    switch ImageFormat.detect(bytes) {
    case .png:
        return try PNG.decode(bytes, options: options)
    case .jpeg:
        let jpeg = LibJPEG(rules: options.jpegRules, onDamage: onDamage)
        let header: JPEGHeader
        do throws(ComRecError) { header = try jpeg.readHeader(bytes) } catch { throw ComRecIOError(error) }
        try WorkingMemory.admit(width: header.width, height: header.height, options: options)
        do throws(ComRecError) {
            return try jpeg.decode(bytes, maxPixels: options.maxPixels)
        } catch {
            throw ComRecIOError(error)
        }
    case .pnm:
        return try PNM.decode(bytes, options: options)
    case nil:
        throw ComRecIOError(.notAnImage(start: describeStart(bytes)))
    }
}

/// Reads and decodes the image file at `path`; errors name the file.
public func readImage(path: String, options: ImageReadOptions = ImageReadOptions()) throws -> RGB8Image {
    let bytes = try readInputFile(path, maxBytes: options.maxInputBytes, formats: ImageFormat.all)
    return try attributing(to: path) { try decodeImage(bytes, options: options) }
}

/// The first bytes of a file for a message: the format when it is an image, the text when they
/// are printable ASCII, else hex.
func describeStart(_ bytes: [UInt8]) -> String {
    switch ImageFormat.detect(bytes) {
    case .png: return "a PNG signature"
    case .jpeg: return "a JPEG marker"
    case .pnm: return "a PPM/PGM header"
    case nil: break
    }
    let head = bytes.prefix(12)
    if head.allSatisfy({ (32...126).contains($0) || $0 == 9 || $0 == 10 || $0 == 13 }) {
        let text = String(decoding: head, as: UTF8.self)
            .replacingAll("\n", with: "\\n").replacingAll("\r", with: "\\r").replacingAll("\t", with: "\\t")
        return "the text \"" + text + "\""
    }
    let digits = Array("0123456789abcdef")
    return "bytes " + head.prefix(8).map { String([digits[Int($0 >> 4)], digits[Int($0 & 15)]]) }.joined(separator: " ")
}

extension String {
    /// Foundation-free replacement of every occurrence of a character.
    fileprivate func replacingAll(_ character: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == character { out += replacement } else { out.append(c) } }
        return out
    }
}
