import CComRecAPI
import CComRecImage
import ComRecCodec
import ComRecKernels
import ComRecJPEG
import ComRecModels

// comrec_decode and its arena queries: the streamed decode of ComRecCodec (StreamedDecode.swift)
// with the caller's arena and row callback. The arena holds the networks' rows at its start and
// the JPEG decoder after them (its crc_jpeg_memory: LibJPEGMemory.swift), so that a decode needs
// nothing from the heap for the image.

/// The largest height a JPEG (and so a ComRec file) can have: arenas sized for it fit any file.
let largestHeight = 2 * 65535

/// The arena's part for the JPEG decoder of a stored image `storedWidth` pixels wide: its rows'
/// memory, its crc_jpeg_memory record and the alignment of both.
func decoderArenaBytes(storedWidth: Int) -> Int { LibJPEG.rowReaderMemoryBytes(width: storedWidth) + jpegMemoryOverhead }

/// What `jpegMemory(in:after:arenaBytes:)` adds to a JPEG coder's own bytes: the record and alignment.
let jpegMemoryOverhead = 128

/// The memory of the JPEG decoder or encoder of a call: a crc_jpeg_memory record placed after the
/// first `networkBytes` of the arena (the networks' rows), 16-byte aligned, over the rest of it.
func jpegMemory(in arena: UnsafeMutableRawPointer, after networkBytes: Int, arenaBytes: Int) -> UnsafeMutablePointer<crc_jpeg_memory> {
    // Pointer arithmetic, not Int: on a 32-bit board an arena may cross the sign bit of an address.
    let recordStart = (arena + networkBytes).alignedUp(toMultipleOf: 16)
    let record = recordStart.bindMemory(to: crc_jpeg_memory.self, capacity: 1)
    let memoryStart = recordStart + 64
    record.initialize(to: crc_jpeg_memory(
        base: memoryStart.assumingMemoryBound(to: UInt8.self), size: arenaBytes - (memoryStart - arena), used: 0))
    return record
}

@_cdecl("comrec_decode_arena_bytes")
public func comrec_decode_arena_bytes(_ handle: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ mode: Int32, _ width: UInt32) -> Int {
    guard let context = contextObject(handle) else { return 0 }
    return decodeArenaBytes(context.profiles, name, mode, width)
}

@_cdecl("comrec_decode_arena_bytes_minimum")
public func comrec_decode_arena_bytes_minimum(_ handle: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ mode: Int32, _ width: UInt32) -> Int {
    guard let context = contextObject(handle) else { return 0 }
    return decodeArenaBytes(context.smallestArenaProfiles ?? context.profiles, name, mode, width)
}

/// The arena of the widest image of `width` for the profile `name` of `profiles`; a NULL name in
/// full mode stands for a plain-JPEG full-mode file (no enhancer), which every build decodes.
/// A progressive file's coefficients, which grow with the height, come from the heap.
private func decodeArenaBytes(_ profiles: [Profile], _ name: UnsafePointer<CChar>?, _ mode: Int32, _ width: UInt32) -> Int {
    guard width >= 1, width <= 2 * 65535, mode == 0 || mode == 1 else { return 0 }
    let w = Int(width)
    let storedWidth = mode == 0 ? (w + 1) / 2 : w
    let decoder = decoderArenaBytes(storedWidth: storedWidth)
    let plainRow = w * 3 + 64
    guard let name else { return mode == 1 ? plainRow + decoder : 0 }
    guard let profileName = profileName(name), let profile = profiles.first(where: { $0.name == profileName }) else { return 0 }
    if mode == 0 {
        return addressable(decoder, StreamedRun(model: profile.networks?.model(), job: .reconstruct, width: w,
                                                height: largestHeight, runner: profile.networks?.runner ?? .portable).arenaBytes) ?? 0
    }
    // Plain-JPEG full-mode files (above the enhancer's quality) need a row; enhanced ones more,
    // with any of the profile's enhancers (one per kind of JPEG: Profile.enhancer(tables:trellis:)).
    var need = plainRow
    for networks in profile.enhancers.compactMap({ $0.model.networks }) {
        need = max(need, StreamedRun(model: networks.model(), job: .enhance, width: w, height: largestHeight,
                                     runner: networks.runner).arenaBytes)
    }
    return addressable(decoder, need) ?? 0
}

@_cdecl("comrec_decode_arena_bytes_for_file")
public func comrec_decode_arena_bytes_for_file(
    _ handle: OpaquePointer?, _ data: UnsafePointer<UInt8>?, _ size: Int, _ bytes: UnsafeMutablePointer<Int>?
) -> Int32 {
    guard let context = contextObject(handle) else { return Status.argument.rawValue }
    guard let file = fileBytes(data, size), let bytes else { return context.fail(.argument, "NULL data or result pointer") }
    do throws(ComRecError) {
        let pipeline = context.pipeline
        let info = try inspected(file, pipeline)
        guard let need = addressable(try pipeline.streamedDecoding(info).arenaBytes,
                                     decoderArenaBytes(storedWidth: info.storedWidth)) else {
            return context.fail(.tooLarge, unaddressableArena)
        }
        bytes.pointee = need
        return context.succeed()
    } catch {
        return context.fail(error)
    }
}

/// The rows of the stored JPEG through the C wrapper.
struct BoardRows: JPEGRowSource {
    let reader: LibJPEG.RowReader
    func readRow(into row: UnsafeMutablePointer<UInt8>) throws(ComRecError) { try reader.readRow(into: row) }
    func finish() throws(ComRecError) { try reader.finish() }
}

/// What a sink failure was: the callback's refusal, not a codec error.
private struct CallbackStop: Error {}

@_cdecl("comrec_decode")
public func comrec_decode(
    _ handle: OpaquePointer?, _ data: UnsafePointer<UInt8>?, _ size: Int, _ arena: UnsafeMutableRawPointer?,
    _ arenaBytes: Int, _ row: comrec_row_callback?, _ user: UnsafeMutableRawPointer?
) -> Int32 {
    guard let context = contextObject(handle) else { return Status.argument.rawValue }
    guard let file = fileBytes(data, size) else { return context.fail(.argument, "NULL file data") }
    guard let row else { return context.fail(.argument, "NULL row callback") }
    guard let arena, arenaBytes >= 0 else { return context.fail(.argument, "NULL arena") }
    return context.call { decode(context, file, arena: arena, arenaBytes: arenaBytes, row: row, user: user) }
}

/// comrec_decode after its argument checks.
private func decode(
    _ context: Context, _ file: UnsafeBufferPointer<UInt8>, arena: UnsafeMutableRawPointer, arenaBytes: Int,
    row: comrec_row_callback, user: UnsafeMutableRawPointer?
) -> Int32 {
    var stoppedAt: Int? = nil
    do throws(ComRecError) {
        var pipeline = context.pipeline
        // The header is read with the whole arena as the decoder's memory: nothing is in it yet.
        var whole = crc_jpeg_memory(base: arena.assumingMemoryBound(to: UInt8.self), size: arenaBytes, used: 0)
        let info = try inspected(file, pipeline, memory: &whole)
        let decoderBytes = decoderArenaBytes(storedWidth: info.storedWidth)
        var decoding = try pipeline.streamedDecoding(info)
        var need = addressable(decoding.arenaBytes, decoderBytes)
        if arenaBytes < need ?? Int.max, let smallest = context.smallestArenaProfiles {
            // The measured choice does not fit: direct convolutions need less and give the same bytes.
            let direct = ComRecPipeline(jpeg: LibJPEG(), profiles: smallest, maxPixels: context.maxPixels)
            let directDecoding = try direct.streamedDecoding(info)
            if let directNeed = addressable(directDecoding.arenaBytes, decoderBytes), arenaBytes >= directNeed {
                pipeline = direct
                decoding = directDecoding
                need = directNeed
            }
        }
        guard let need else { return context.fail(.tooLarge, unaddressableArena) }
        guard arenaBytes >= need else {
            return context.fail(.arenaTooSmall, "an arena of \(arenaBytes) bytes where \(need) are needed")
        }
        let networkBytes = decoding.arenaBytes
        let record = jpegMemory(in: arena, after: networkBytes, arenaBytes: arenaBytes)
        // The caller's bytes stay valid for the call: the reader borrows them, no copy.
        var rows = BoardRows(reader: try LibJPEG.RowReader(borrowing: file, maxPixels: context.maxPixels, memory: record))
        let width = UInt32(decoding.width)
        try pipeline.decodeStreamed(decoding, rows: &rows, arena: arena, arenaBytes: networkBytes) { y, pixels throws(ComRecError) in
            if row(user, UInt32(y), pixels, width) != 0 {
                stoppedAt = y
                throw .invalidArgument("the row callback stopped the decode at row \(y)")
            }
        }
        return context.succeed()
    } catch {
        if let stoppedAt { return context.fail(.callback, "the row callback returned non-zero for row \(stoppedAt)") }
        if error.isJPEGOutOfMemory {
            // What did not fit in the arena (a progressive file's coefficients) the heap refused.
            return context.fail(.arenaTooSmall, "the JPEG decoder's memory fits neither the arena nor the heap (\(error))")
        }
        // What the decode refuses as an argument is the file's (a CMYK JPEG, an enhancer this
        // build cannot stream): the caller's own arguments were checked above.
        if case .invalidArgument(let why) = error { return context.fail(.unsupported, why) }
        return context.fail(error)
    }
}

extension Context {
    var pipeline: ComRecPipeline<LibJPEG> { ComRecPipeline(jpeg: LibJPEG(), profiles: profiles, maxPixels: maxPixels) }
}

/// The sum of arena parts, nil when it is more than the address space holds (a part of
/// `Int.max` is one already: StreamedRun.arenaBytes).
func addressable(_ a: Int, _ b: Int) -> Int? {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow || a == Int.max || b == Int.max ? nil : sum
}

let unaddressableArena = "the arena this image needs is more than this machine can address (a wide image on many threads: use fewer)"

/// The longest profile name a caller may pass; a longer string is no profile's.
let maxProfileNameBytes = 64

/// The caller's NUL-terminated profile name, read no further than `maxProfileNameBytes` + 1
/// bytes; nil when it is longer.
func profileName(_ name: UnsafePointer<CChar>) -> String? {
    var length = 0
    while name[length] != 0 {
        length += 1
        if length > maxProfileNameBytes { return nil }
    }
    return String(decoding: UnsafeRawBufferPointer(start: name, count: length), as: UTF8.self)
}
