import ComRecCodec
import ComRecIO

/// The catalogue of bad inputs, each a file to give to `encode` or `decode`, the error case it must
/// produce (`reason`: the I/O tests run them through the library and match the case) and a piece
/// of its one-line message (`message`: the CLI tests run the built binary and match the text);
/// both check that no output file is left.
public struct BadInput: Sendable, CustomStringConvertible {
    public enum Command: String, Sendable { case encode, decode }

    public let name: String
    public let command: Command
    /// File name of the input; nil contents: the file is not created.
    public let fileName: String
    public let contents: [UInt8]?
    /// A --max-pixels to pass, when the case needs one.
    public let maxPixels: Int?
    /// Part of the message (after the path): what the CLI tests look for.
    public let message: String
    /// Whether an error's case is the expected one: what the library tests check.
    public let reason: @Sendable (ComRecIOError.Reason) -> Bool

    public var description: String { name }

    /// A matcher of `.codec` errors.
    static func codec(_ test: @escaping @Sendable (ComRecError) -> Bool) -> @Sendable (ComRecIOError.Reason) -> Bool {
        { if case .codec(let error) = $0 { test(error) } else { false } }
    }

    public static let all: [BadInput] = [
        BadInput(name: "missing file (encode)", command: .encode, fileName: "missing.png", contents: nil,
                 maxPixels: nil, message: "no such file",
                 reason: { $0 == .noSuchFile }),
        BadInput(name: "missing file (decode)", command: .decode, fileName: "missing.jpg", contents: nil,
                 maxPixels: nil, message: "no such file",
                 reason: { $0 == .noSuchFile }),
        BadInput(name: "empty file (encode)", command: .encode, fileName: "empty.png", contents: [],
                 maxPixels: nil, message: "file is empty",
                 reason: { $0 == .emptyFile }),
        BadInput(name: "empty file (decode)", command: .decode, fileName: "empty.jpg", contents: [],
                 maxPixels: nil, message: "file is empty",
                 reason: { $0 == .emptyFile }),
        BadInput(name: "truncated PNG", command: .encode, fileName: "truncated.png",
                 contents: Array(readBytes(Fixtures.demoImage).prefix(20_000)), maxPixels: nil,
                 message: "PNG data is invalid or truncated",
                 reason: { if case .png = $0 { true } else { false } }),
        BadInput(name: "PNG cut inside the header", command: .encode, fileName: "stub.png",
                 contents: Array(readBytes(Fixtures.demoImage).prefix(20)), maxPixels: nil,
                 message: "PNG data is invalid or truncated",
                 reason: { if case .png = $0 { true } else { false } }),
        BadInput(name: "truncated JPEG (encode)", command: .encode, fileName: "truncated-input.jpg",
                 contents: { let j = Crafting.plainJPEG(); return Array(j.prefix(j.count / 2)) }(), maxPixels: nil,
                 message: "JPEG data is invalid or truncated",
                 reason: codec { if case .jpeg = $0 { true } else { false } }),
        BadInput(name: "truncated ComRec file (decode)", command: .decode, fileName: "truncated.jpg",
                 contents: { let j = Crafting.comrecFile(); return Array(j.prefix(j.count * 2 / 3)) }(), maxPixels: nil,
                 message: "JPEG data is invalid or truncated",
                 reason: codec { if case .jpeg = $0 { true } else { false } }),
        BadInput(name: "text file named .png", command: .encode, fileName: "notes.png",
                 contents: Array("hello, this is not an image\n".utf8), maxPixels: nil,
                 message: "not a PNG, JPEG or binary PPM/PGM image",
                 reason: { if case .notAnImage = $0 { true } else { false } }),
        BadInput(name: "text file given to decode", command: .decode, fileName: "notes.jpg",
                 contents: Array("hello, this is not an image\n".utf8), maxPixels: nil,
                 message: "not a ComRec file",
                 reason: { if case .notAJPEGForDecode = $0 { true } else { false } }),
        BadInput(name: "JPEG without ComRec segment", command: .decode, fileName: "plain.jpg",
                 contents: Crafting.plainJPEG(), maxPixels: nil, message: "not a ComRec file",
                 reason: codec { $0 == .notComRec }),
        BadInput(name: "unknown format version", command: .decode, fileName: "version3.jpg",
                 contents: Crafting.comrecFile { $0[Crafting.versionOffset] = 3 }, maxPixels: nil,
                 message: "ComRec format version 3 is not supported",
                 reason: codec { if case .unsupportedVersion(found: 3, _) = $0 { true } else { false } }),
        BadInput(name: "unknown mode", command: .decode, fileName: "mode9.jpg",
                 contents: Crafting.comrecFile { $0[Crafting.modeOffset] = 9 }, maxPixels: nil,
                 message: "ComRec file uses mode 9, which this comrec does not know",
                 reason: codec { $0 == .unsupportedMode(9) }),
        BadInput(name: "full-mode file whose JPEG is the compact size", command: .decode, fileName: "fullsize.jpg",
                 contents: Crafting.comrecFile {
                     $0[Crafting.modeOffset] = 1
                     $0.replaceSubrange(Crafting.hashOffset..<Crafting.hashOffset + 8, with: FullResolutionModel.plainJPEG.modelHash.bytes)
                 }, maxPixels: nil,
                 message: "a full-mode file of an original of 40 x 30",
                 reason: codec { if case .storedSizeMismatch(mode: .full, _, _, 40, 30) = $0 { true } else { false } }),
        BadInput(name: "wrong model hash", command: .decode, fileName: "othermodel.jpg",
                 contents: Crafting.comrecFile { $0[Crafting.hashOffset] ^= 0xFF }, maxPixels: nil,
                 message: "made by a different 'bicubic' model",
                 reason: codec { if case .modelMismatch(profile: "bicubic", mode: .half, _, _) = $0 { true } else { false } }),
        BadInput(name: "PNG claiming 30000 x 30000", command: .encode, fileName: "huge.png",
                 contents: Crafting.pngHeaderOnly(width: 30000, height: 30000), maxPixels: nil,
                 message: "900.0 megapixels, over the limit of 100.0 megapixels",
                 reason: codec { $0 == .tooLarge(width: 30000, height: 30000, limit: defaultMaxPixels) }),
        BadInput(name: "PNG claiming 10000 x 10000 in 62 bytes", command: .encode, fileName: "forged.png",
                 contents: Crafting.pngHeaderOnly(width: 10000, height: 10000), maxPixels: nil,
                 message: "cannot hold 10000 x 10000 pixels",
                 reason: { $0 == .pngTooSmall(width: 10000, height: 10000, fileBytes: 62) }),
        BadInput(name: "image over --max-pixels", command: .encode, fileName: "demo.png",
                 contents: readBytes(Fixtures.demoImage), maxPixels: 100_000,
                 message: "over the limit of 0.1 megapixels",
                 reason: codec { $0 == .tooLarge(width: 768, height: 512, limit: 100_000) }),
        BadInput(name: "ComRec file over --max-pixels", command: .decode, fileName: "big.jpg",
                 contents: Crafting.comrecFile(), maxPixels: 1000, message: "over the limit",
                 reason: codec { if case .tooLarge(_, _, limit: 1000) = $0 { true } else { false } }),
        BadInput(name: "zero-width PNG", command: .encode, fileName: "zero.png",
                 contents: Crafting.pngHeaderOnly(width: 0, height: 10), maxPixels: nil,
                 message: "width is zero",
                 reason: { if case .png = $0 { true } else { false } }),
        BadInput(name: "zero-size PPM", command: .encode, fileName: "zero.ppm",
                 contents: Array("P6\n0 0\n255\n".utf8), maxPixels: nil, message: "has no pixels",
                 reason: codec { $0 == .emptyImage(width: 0, height: 0) }),
        BadInput(name: "zero-size ComRec segment", command: .decode, fileName: "zero.jpg",
                 contents: Crafting.comrecFile { for i in 0..<4 { $0[Crafting.widthOffset + i] = 0 } }, maxPixels: nil,
                 message: "has no pixels",
                 reason: codec { if case .emptyImage(width: 0, _) = $0 { true } else { false } }),
        BadInput(name: "palette PNG with indices past its palette", command: .encode, fileName: "palette-index.png",
                 contents: Crafting.pngPaletteIndexPastPalette(), maxPixels: nil,
                 message: "palette index past the end of its palette",
                 reason: { if case .png = $0 { true } else { false } }),
        BadInput(name: "PNG with real alpha", command: .encode, fileName: "alpha.png",
                 contents: readBytes(Fixtures.path("rgba-alpha-12x10.png")), maxPixels: nil,
                 message: "real alpha channel",
                 reason: { if case .realAlpha = $0 { true } else { false } }),
        // Metadata that a ComRec file cannot hold (docs/format.md, "Metadata"); each message
        // suggests --strip-metadata.
        BadInput(name: "EXIF larger than one APP1 segment", command: .encode, fileName: "big-exif.png",
                 contents: MetadataCrafting.png(chunks: [MetadataCrafting.eXIf(
                     MetadataCrafting.exifOrientation6 + [UInt8](repeating: 0, count: 70_000))]), maxPixels: nil,
                 message: "EXIF block of 70026 bytes is larger than one JPEG APP1 segment holds",
                 reason: { $0 == .exifTooLarge(bytes: 70_026) }),
        BadInput(name: "XMP larger than one APP1 segment", command: .encode, fileName: "big-xmp.png",
                 contents: MetadataCrafting.png(chunks: [MetadataCrafting.iTXtXMP([UInt8](repeating: 0x20, count: 65_505))]),
                 maxPixels: nil, message: "extended XMP is not supported",
                 reason: { $0 == .xmpTooLarge(bytes: 65_505) }),
        BadInput(name: "EXIF without a TIFF header", command: .encode, fileName: "bad-exif.jpg",
                 contents: MetadataCrafting.jpeg(segments: [
                     JPEGSegment(marker: 0xE1, payload: Array("Exif".utf8) + [0, 0] + Array("not a TIFF header".utf8))]),
                 maxPixels: nil, message: "EXIF block does not start with a TIFF header",
                 reason: { $0 == .exifWithoutTIFFHeader }),
        BadInput(name: "iCCP that does not inflate", command: .encode, fileName: "bad-iccp.png",
                 contents: MetadataCrafting.png(chunks: [("iCCP", Array("camera".utf8) + [0, 0] + Array("not zlib data".utf8))]),
                 maxPixels: nil, message: "colour profile cannot be read: its iCCP chunk does not inflate",
                 reason: { if case .iccProfileUnreadable = $0 { true } else { false } }),
    ]
}
