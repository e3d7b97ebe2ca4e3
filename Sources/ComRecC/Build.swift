import CComRecAPI
import CComRecImage
import ComRecCodec
import ComRecKernels
import ComRecJPEG
import ComRecModels

// Build information and comrec_read_info.

/// The library's version (the C API's is COMREC_API_VERSION).
let libraryVersion: StaticString = "0.2.0"
let apiVersion: Int32 = 6

private func cPointer(_ text: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// The profiles without a runner (names and hashes only; no network runs).
let catalogueProfiles = boardProfiles(runner: .portable)

/// The profile names as NUL-terminated C strings, made once (the list is fixed at build time).
nonisolated(unsafe) private let profileNames: [UnsafeMutablePointer<CChar>] = catalogueProfiles.map { profile in
    let bytes = Array(profile.name.utf8)
    let text = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
    for (i, byte) in bytes.enumerated() { text[i] = CChar(bitPattern: byte) }
    text[bytes.count] = 0
    return text
}

@_cdecl("comrec_api_version")
public func comrec_api_version() -> Int32 { apiVersion }

@_cdecl("comrec_version")
public func comrec_version() -> UnsafePointer<CChar> { cPointer(libraryVersion) }

@_cdecl("comrec_kernel_family")
public func comrec_kernel_family() -> UnsafePointer<CChar> { cPointer(boardKernelFamily) }

@_cdecl("comrec_profile_count")
public func comrec_profile_count() -> Int32 { Int32(catalogueProfiles.count) }

@_cdecl("comrec_profile_name")
public func comrec_profile_name(_ index: Int32) -> UnsafePointer<CChar>? {
    guard index >= 0 && Int(index) < profileNames.count else { return nil }
    return UnsafePointer(profileNames[Int(index)])
}

@_cdecl("comrec_profile_model_hash")
public func comrec_profile_model_hash(_ index: Int32, _ mode: Int32) -> UInt64 {
    guard index >= 0 && Int(index) < catalogueProfiles.count else { return 0 }
    let profile = catalogueProfiles[Int(index)]
    switch mode {
    case 0: return profile.modelHash.value
    case 1: return profile.full.modelHash.value
    default: return 0
    }
}

/// The caller's file `data` (`size` bytes), borrowed for the call (never copied); nil for NULL.
func fileBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeBufferPointer<UInt8>? {
    guard let data, size >= 0 else { return nil }
    return UnsafeBufferPointer(start: data, count: size)
}

/// Refuses what is not a JPEG before libjpeg sees it, so that a wrong file is "not ComRec".
func checkedJPEG(_ bytes: UnsafeBufferPointer<UInt8>) throws(ComRecError) {
    guard bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF else { throw .notComRec }
}

/// What `pipeline.inspect` says of the caller's `file`, its header read in `memory` (nil: the
/// heap) keeping only ComRec's APP9 segments.
func inspected(
    _ file: UnsafeBufferPointer<UInt8>, _ pipeline: ComRecPipeline<LibJPEG>,
    memory: UnsafeMutablePointer<crc_jpeg_memory>? = nil
) throws(ComRecError) -> ComRecFileInfo {
    try checkedJPEG(file)
    let header = try pipeline.jpeg.readHeader(borrowing: file, memory: memory, keepingOnly: ComRecSegment.marker)
    return try pipeline.inspect(header: header, fileBytes: file.count)
}

@_cdecl("comrec_read_info")
public func comrec_read_info(_ data: UnsafePointer<UInt8>?, _ size: Int, _ out: UnsafeMutablePointer<comrec_info>?) -> Int32 {
    guard let file = fileBytes(data, size), let out else { return Status.argument.rawValue }
    do throws(ComRecError) {
        let info = try inspected(file, ComRecPipeline(jpeg: LibJPEG(), profiles: catalogueProfiles))
        var result = comrec_info()
        result.width = UInt32(info.segment.width)
        result.height = UInt32(info.segment.height)
        result.stored_width = UInt32(info.storedWidth)
        result.stored_height = UInt32(info.storedHeight)
        result.mode = Int32(info.segment.mode.rawValue)
        result.quality = Int32(info.segment.quality)
        result.progressive = info.progressive ? 1 : 0
        result.decodable = info.modelStatus == .available ? 1 : 0
        result.model_hash = info.segment.modelHash.value
        withUnsafeMutableBytes(of: &result.profile) { raw in
            for (i, byte) in info.segment.profile.utf8.prefix(16).enumerated() { raw[i] = byte }
        }
        out.pointee = result
        return Status.ok.rawValue
    } catch {
        return Status(error).rawValue
    }
}
