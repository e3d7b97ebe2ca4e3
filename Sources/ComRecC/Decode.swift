import CComRecAPI
import ComRecCodec
import ComRecKernels
import ComRecJPEG
import ComRecModels

// comrec_decode and its arena queries: the streamed decode of ComRecCodec (StreamedDecode.swift)
// with the caller's arena and row callback.

/// The largest height a JPEG (and so a ComRec file) can have: arenas sized for it fit any file.
let largestHeight = 2 * 65535

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
private func decodeArenaBytes(_ profiles: [Profile], _ name: UnsafePointer<CChar>?, _ mode: Int32, _ width: UInt32) -> Int {
    guard width >= 1, width <= 2 * 65535 else { return 0 }
    let w = Int(width)
    let plainRow = w * 3 + 64
    guard let name else { return mode == 1 ? plainRow : 0 }
    let profileName = String(cString: name)
    guard let profile = profiles.first(where: { $0.name == profileName }) else { return 0 }
    switch mode {
    case 0:
        return StreamedRun(model: profile.networks?.model(), job: .reconstruct, width: w, height: largestHeight,
                           runner: profile.networks?.runner ?? .portable).arenaBytes
    case 1:
        // Plain-JPEG full-mode files (above the enhancer's quality) need a row; enhanced ones more.
        guard let networks = profile.full.networks else { return plainRow }
        return max(plainRow, StreamedRun(model: networks.model(), job: .enhance, width: w, height: largestHeight,
                                         runner: networks.runner).arenaBytes)
    default:
        return 0
    }
}

@_cdecl("comrec_decode_arena_bytes_for_file")
public func comrec_decode_arena_bytes_for_file(
    _ handle: OpaquePointer?, _ data: UnsafePointer<UInt8>?, _ size: Int, _ bytes: UnsafeMutablePointer<Int>?
) -> Int32 {
    guard let context = contextObject(handle) else { return Status.argument.rawValue }
    guard let file = fileBytes(data, size), let bytes else { return context.fail(.argument, "NULL data or result pointer") }
    do throws(ComRecError) {
        try checkedJPEG(file)
        bytes.pointee = try context.pipeline.streamedDecoding(file).arenaBytes
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
    var stoppedAt: Int? = nil
    do throws(ComRecError) {
        try checkedJPEG(file)
        var pipeline = context.pipeline
        var decoding = try pipeline.streamedDecoding(file)
        if arenaBytes < decoding.arenaBytes, let smallest = context.smallestArenaProfiles {
            // The measured choice does not fit: direct convolutions need less and give the same bytes.
            let direct = ComRecPipeline(jpeg: LibJPEG(), profiles: smallest, maxPixels: context.maxPixels)
            let directDecoding = try direct.streamedDecoding(file)
            if arenaBytes >= directDecoding.arenaBytes {
                pipeline = direct
                decoding = directDecoding
            }
        }
        guard arenaBytes >= decoding.arenaBytes else {
            return context.fail(.arenaTooSmall, "an arena of \(arenaBytes) bytes where \(decoding.arenaBytes) are needed")
        }
        // The caller's bytes stay valid for the call: the reader borrows them, no copy.
        var rows = BoardRows(reader: try LibJPEG.RowReader(
            borrowing: UnsafeBufferPointer(start: data, count: size), maxPixels: context.maxPixels))
        let width = UInt32(decoding.width)
        try pipeline.decodeStreamed(decoding, rows: &rows, arena: arena, arenaBytes: arenaBytes) { y, pixels throws(ComRecError) in
            if row(user, UInt32(y), pixels, width) != 0 {
                stoppedAt = y
                throw .invalidArgument("the row callback stopped the decode at row \(y)")
            }
        }
        return context.succeed()
    } catch {
        if let stoppedAt { return context.fail(.callback, "the row callback returned non-zero for row \(stoppedAt)") }
        // What the decode refuses as an argument is the file's (a CMYK JPEG, an enhancer this
        // build cannot stream): the caller's own arguments were checked above.
        if case .invalidArgument(let why) = error { return context.fail(.unsupported, why) }
        return context.fail(error)
    }
}

extension Context {
    var pipeline: ComRecPipeline<LibJPEG> { ComRecPipeline(jpeg: LibJPEG(), profiles: profiles, maxPixels: maxPixels) }
}
