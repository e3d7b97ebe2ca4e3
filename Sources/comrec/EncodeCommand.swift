import ArgumentParser
import ComRecCodec
import ComRecIO
import Foundation

struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Store images as ComRec files (JPEGs of a half-size compact image, or of the image itself).",
        discussion: """
            A ComRec file stores either a half-size compact image that a network enlarges again \
            (half mode, best at low rates) or the image itself as an ordinary JPEG, cleaned up at \
            decode by the profile's enhancer when it has one (full mode, best at higher rates). --mode auto (the default) picks per image: \
            the file is at most the size of the full-mode JPEG at --quality Q (or within --bpp), and \
            half mode is used when the profile's rule says so (docs/modes.md; \(EncodeCommand.rules)): \
            at most a bit rate, or at most a quality of that JPEG and a trial of both modes on a \
            256 x 256 sample of the image agrees; with --effort 2 both modes are made and decoded \
            on the whole image (full mode also without its enhancer) and the better PSNR is kept.

            Reads PNG (8/16-bit grey, RGB or palette), JPEG or binary PPM/PGM. Images with \
            transparent pixels are refused unless --flatten-alpha. EXIF (orientation included; \
            pixels are never rotated), XMP and the ICC profile of a JPEG or PNG are kept in the \
            file, and `comrec decode` writes them into its PNG; --strip-metadata keeps only the ICC profile. The output is written under a \
            temporary name and renamed, so no partial file is ever left; inputs are never modified. \
            `-` reads the image from standard input or writes the file to standard output \
            (`comrec encode - -o - < in.png > out.jpg`), which gets the file only once it is complete.
            """)

    /// Each profile's effort-1 rule, for the discussion above.
    static var rules: String {
        Profile.catalogue.map { "\($0.name) \($0.halfModeRule.description)" }.joined(separator: ", ")
    }

    @Argument(help: ArgumentHelp("Images to encode (PNG, JPEG or binary PPM/PGM; - for standard input).", valueName: "input"))
    var inputs: [String]

    @OptionGroup var write: WriteOptions

    @Option(help: "JPEG quality, 1...100: of the stored image with --mode half or full; with --mode auto, the size budget (a plain JPEG at this quality).")
    var quality: Int = EncodeOptions.defaultQuality

    @Option(help: ArgumentHelp(
        "Rate control: the largest file of at most this many bits per pixel of the image (whole file; replaces --quality).",
        valueName: "bits"))
    var bpp: Double?

    @Option(help: ArgumentHelp(
        "Codec profile: \(Profile.catalogue.map { "\($0.name) (\($0.summary))" }.joined(separator: "; ")).",
        valueName: "name"))
    var profile: ProfileName = .defaultProfile

    @Option(help: ArgumentHelp(
        "auto (choose per image), half (compact image, best at low rates) or full (the image itself, best at high rates).",
        valueName: "mode"))
    var mode: ModeRequest = .auto

    @Option(help: ArgumentHelp(
        "How --mode auto chooses: 1, by the profile's rule (with a trial on a sample); 2, by making and decoding both (slower).",
        valueName: "1|2"))
    var effort: Int = 1

    @Option(help: ArgumentHelp(
        "How the JPEG's coefficients are laid out in scans (the same pixels whichever): smallest (the default: the smallest file of one baseline scan and three progressive scripts, each written in full: a few percent smaller from about 0.3 bits per pixel up; decoders then hold the coefficients of a progressive file whole, about 3 bytes per pixel of the stored image), baseline (one sequential scan, which a decoder can stream a row at a time: docs/embedding.md) or progressive (libjpeg's standard progression).",
        valueName: "smallest|baseline|progressive"))
    var scans: JPEGScans?

    @Flag(help: "The same as --scans progressive.")
    var progressive = false

    @Flag(inversion: .prefixedNo, help: ArgumentHelp(
        "Trellis-quantise the stored JPEG: each block's coefficients chosen for the least error plus bits, in standard JPEG syntax (smaller files for the same quality of picture; encoding takes longer). --no-trellis rounds them, as libjpeg does. In half mode only where the profile's RecCNN learnt from trellis JPEGs (fast, with its own tables); otherwise half mode's JPEG is rounded."))
    var trellis = true

    @Option(help: ArgumentHelp(
        "Quantisation tables of the stored JPEG: comrec (made for squared error: smaller files for the same PSNR) or standard (the JPEG standard's, as plain libjpeg writes them). Either way an ordinary JPEG. Default: the profile's, those its networks learnt from (comrec; standard for paper).",
        valueName: "comrec|standard"))
    var tables: JPEGTables?

    @Flag(help: "Composite images with transparency on white instead of refusing them.")
    var flattenAlpha = false

    @Flag(help: "Drop the EXIF and XMP metadata (camera, GPS, orientation, ...); keep only the ICC colour profile. By default EXIF, XMP and the ICC profile are carried into the file.")
    var stripMetadata = false

    @OptionGroup var read: ReadOptions

    @OptionGroup var jpegInput: JPEGInputOptions

    func validate() throws {
        try validateQuality(quality)
        if let bpp, !(bpp > 0 && bpp.isFinite) { throw ValidationError("--bpp must be a positive number of bits per pixel, not \(bpp)") }
        guard effort == 1 || effort == 2 else { throw ValidationError("--effort must be 1 or 2, not \(effort)") }
        if progressive, let scans, scans != .progressive {
            throw ValidationError("--progressive is --scans progressive; it cannot go with --scans \(scans.rawValue)")
        }
        if effort == 2 && mode != .auto {
            throw ValidationError("--effort 2 tries both modes; it needs --mode auto, not --mode \(mode.rawValue)")
        }
    }

    func run() throws {
        let options = EncodeOptions(
            profile: try reportingFailure { try profile.resolved() }, quality: quality, scans: progressive ? .progressive : scans ?? .smallest,
            trellis: trellis, tables: tables, mode: mode, effort: effort,
            read: read.imageOptions(
                bytesPerPixel: wholeImageEncodeBytesPerPixel(effort: effort, trellis: trellis),
                flattenAlpha: flattenAlpha, jpegRules: jpegInput.rules),
            force: write.force,
            stripMetadata: stripMetadata)
        try runBatch(inputs: inputs, output: write.output, outputExtension: "jpg", verb: "encoded") { input, output in
            let report = try bpp.map { try encodeFile(input: input, output: output, options: options, maxBitsPerPixel: $0) }
                ?? encodeFile(input: input, output: output, options: options)
            damageWarning(input, report.damage)
            return "\(input) -> \(output): \(report.width) x \(report.height), \(report.mode.name) mode, quality \(report.quality), "
                + "\(report.fileBytes) bytes, " + decimalString(report.bitsPerPixel, 3) + " bpp (\(report.reason))"
        }
    }
}
