import CComRecAPI
import CComRecImage
import ComRecCodec
import ComRecKernels
import ComRecModels

// comrec_encode: rows in through the caller's callback, the ComRec file out through the caller's
// write callback. Half mode streams the rows through ComCNN (StreamedRun, `.compact`) into
// libjpeg a row at a time; full mode gives the rows to libjpeg as they come. Same settings and so
// the same bytes as `comrec encode --mode half|full --quality Q --profile P`.

let defaultEncodeQuality: Int32 = 75

@_cdecl("comrec_encode_options_init")
public func comrec_encode_options_init(_ options: UnsafeMutablePointer<comrec_encode_options>?) {
    options?.pointee = comrec_encode_options(profile: nil, quality: defaultEncodeQuality, mode: 0, progressive: 0)
}

/// The checked options: the profile, mode and JPEG settings, or a reason to refuse them.
private func resolve(_ options: comrec_encode_options, in context: Context) -> Result<(Profile, CodecMode, JPEGSettings), FailReason> {
    let name = options.profile.map { String(cString: $0) } ?? Profile.defaultName
    guard let profile = context.profile(named: name) else {
        return .failure(FailReason(.argument, "no profile \(name) in this build"))
    }
    guard (1...100).contains(options.quality) else {
        return .failure(FailReason(.argument, "JPEG quality \(options.quality) is not in 1...100"))
    }
    guard let mode = CodecMode(rawValue: UInt8(truncatingIfNeeded: options.mode)), options.mode >= 0, options.mode <= 1 else {
        return .failure(FailReason(.argument, "mode \(options.mode) is neither COMREC_MODE_HALF nor COMREC_MODE_FULL"))
    }
    guard options.progressive == 0 || options.progressive == 1 else {
        return .failure(FailReason(.argument, "progressive must be 0 or 1"))
    }
    if mode == .half && profile.networks == nil {
        return .failure(FailReason(.unsupported, "profile \(name) has no network to stream; the C API encodes learned profiles"))
    }
    let settings = JPEGSettings(quality: Int(options.quality), chroma: .subsampled420, optimizeCoding: true,
                                progressive: options.progressive == 1)
    return .success((profile, mode, settings))
}

struct FailReason: Error {
    let status: Status
    let text: String
    init(_ status: Status, _ text: String) {
        self.status = status
        self.text = text
    }
}

private func arenaBytes(profile: Profile, mode: CodecMode, width: Int, height: Int) -> Int {
    guard mode == .half, let networks = profile.networks else { return width * 3 + 64 }
    return StreamedRun(model: networks.model(), job: .compact, width: width, height: height, runner: networks.runner).arenaBytes
}

@_cdecl("comrec_encode_arena_bytes")
public func comrec_encode_arena_bytes(_ handle: OpaquePointer?, _ options: UnsafePointer<comrec_encode_options>?, _ width: UInt32) -> Int {
    guard let context = contextObject(handle), width >= 1 else { return 0 }
    let chosen = options?.pointee ?? comrec_encode_options(profile: nil, quality: defaultEncodeQuality, mode: 0, progressive: 0)
    guard case .success(let (profile, mode, _)) = resolve(chosen, in: context) else { return 0 }
    // The stored JPEG holds at most 65500 pixels per side: half of the width in half mode.
    guard (mode == .half ? (Int(width) + 1) / 2 : Int(width)) <= 65500 else { return 0 }
    return arenaBytes(profile: profile, mode: mode, width: Int(width), height: largestHeight)
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
    let chosen = options?.pointee ?? comrec_encode_options(profile: nil, quality: defaultEncodeQuality, mode: 0, progressive: 0)
    let profile: Profile, mode: CodecMode, settings: JPEGSettings
    switch resolve(chosen, in: context) {
    case .success(let resolved): (profile, mode, settings) = resolved
    case .failure(let reason): return context.fail(reason.status, reason.text)
    }
    let w = Int(width), h = Int(height)
    guard w >= 1 && h >= 1 else { return context.fail(.argument, "an image of \(w) x \(h) pixels has no pixels") }
    do throws(ComRecError) {
        try checkPixelLimit(width: w, height: h, maxPixels: context.maxPixels)
    } catch {
        return context.fail(error)
    }
    let stored = mode == .half ? compactSize(width: w, height: h) : (width: w, height: h)
    guard stored.width <= 65500 && stored.height <= 65500 else {
        return context.fail(.tooLarge, "a JPEG holds at most 65500 pixels per side")
    }
    let needed = arenaBytes(profile: profile, mode: mode, width: w, height: h)
    guard arenaSize >= needed else {
        return context.fail(.arenaTooSmall, "an arena of \(arenaSize) bytes where \(needed) are needed")
    }
    let payload: [UInt8]
    do throws(ComRecError) {
        payload = try ComRecSegment(
            mode: mode, profile: profile.name, modelHash: profile.modelHash(for: mode, quality: settings.quality),
            width: w, height: h, quality: settings.quality
        ).serialised()
    } catch {
        return context.fail(error)
    }

    let target = context.writeTarget
    target.pointee = WriteTarget(write: write, user: writeUser)
    var error = [CChar](repeating: 0, count: Int(CRC_ERROR_SIZE))
    var jpegOptions = crc_jpeg_encode_options(
        quality: Int32(settings.quality), chroma444: 0, optimize_coding: 1, progressive: settings.progressive ? 1 : 0)
    let made: OpaquePointer? = payload.withUnsafeBufferPointer { bytes in
            var marker = crc_jpeg_marker(code: Int32(ComRecSegment.marker), data: bytes.baseAddress, length: bytes.count)
            return crc_jpeg_row_encoder_create(
                UInt32(stored.width), UInt32(stored.height), 3, &jpegOptions, &marker, 1,
                { user, bytes, size in
                    let target = user!.assumingMemoryBound(to: WriteTarget.self)
                    if target.pointee.write!(target.pointee.user, bytes, size) != 0 {
                        target.pointee.refused = true
                        return 1
                    }
                    return 0
                }, target, &error)
    }
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
            let networks = profile.networks!
            let run = StreamedRun(model: networks.model(), job: .compact, width: w, height: h, runner: networks.runner)
            var next = 0
            var encoderFailed = false
            do throws(StreamedRunError) {
                try run.run(arena: arena, arenaBytes: arenaSize, source: { row in
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

/// The text of a NUL-terminated C error buffer.
func text(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
