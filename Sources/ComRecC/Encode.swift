import CComRecAPI
import CComRecImage
import ComRecCodec
import ComRecJPEG
import ComRecKernels
import ComRecModels

// comrec_encode: rows in through the caller's callback, the ComRec file out through the caller's
// write callback. Half mode streams the rows through ComCNN (StreamedRun, `.compact`) into
// libjpeg a row at a time, or, where its JPEG is trellis-quantised, into a compact image that the
// trellis then quantises as a whole; full mode gives the rows to libjpeg as they come. Same
// settings and so the same bytes as `comrec encode --mode half|full --quality Q --profile P`.

let defaultEncodeQuality: Int32 = 75

@_cdecl("comrec_encode_options_init")
public func comrec_encode_options_init(_ options: UnsafeMutablePointer<comrec_encode_options>?) {
    options?.pointee = defaultEncodeOptions
}

/// What an encode will do: the profile and settings, and whether it streams (half or full mode
/// at a quality, with networks to stream through) or encodes the whole image with the CLI's mode
/// choice and rate control (ModeChoosingEncoder).
struct EncodeChoice {
    let profile: Profile
    let settings: JPEGSettings
    let request: ModeRequest
    let target: SizeTarget
    let effort: Int
    /// The mode of a streamed encode; nil for a whole-image one.
    let streamed: CodecMode?
    /// A streamed half-mode encode whose compact image is kept whole and trellis-quantised
    /// (`Profile.trellisInHalfMode`), rather than given to libjpeg row by row.
    let trellisedCompact: Bool
    /// The EXIF, XMP and ICC segments, before the ComRec segment (as the CLI writes them).
    let metadata: [JPEGSegment]
}

/// The defaults of comrec_encode_options_init.
var defaultEncodeOptions: comrec_encode_options {
    comrec_encode_options(profile: nil, quality: defaultEncodeQuality, mode: 0, progressive: 0, max_bits_per_pixel: 0, effort: 1,
                          exif: nil, exif_bytes: 0, xmp: nil, xmp_bytes: 0, icc: nil, icc_bytes: 0, trellis: 1,
                          optimize_huffman: 1, tables: 0)
}

/// The checked options, or a reason to refuse them.
func resolve(_ options: comrec_encode_options, in context: Context) -> Result<EncodeChoice, FailReason> {
    guard let name = options.profile.map(profileName) ?? Profile.defaultName else {
        return .failure(FailReason(.argument, "the profile name is longer than \(maxProfileNameBytes) bytes: no profile's"))
    }
    guard let profile = context.profile(named: name) else {
        return .failure(FailReason(.argument, "no profile \(name) in this build"))
    }
    guard (1...100).contains(options.quality) else {
        return .failure(FailReason(.argument, "JPEG quality \(options.quality) is not in 1...100"))
    }
    let requests: [ModeRequest] = [.half, .full, .auto]
    guard options.mode >= 0 && options.mode <= 2 else {
        return .failure(FailReason(.argument, "mode \(options.mode) is not COMREC_MODE_HALF, _FULL or _AUTO"))
    }
    guard (0...2).contains(options.progressive) else {
        return .failure(FailReason(.argument, "progressive must be 0 (baseline), 1 (progressive) or 2 (the smallest)"))
    }
    guard options.effort == 1 || options.effort == 2 else {
        return .failure(FailReason(.argument, "effort must be 1 or 2, not \(options.effort)"))
    }
    let bpp = options.max_bits_per_pixel
    guard bpp == 0 || (bpp > 0 && bpp.isFinite) else {
        return .failure(FailReason(.argument, "max_bits_per_pixel must be 0 (none) or a positive number"))
    }
    guard options.trellis == 0 || options.trellis == 1 else {
        return .failure(FailReason(.argument, "trellis must be 0 or 1"))
    }
    guard options.optimize_huffman == 0 || options.optimize_huffman == 1 else {
        return .failure(FailReason(.argument, "optimize_huffman must be 0 or 1"))
    }
    guard (0...2).contains(options.tables) else {
        return .failure(FailReason(.argument, "tables must be 0 (the profile's), 1 (ComRec's) or 2 (the standard's)"))
    }
    let request = requests[Int(options.mode)]
    let target: SizeTarget = bpp > 0 ? .bitsPerPixel(bpp) : .quality(Int(options.quality))
    let settings = JPEGSettings(quality: Int(options.quality), chroma: .subsampled420,
                                optimizeCoding: options.optimize_huffman == 1,
                                scans: [JPEGScans.baseline, .progressive, .smallest][Int(options.progressive)],
                                trellis: options.trellis == 1 ? TrellisTuning() : nil,
                                tables: options.tables == 0 ? profile.tables : options.tables == 1 ? .comrec : .standard)
    // Sizes first: a count the caller got wrong must not be read (or copied) before it is refused.
    let blocks: [(given: Bool, count: Int, limit: Int, name: String, tooLarge: MetadataSegments.Problem)] = [
        (options.exif != nil, options.exif_bytes, MetadataSegments.maxExifBytes, "exif_bytes", .exifTooLarge(bytes: options.exif_bytes)),
        (options.xmp != nil, options.xmp_bytes, MetadataSegments.maxXMPBytes, "xmp_bytes", .xmpTooLarge(bytes: options.xmp_bytes)),
        (options.icc != nil, options.icc_bytes, MetadataSegments.maxICCBytes, "icc_bytes", .iccProfileTooLarge(bytes: options.icc_bytes)),
    ]
    for block in blocks where block.given && !(0...block.limit).contains(block.count) {
        // A negative count is a size_t past Int.max: a caller's mistake rather than a real block.
        return .failure(FailReason(.argument, block.count < 0
            ? "\(block.name) is \(UInt(bitPattern: block.count)), more than a JPEG holds (at most \(block.limit))"
            : block.tooLarge.message))
    }
    // The blocks are copied into the segments and the file a few times over, by Swift's allocator.
    let metadataCopies = 4 * blocks.reduce(0) { $0 + ($1.given ? $1.count : 0) }
    guard systemGrants(bytes: metadataCopies) else {
        return .failure(FailReason(.tooLarge, "the metadata's copies need \(metadataCopies) bytes, which the system refuses now"))
    }
    let metadata: [JPEGSegment]
    do throws(ComRecError) {
        metadata = try MetadataSegments.segments(
            exif: metadataBytes(options.exif, options.exif_bytes), xmp: metadataBytes(options.xmp, options.xmp_bytes),
            icc: metadataBytes(options.icc, options.icc_bytes))
    } catch {
        return .failure(FailReason(.argument, "\(error)"))
    }
    var streamed: CodecMode? = nil
    // The smallest of several layouts of scans is found by writing each: whole images only.
    if bpp == 0 && settings.scans != .smallest {
        // A half-mode encode streams through the profile's ComCNN; bicubic has none.
        // Full mode with trellis chooses coefficients from the whole image's statistics.
        if (request == .full && settings.trellis == nil) || (request == .half && profile.compactNetworks(tables: settings.tables) != nil) {
            streamed = request == .half ? .half : .full
        }
    }
    // Half mode's trellis (where the profile's RecCNN learnt from it) needs the compact image's
    // statistics: a quarter of the pixels, held whole.
    let trellisedCompact = streamed == .half && settings.trellis != nil && profile.trellisInHalfMode(tables: settings.tables)
    return .success(EncodeChoice(profile: profile, settings: settings, request: request, target: target,
                                 effort: Int(options.effort), streamed: streamed, trellisedCompact: trellisedCompact,
                                 metadata: metadata))
}

/// One metadata block of the options: nil for a NULL pointer (whatever the count); the count is
/// already checked.
private func metadataBytes(_ pointer: UnsafePointer<UInt8>?, _ count: Int) -> [UInt8]? {
    guard let pointer else { return nil }
    return Array(UnsafeBufferPointer(start: pointer, count: count))
}

struct FailReason: Error {
    let status: Status
    let text: String
    init(_ status: Status, _ text: String) {
        self.status = status
        self.text = text
    }
}

/// The widest and tallest image an encode takes: half mode stores 131000 x 131000 as 65500 x 65500.
let maxEncodeSide: UInt32 = 2 * 65500

/// A whole-image encode keeps the image in memory of its own and needs no arena.
let wholeImageArenaBytes = 64

/// The arena of an encode: what the streamed rows need (`networkArenaBytes`), then the JPEG
/// encoder's memory (`encoderArenaBytes`); a whole-image encode needs almost none. Nil when it is
/// more than the address space holds (`addressable`).
private func arenaBytes(_ choice: EncodeChoice, width: Int, height: Int) -> Int? {
    guard choice.streamed != nil else { return wholeImageArenaBytes }
    // A trellised compact image goes to the JPEG encoder whole, from memory of its own.
    let encoderBytes = choice.trellisedCompact ? wholeImageArenaBytes : encoderArenaBytes(choice, width: width)
    return addressable(networkArenaBytes(choice, width: width, height: height), encoderBytes)
}

private func networkArenaBytes(_ choice: EncodeChoice, width: Int, height: Int) -> Int {
    guard choice.streamed == .half, let networks = choice.profile.compactNetworks(tables: choice.settings.tables) else {
        return width * 3 + 64
    }
    return StreamedRun(model: networks.model(), job: .compact, width: width, height: height, runner: networks.runner).arenaBytes
}

/// The arena's part for the JPEG encoder: its memory (libjpeg's too in the static libraries, as
/// for decoding), its crc_jpeg_memory record and the alignment of both. With optimised Huffman
/// tables libjpeg also keeps the image's coefficients, which come from the heap.
private func encoderArenaBytes(_ choice: EncodeChoice, width: Int) -> Int {
    let storedWidth = choice.streamed == .half ? (width + 1) / 2 : width
    return Int(crc_jpeg_row_encode_bytes(UInt32(clamping: storedWidth))) + jpegMemoryOverhead
}

@_cdecl("comrec_encode_arena_bytes")
public func comrec_encode_arena_bytes(_ handle: OpaquePointer?, _ options: UnsafePointer<comrec_encode_options>?, _ width: UInt32) -> Int {
    guard let context = contextObject(handle), width >= 1, width <= maxEncodeSide else { return 0 }
    guard case .success(let choice) = resolve(options?.pointee ?? defaultEncodeOptions, in: context) else { return 0 }
    // The stored JPEG holds at most 65500 pixels per side: half of the width in half mode
    // (streamed or not).
    guard (choice.request == .half ? (Int(width) + 1) / 2 : Int(width)) <= 65500 else { return 0 }
    return arenaBytes(choice, width: Int(width), height: largestHeight) ?? 0
}

/// The caller's write callback behind libjpeg's, remembering whether it refused bytes. It lives
/// in the context (`Context.writeTarget`), at an address that stays valid for the whole encode:
/// libjpeg keeps the pointer it is given at creation and calls back through it on later calls.
struct WriteTarget {
    var write: comrec_write_callback?
    var user: UnsafeMutableRawPointer?
    var refused = false
}

@_cdecl("comrec_encode")
public func comrec_encode(
    _ handle: OpaquePointer?, _ width: UInt32, _ height: UInt32, _ read: comrec_read_callback?, _ readUser: UnsafeMutableRawPointer?,
    _ options: UnsafePointer<comrec_encode_options>?, _ arena: UnsafeMutableRawPointer?, _ arenaSize: Int,
    _ write: comrec_write_callback?, _ writeUser: UnsafeMutableRawPointer?
) -> Int32 {
    guard let context = contextObject(handle) else { return Status.argument.rawValue }
    guard let read, let write else { return context.fail(.argument, "NULL read or write callback") }
    guard let arena, arenaSize >= 0 else { return context.fail(.argument, "NULL arena") }
    return context.call {
        encode(context, width, height, read, readUser, options, arena, arenaSize, write, writeUser)
    }
}

/// comrec_encode after its argument checks.
private func encode(
    _ context: Context, _ width: UInt32, _ height: UInt32, _ read: comrec_read_callback, _ readUser: UnsafeMutableRawPointer?,
    _ options: UnsafePointer<comrec_encode_options>?, _ arena: UnsafeMutableRawPointer, _ arenaSize: Int,
    _ write: comrec_write_callback, _ writeUser: UnsafeMutableRawPointer?
) -> Int32 {
    let choice: EncodeChoice
    switch resolve(options?.pointee ?? defaultEncodeOptions, in: context) {
    case .success(let resolved): choice = resolved
    case .failure(let reason): return context.fail(reason.status, reason.text)
    }
    let profile = choice.profile, settings = choice.settings
    // Compared as they come, before Int (32 bits on armv7) could fail to hold them.
    guard width <= maxEncodeSide && height <= maxEncodeSide else {
        return context.fail(.tooLarge, "an image of \(width) x \(height) pixels: a JPEG holds at most 65500 pixels per side "
                            + "(\(maxEncodeSide) in half mode, stored at half the size)")
    }
    let w = Int(width), h = Int(height)
    guard w >= 1 && h >= 1 else { return context.fail(.argument, "an image of \(w) x \(h) pixels has no pixels") }
    do throws(ComRecError) {
        try checkPixelLimit(width: w, height: h, maxPixels: context.maxPixels)
    } catch {
        return context.fail(error)
    }
    guard let mode = choice.streamed else {
        guard arenaSize >= wholeImageArenaBytes else {
            return context.fail(.arenaTooSmall, "an arena of \(arenaSize) bytes where \(wholeImageArenaBytes) are needed")
        }
        return encodeWholeImage(choice, width: w, height: h, read: read, readUser: readUser, write: write,
                                writeUser: writeUser, context: context)
    }
    let stored = mode == .half ? compactSize(width: w, height: h) : (width: w, height: h)
    guard stored.width <= 65500 && stored.height <= 65500 else {
        return context.fail(.tooLarge, "a JPEG holds at most 65500 pixels per side")
    }
    let networkBytes = networkArenaBytes(choice, width: w, height: h)
    guard let needed = arenaBytes(choice, width: w, height: h) else { return context.fail(.tooLarge, unaddressableArena) }
    guard arenaSize >= needed else {
        return context.fail(.arenaTooSmall, "an arena of \(arenaSize) bytes where \(needed) are needed")
    }
    if choice.trellisedCompact {
        return encodeTrellisedCompact(choice, width: w, height: h, read: read, readUser: readUser, arena: arena,
                                      networkBytes: networkBytes, write: write, writeUser: writeUser, context: context)
    }
    let payload: [UInt8]
    do throws(ComRecError) {
        payload = try ComRecSegment(
            mode: mode, profile: profile.name, modelHash: profile.modelHash(for: mode, quality: settings.quality, tables: settings.tables, trellis: false),
            width: w, height: h, quality: settings.quality
        ).serialised()
    } catch {
        return context.fail(error)
    }

    let target = context.writeTarget
    target.pointee = WriteTarget(write: write, user: writeUser)
    var error = [CChar](repeating: 0, count: Int(CRC_ERROR_SIZE))
    let baseTables = JPEGQuality.baseTables(settings.tables) ?? []
    // Every payload in one buffer, so that one set of pointers stays valid for the call.
    let segments = choice.metadata + [JPEGSegment(marker: ComRecSegment.marker, payload: payload)]
    let payloads = segments.flatMap { $0.payload }
    let record = jpegMemory(in: arena, after: networkBytes, arenaBytes: arenaSize)
    let made: OpaquePointer? = baseTables.withUnsafeBufferPointer { base in payloads.withUnsafeBufferPointer { bytes in
            // libjpeg copies the tables when the encoder is created.
            var jpegOptions = crc_jpeg_encode_options(
                quality: Int32(settings.quality), base_tables: base.isEmpty ? nil : base.baseAddress, chroma444: 0,
                optimize_coding: settings.optimizeCoding ? 1 : 0, scans: settings.scans.libjpegValue)
            var markers: [crc_jpeg_marker] = []
            var offset = 0
            for segment in segments {
                markers.append(crc_jpeg_marker(
                    code: Int32(segment.marker), data: bytes.baseAddress.map { $0 + offset }, length: segment.payload.count))
                offset += segment.payload.count
            }
            return crc_jpeg_row_encoder_create_in(
                UInt32(stored.width), UInt32(stored.height), 3, &jpegOptions, markers, Int32(markers.count),
                { user, bytes, size in
                    let target = user!.assumingMemoryBound(to: WriteTarget.self)
                    if target.pointee.write!(target.pointee.user, bytes, size) != 0 {
                        target.pointee.refused = true
                        return 1
                    }
                    return 0
                }, target, record, &error)
    } }
    guard let encoder = made else {
        return target.pointee.refused ? context.fail(.callback, "the write callback returned non-zero") : context.fail(.encode, text(error))
    }
    defer { crc_jpeg_row_encoder_destroy(encoder) }

    var stoppedAt: Int? = nil
    let status: Int32 = {
        func store(_ row: UnsafePointer<UInt8>) -> Bool { crc_jpeg_row_encoder_write(encoder, row, &error) == 0 }
        switch mode {
        case .full:
            let row = arena.bindMemory(to: UInt8.self, capacity: w * 3)
            for y in 0..<h {
                if read(readUser, UInt32(y), row, width) != 0 {
                    stoppedAt = y
                    return Status.callback.rawValue
                }
                if !store(row) { return Status.encode.rawValue }
            }
        case .half:
            let networks = profile.compactNetworks(tables: choice.settings.tables)!
            let run = StreamedRun(model: networks.model(), job: .compact, width: w, height: h, runner: networks.runner)
            var next = 0
            var encoderFailed = false
            do throws(StreamedRunError) {
                try run.run(arena: arena, arenaBytes: networkBytes, source: { row in
                    defer { next += 1 }
                    if read(readUser, UInt32(next), row, width) != 0 {
                        stoppedAt = next
                        return false
                    }
                    return true
                }, sink: { _, row in
                    if store(row) { return true }
                    encoderFailed = true
                    return false
                })
            } catch {
                if encoderFailed { return Status.encode.rawValue }
                return stoppedAt != nil ? Status.callback.rawValue : Status.arenaTooSmall.rawValue
            }
        }
        return crc_jpeg_row_encoder_finish(encoder, &error) == 0 ? Status.ok.rawValue : Status.encode.rawValue
    }()
    if target.pointee.refused { return context.fail(.callback, "the write callback returned non-zero") }
    switch Status(rawValue: status) ?? .encode {
    case .ok: return context.succeed()
    case .callback: return context.fail(.callback, "the read callback returned non-zero for row \(stoppedAt ?? 0)")
    case .arenaTooSmall: return context.fail(.arenaTooSmall, "an arena of \(arenaSize) bytes is too small")
    default: return context.fail(.encode, text(error))
    }
}

/// Memory a trellised compact image needs per stored pixel: the image (3 bytes), the trellis's
/// colour planes and coefficients (6) and the file (under 1).
let trellisedCompactBytesPerStoredPixel = 10

/// Half mode with a trellis-quantised compact JPEG: the rows stream through ComCNN (in the arena)
/// into a compact image of a quarter of the pixels, which the pipeline then stores as
/// `comrec encode` does; the file goes to `write` in pieces of 4 KB.
private func encodeTrellisedCompact(
    _ choice: EncodeChoice, width w: Int, height h: Int, read: comrec_read_callback, readUser: UnsafeMutableRawPointer?,
    arena: UnsafeMutableRawPointer, networkBytes: Int, write: comrec_write_callback, writeUser: UnsafeMutableRawPointer?,
    context: Context
) -> Int32 {
    let size = compactSize(width: w, height: h)
    // Swift traps on a failed allocation, so this memory is asked for first.
    let (working, overflow) = (size.width * size.height).multipliedReportingOverflow(by: trellisedCompactBytesPerStoredPixel)
    guard !overflow, systemGrants(bytes: working) else {
        return context.fail(.tooLarge, "encoding a \(w) x \(h) image in half mode with trellis quantisation needs about "
                            + "\(overflow ? "too many" : "\(working)") bytes of memory, which the system refuses now")
    }
    var compact: RGB8Image
    do throws(ComRecError) {
        compact = try RGB8Image(width: size.width, height: size.height)
    } catch {
        return context.fail(error)
    }
    var stoppedAt: Int? = nil
    let networks = choice.profile.compactNetworks(tables: choice.settings.tables)!
    let run = StreamedRun(model: networks.model(), job: .compact, width: w, height: h, runner: networks.runner)
    var next = 0
    do throws(StreamedRunError) {
        try compact.pixels.withUnsafeMutableBufferPointer { pixels throws(StreamedRunError) in
            try run.run(arena: arena, arenaBytes: networkBytes, source: { row in
                defer { next += 1 }
                if read(readUser, UInt32(next), row, UInt32(w)) != 0 {
                    stoppedAt = next
                    return false
                }
                return true
            }, sink: { y, row in
                (pixels.baseAddress! + y * size.width * 3).update(from: row, count: size.width * 3)
                return true
            })
        }
    } catch {
        if let stoppedAt { return context.fail(.callback, "the read callback returned non-zero for row \(stoppedAt)") }
        return context.fail(.arenaTooSmall, "an arena of \(networkBytes) bytes is too small")
    }
    let file: [UInt8]
    do throws(ComRecError) {
        file = try ComRecPipeline(jpeg: LibJPEG(), profiles: [choice.profile], maxPixels: context.maxPixels).file(
            storing: compact, width: w, height: h, profile: choice.profile, mode: .half, settings: choice.settings,
            metadata: choice.metadata)
    } catch {
        return context.fail(error)
    }
    return writeInPieces(file, write: write, writeUser: writeUser) ? context.succeed()
        : context.fail(.callback, "the write callback returned non-zero")
}

/// Gives `file` to `write` in pieces of at most 4 KB; false when the callback refused one.
func writeInPieces(_ file: [UInt8], write: comrec_write_callback, writeUser: UnsafeMutableRawPointer?) -> Bool {
    file.withUnsafeBufferPointer { bytes in
        var offset = 0
        while offset < bytes.count {
            let count = min(4096, bytes.count - offset)
            if write(writeUser, bytes.baseAddress! + offset, count) != 0 { return false }
            offset += count
        }
        return true
    }
}

/// The text of a NUL-terminated C error buffer.
func text(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// AUTO mode or a size target: the CLI's mode choice and rate control on the whole image, read
/// into memory of its own, then the chosen file to `write` in pieces of at most 4 KB.
private func encodeWholeImage(
    _ choice: EncodeChoice, width w: Int, height h: Int, read: comrec_read_callback,
    readUser: UnsafeMutableRawPointer?, write: comrec_write_callback, writeUser: UnsafeMutableRawPointer?,
    context: Context
) -> Int32 {
    // Swift traps on a failed allocation, so the memory this path will hold is asked for first,
    // granted now or refused with the bytes named.
    let (working, overflow) = (w * h).multipliedReportingOverflow(
        by: wholeImageEncodeBytesPerPixel(effort: choice.effort, trellis: choice.settings.trellis != nil))
    guard !overflow, systemGrants(bytes: working) else {
        return context.fail(.tooLarge, "encoding a \(w) x \(h) image as a whole (auto mode, a size target, trellis quantisation or the smallest layout of scans) needs about "
                            + "\(overflow ? "too many" : "\(working)") bytes of memory, which the system refuses now")
    }
    var image: RGB8Image
    do throws(ComRecError) {
        image = try RGB8Image(width: w, height: h)
    } catch {
        return context.fail(error)
    }
    var stoppedAt: Int? = nil
    image.pixels.withUnsafeMutableBufferPointer { pixels in
        for y in 0..<h where read(readUser, UInt32(y), pixels.baseAddress! + y * w * 3, UInt32(w)) != 0 {
            stoppedAt = y
            return
        }
    }
    if let stoppedAt { return context.fail(.callback, "the read callback returned non-zero for row \(stoppedAt)") }
    let made: ModeChoiceResult
    do throws(ComRecError) {
        let encoder = ModeChoosingEncoder(
            jpeg: LibJPEG(), profile: choice.profile, settings: choice.settings, maxPixels: context.maxPixels,
            metadata: choice.metadata)
        made = try encoder.encode(image, target: choice.target, mode: choice.request, effort: choice.effort)
    } catch {
        return context.fail(error)
    }
    return writeInPieces(made.file, write: write, writeUser: writeUser) ? context.succeed()
        : context.fail(.callback, "the write callback returned non-zero")
}
