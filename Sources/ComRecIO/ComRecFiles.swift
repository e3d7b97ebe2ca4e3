import ComRecCodec
import ComRecKernels

// File-level encode, decode and inspect: what the CLI's subcommands do for one file. Errors name
// the file they are about; no output file is left behind on failure.

/// Settings for `encodeFile`.
public struct EncodeOptions: Sendable {
    /// nil: the default profile (`Profile.defaultName`) on the shared runner.
    public var profile: Profile?
    /// JPEG settings (4:2:0, optimised Huffman, the smallest layout of scans by default, full mode's JPEG
    /// trellis-quantised unless `trellis` is false) and the quality of
    /// `encodeFile(input:output:options:)` (a size budget in auto mode, ModeChoice.swift).
    public var jpeg: JPEGSettings
    /// The quantisation tables (`--tables`); nil: the profile's (`Profile.tables`). Overrides
    /// `jpeg.tables`.
    public var tables: JPEGTables?
    /// Half, full, or chosen per file (docs/modes.md).
    public var mode: ModeRequest
    /// How auto mode chooses: 1 by the profile's rule (HalfModeRule), 2 by encoding and decoding both.
    public var effort: Int
    public var read: ImageReadOptions
    public var force: Bool
    /// Drop EXIF and XMP (`--strip-metadata`); a readable ICC profile is kept.
    public var stripMetadata: Bool

    /// The default JPEG quality of `comrec encode`.
    public static let defaultQuality = 75

    public init(
        profile: Profile? = nil, quality: Int = defaultQuality,
        scans: JPEGScans = .smallest, trellis: Bool = true, tables: JPEGTables? = nil, mode: ModeRequest = .auto, effort: Int = 1,
        read: ImageReadOptions = ImageReadOptions(), force: Bool = false, stripMetadata: Bool = false
    ) {
        self.profile = profile
        self.mode = mode
        self.effort = effort
        self.jpeg = JPEGSettings(quality: quality, chroma: .subsampled420, optimizeCoding: true, scans: scans,
                                 trellis: trellis ? TrellisTuning() : nil)
        self.tables = tables
        self.read = read
        self.force = force
        self.stripMetadata = stripMetadata
    }
}

/// What an encode produced.
public struct EncodeReport: Sendable {
    public var width: Int
    public var height: Int
    public var fileBytes: Int
    public var mode: CodecMode
    /// JPEG quality of the stored image (compact or full-size).
    public var quality: Int
    /// Why this mode (one line).
    public var reason: String
    /// Damaged JPEG input that lenient rules patched (nil: none).
    public var damage: JPEGDamage?
    public var bitsPerPixel: Double { Metrics.bitsPerPixel(fileBytes: fileBytes, width: width, height: height) }
}

/// Reads the image at `input` and writes its ComRec file to `output`, at `options.jpeg.quality`.
@discardableResult
public func encodeFile(input: String, output: String, options: EncodeOptions = EncodeOptions()) throws -> EncodeReport {
    try encodeFile(input: input, output: output, options: options, target: .quality(options.jpeg.quality))
}

/// Reads the image at `input` and writes the largest ComRec file of at most `maxBitsPerPixel` bits
/// per pixel of the original (the whole file counted) to `output`. `options.jpeg.quality` is ignored.
@discardableResult
public func encodeFile(input: String, output: String, options: EncodeOptions, maxBitsPerPixel: Double) throws -> EncodeReport {
    guard maxBitsPerPixel > 0, maxBitsPerPixel.isFinite else {
        throw ComRecIOError(.invalidBitsPerPixel(maxBitsPerPixel))
    }
    return try encodeFile(input: input, output: output, options: options, target: .bitsPerPixel(maxBitsPerPixel))
}

private func encodeFile(input: String, output: String, options: EncodeOptions, target: SizeTarget) throws -> EncodeReport {
    let bytes = try readInputFile(input, maxBytes: options.read.maxInputBytes, formats: ImageFormat.all)
    let out = try AtomicOutput(path: output, force: options.force, inputs: [input])
    let log = DamageLog()
    let image = try attributing(to: input) { try decodeImage(bytes, options: options.read, onDamage: { log.record($0) }) }
    let metadata = try attributing(to: input) {
        try readMetadata(bytes, strip: options.stripMetadata, jpegRules: options.read.jpegRules).jpegSegments()
    }
    let profile = try options.profile ?? Profile.hostedDefault()
    var settings = options.jpeg
    settings.tables = options.tables ?? profile.tables
    let encoder = ModeChoosingEncoder(
        jpeg: LibJPEG(), profile: profile, settings: settings, maxPixels: options.read.maxPixels, metadata: metadata)
    let made = try attributing(to: input) { try encoder.encode(image, target: target, mode: options.mode, effort: options.effort) }
    try out.commit(made.file)
    return EncodeReport(width: image.width, height: image.height, fileBytes: made.file.count, mode: made.mode,
                        quality: made.quality, reason: made.reason, damage: log.damage)
}

/// The reconstructed image of the ComRec file `bytes` (read from `path`, which errors name), with
/// `profiles` (nil: every registered profile on the shared runner).
public func decodeComRec(
    _ bytes: [UInt8], path: String, maxPixels: Int = defaultMaxPixels, profiles: [Profile]? = nil,
    jpegRules: JPEGDecodeRules = JPEGDecodeRules()
) throws -> RGB8Image {
    let pipeline = ComRecPipeline(jpeg: LibJPEG(rules: jpegRules), profiles: try profiles ?? Profile.hosted(), maxPixels: maxPixels)
    return try attributing(to: path) {
        guard ImageFormat.detect(bytes) == .jpeg else {
            throw ComRecIOError(.notAJPEGForDecode(start: describeStart(bytes)))
        }
        return try pipeline.decode(bytes)
    }
}

/// About how much memory `decodeFile` gives its band of output rows (8 MB): an image that fits is
/// decoded with one tile per thread, the least work; a larger one in bands of this size.
public let decodeBandBytes = 8_000_000

/// The file format of a decoded image, chosen by the output's name as the libjpeg and Netpbm
/// tools do: binary PPM (P6) for `.ppm` and `.pnm`, PGM (P5) for `.pgm` (grey images only), PNG
/// for every other name (standard output included). PNG is grey for a grey image.
public enum DecodedImageFormat: Sendable, Equatable {
    case png
    case ppm
    case pgm

    public init(outputPath path: String) {
        let name = path.lowercased()
        if name.hasSuffix(".ppm") || name.hasSuffix(".pnm") {
            self = .ppm
        } else if name.hasSuffix(".pgm") {
            self = .pgm
        } else {
            self = .png
        }
    }
}

/// Rows of a decoded image (RGB rows in) into an AtomicOutput as PNG, PPM or PGM; a grey image's
/// rows are written with one channel, except to PPM.
private final class DecodedRowWriter {
    private enum Writer {
        case png(PNG.RowWriter)
        case pnm(PNM.RowWriter)
    }

    private let writer: Writer
    /// Set when rows are written as grey: one channel of each RGB row.
    private var greyRow: [UInt8]

    /// `metadata` goes into a PNG's header; PPM and PGM cannot hold it.
    init(_ format: DecodedImageFormat, grey: Bool, output: AtomicOutput, width: Int, height: Int, pngLevel: Int,
         metadata: ImageMetadata) throws {
        if format == .pgm && !grey { throw ComRecIOError(.greyOutputOfColourImage) }
        let writesGrey = grey && format != .ppm
        greyRow = writesGrey ? [UInt8](repeating: 0, count: width) : []
        switch format {
        case .png:
            writer = .png(try PNG.RowWriter(descriptor: output.descriptor, width: width, height: height,
                                            channels: writesGrey ? 1 : 3, compressionLevel: pngLevel, metadata: metadata))
        case .ppm, .pgm:
            writer = .pnm(try PNM.RowWriter(output: output, width: width, height: height, grey: writesGrey))
        }
    }

    func write(row: UnsafePointer<UInt8>) throws {
        if greyRow.isEmpty { return try write(samples: row) }
        for x in 0..<greyRow.count { greyRow[x] = row[3 * x] }
        try greyRow.withUnsafeBufferPointer { try write(samples: $0.baseAddress!) }
    }

    private func write(samples: UnsafePointer<UInt8>) throws {
        switch writer {
        case .png(let png): try png.write(row: samples)
        case .pnm(let pnm): try pnm.write(row: samples)
        }
    }

    func finish() throws {
        if case .png(let png) = writer { try png.finish() }
    }
}

/// What `decodeFile` wrote.
public struct DecodeReport: Sendable {
    public var width: Int
    public var height: Int
    public var mode: CodecMode
    public var profile: String
    /// Working memory of the streamed decode (besides libjpeg's and libpng's own).
    public var arenaBytes: Int
    /// Damaged JPEG data that lenient rules patched (nil: none).
    public var damage: JPEGDamage?
}

/// Decodes the ComRec file at `input` (`-`: standard input) and writes the image to `output`
/// (`-`: standard output) as PNG (zlib level `pngLevel`) or PPM (DecodedImageFormat), a band of
/// rows at a time: JPEG rows in, image rows out, memory that grows with the width and not with
/// the height (ComRecCodec's StreamedDecode.swift). `profiles`: nil, every
/// registered profile on the shared runner. `tileRows`: grid rows per tile (StreamedRun); nil,
/// one tile per thread up to a band of about `decodeBandBytes` of output rows.
/// The file's EXIF, XMP and ICC profile go into a PNG's header (PPM cannot hold them).
@discardableResult
public func decodeFile(
    input: String, output: String, maxPixels: Int = defaultMaxPixels, force: Bool = false,
    pngLevel: Int = PNG.defaultCompressionLevel, profiles: [Profile]? = nil, tileRows: Int? = nil,
    jpegRules: JPEGDecodeRules = JPEGDecodeRules(), maxInputBytes: Int = defaultMaxInputBytes
) throws -> DecodeReport {
    guard (0...9).contains(pngLevel) else { throw ComRecIOError(.pngCompressionLevel(pngLevel)) }
    let format = DecodedImageFormat(outputPath: output)
    let bytes = try readInputFile(input, maxBytes: maxInputBytes, formats: [.jpeg])
    let out = try AtomicOutput(path: output, force: force, inputs: [input])
    let log = DamageLog()
    let jpeg = log.coder(jpegRules)
    let pipeline = ComRecPipeline(jpeg: jpeg, profiles: try profiles ?? Profile.hosted(), maxPixels: maxPixels)
    let (decoding, reader, metadata) = try attributing(to: input) { () throws -> (StreamedDecoding, LibJPEG.RowReader, ImageMetadata) in
        guard ImageFormat.detect(bytes) == .jpeg else {
            throw ComRecIOError(.notAJPEGForDecode(start: describeStart(bytes)))
        }
        let rows = tileRows ?? StreamedDecoding.fittedTileRows(bandBytes: decodeBandBytes)
        let decoding = try pipeline.streamedDecoding(bytes, tileRows: rows)
        // The file's own metadata segments, for the PNG; a profile that cannot be read is left out
        // rather than failing the decode.
        let metadata = ImageMetadata(jpegSegments: try jpeg.readHeader(bytes).segments)
        return (decoding, try LibJPEG.RowReader(bytes, maxPixels: maxPixels, rules: jpegRules, onDamage: jpeg.onDamage),
                metadata)
    }
    let writer = try attributing(to: output) {
        try DecodedRowWriter(format, grey: decoding.info.components == 1, output: out, width: decoding.width,
                             height: decoding.height, pngLevel: pngLevel, metadata: metadata)
    }
    let arenaBytes = decoding.arenaBytes
    let arena = try attributing(to: input) {
        UnsafeMutableRawPointer(try ComRecError.allocating { () throws(AllocationFailure) in
            try allocateLarge(UInt8.self, count: arenaBytes, alignment: 64)
        })
    }
    defer { releaseLarge(arena.assumingMemoryBound(to: UInt8.self)) }
    // A write error is about the output file, a JPEG error about the input: keep them apart.
    var writeFailure: Error? = nil
    var rows = reader
    do {
        try pipeline.decodeStreamed(decoding, rows: &rows, arena: arena, arenaBytes: decoding.arenaBytes) { _, row throws(ComRecError) in
            do {
                try writer.write(row: row)
            } catch {
                writeFailure = error
                throw ComRecError.invalidArgument("the output could not be written")
            }
        }
    } catch {
        if let writeFailure { try attributing(to: output) { throw writeFailure } }
        try attributing(to: input) { throw error }
    }
    try attributing(to: output) { try writer.finish() }
    try out.commit()
    return DecodeReport(width: decoding.width, height: decoding.height, mode: decoding.info.segment.mode,
                        profile: decoding.info.segment.profile, arenaBytes: decoding.arenaBytes, damage: log.damage)
}

/// The segment and compact-image facts of the ComRec file at `path`.
public func inspectFile(_ path: String, maxInputBytes: Int = defaultMaxInputBytes) throws -> ComRecFileInfo {
    let bytes = try readInputFile(path, maxBytes: maxInputBytes, formats: [.jpeg])
    return try attributing(to: path) {
        guard ImageFormat.detect(bytes) == .jpeg else {
            throw ComRecIOError(.notAJPEGForInfo(start: describeStart(bytes)))
        }
        return try ComRecPipeline(jpeg: LibJPEG(), profiles: Profile.catalogue).inspect(bytes)
    }
}

/// Writes `image` to `path` as PNG, atomically.
public func writePNG(_ image: RGB8Image, to path: String, force: Bool = false) throws {
    let out = try AtomicOutput(path: path, force: force)
    let png = try attributing(to: path) { try PNG.encode(image) }
    try out.commit(png)
}

// MARK: - Enhancing plain JPEGs

/// What `enhanceFile` did.
public struct EnhanceReport: Sendable {
    public var width: Int
    public var height: Int
    /// The quality the enhancer was run for: estimated from the JPEG's quantisation tables, or given.
    public var quality: Int
    /// Whether the tables are exactly libjpeg's at `quality` (nil when the quality was given).
    public var exactTables: Bool?
    /// False when the JPEG's quality is above what the enhancer improves: the PNG is the plain decode.
    public var enhanced: Bool
    /// In how many orientations the enhancer ran (1; 8 at effort 2 and 3, averaged: `selfEnsemble`).
    public var orientations: Int
    /// How many enhancers ran one after the other in each orientation: 0 (written as decoded), 1,
    /// or 2 at effort 3 where the second pass improves the JPEG's quality.
    public var passes: Int
    /// Damaged JPEG data that lenient rules patched (nil: none).
    public var damage: JPEGDamage?
}

/// Decodes the plain JPEG at `input` (one without a ComRec segment), restores it with `profile`'s
/// enhancer for rounded JPEGs (`Profile.rounded`), and writes it to `output` as PNG or PPM (DecodedImageFormat). The JPEG's quality is estimated from
/// its quantisation tables unless `quality` is given; above the enhancer's range the image is
/// written as decoded. The JPEG's EXIF, XMP and ICC profile go into the PNG. Effort 2 averages
/// the enhancer over the eight orientations (`selfEnsemble`); effort 3 runs a second enhancer on
/// the first one's output in each orientation before averaging, at the qualities it improves:
/// `secondPass`, by default the profile's `Profile.roundedSecondPass` (a profile without one is
/// refused at effort 3).
@discardableResult
public func enhanceFile(
    input: String, output: String, profile: Profile, quality: Int? = nil, maxPixels: Int = defaultMaxPixels,
    force: Bool = false, pngLevel: Int = PNG.defaultCompressionLevel, jpegRules: JPEGDecodeRules = JPEGDecodeRules(),
    maxInputBytes: Int = defaultMaxInputBytes, effort: Int = 1, secondPass: FullResolutionModel? = nil
) throws -> EnhanceReport {
    guard (1...3).contains(effort) else { throw ComRecIOError(.codec(.invalidArgument("effort must be 1, 2 or 3, not \(effort)"))) }
    guard !profile.rounded.isPlainJPEG else {
        throw ComRecIOError(.noEnhancer(
            profile: profile.name, withEnhancer: Profile.catalogue.filter { !$0.rounded.isPlainJPEG }.map(\.name)))
    }
    let secondPass = effort < 3 ? nil
        : secondPass ?? profile.networks.flatMap { Profile.roundedSecondPass(of: profile.name, runner: $0.runner) }
    guard effort < 3 || secondPass.map({ !$0.isPlainJPEG }) == true else {
        throw ComRecIOError(.codec(.invalidArgument("effort 3 needs a second enhancer, which profile \(profile.name) does not have")))
    }
    let format = DecodedImageFormat(outputPath: output)
    if format == .pgm { throw ComRecIOError(path: output, .greyOutputOfColourImage) }
    let bytes = try readInputFile(input, maxBytes: maxInputBytes, formats: [.jpeg])
    let out = try AtomicOutput(path: output, force: force, inputs: [input])
    let log = DamageLog()
    let jpeg = log.coder(jpegRules)
    let (image, estimate, metadata) = try attributing(to: input) { () throws -> (RGB8Image, JPEGQuality.Estimate?, ImageMetadata) in
        guard ImageFormat.detect(bytes) == .jpeg else {
            throw ComRecIOError(.notAJPEGForEnhance(start: describeStart(bytes)))
        }
        let header = try jpeg.readHeader(bytes)
        if header.segments.contains(where: { $0.marker == ComRecSegment.marker && ComRecSegment.isComRec($0.payload) }) {
            throw ComRecIOError(.isAComRecFile)
        }
        let estimate = JPEGQuality.estimate(header.quantTables)
        if quality == nil && estimate == nil {
            throw ComRecIOError(.noQuantisationTables)
        }
        // The whole command's memory, asked of the system before a pixel is decoded.
        let perPixel = WorkingMemory.enhanceBytesPerPixel(effort: effort)
        try WorkingMemory.admit(width: header.width, height: header.height,
                                options: ImageReadOptions(maxPixels: maxPixels, workingBytesPerPixel: perPixel))
        return (try jpeg.decode(bytes, maxPixels: maxPixels), estimate, ImageMetadata(jpegSegments: header.segments))
    }
    let used = quality ?? estimate!.quality
    let enhanced = profile.rounded.improves(quality: used)
    let orientations = enhanced && effort >= 2 ? Orientation.all.count : 1
    let second = enhanced ? secondPass.flatMap { $0.improves(quality: used) ? $0 : nil } : nil
    let result = try attributing(to: input) { () throws(ComRecError) -> RGB8Image in
        guard enhanced else { return image }
        let enhancer = profile.rounded
        func restore(_ image: RGB8Image) throws(ComRecError) -> RGB8Image {
            let context = ReconstructionContext(width: image.width, height: image.height, quality: used)
            let first = try enhancer.enhance(image, context)
            guard let second else { return first }
            return try second.enhance(first, context)
        }
        guard orientations > 1 else { return try restore(image) }
        return try selfEnsemble(image, restore: restore)
    }
    let file = try attributing(to: output) {
        format == .ppm ? PNM.encode(result) : try PNG.encode(result, compressionLevel: pngLevel, metadata: metadata)
    }
    try out.commit(file)
    return EnhanceReport(width: image.width, height: image.height, quality: used,
                         exactTables: quality == nil ? estimate!.exact : nil, enhanced: enhanced,
                         orientations: orientations, passes: !enhanced ? 0 : second == nil ? 1 : 2, damage: log.damage)
}
