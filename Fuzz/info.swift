// libFuzzer target: `comrec info`'s code (inspectFile in Sources/ComRecIO/ComRecFiles.swift: the
// file read, the format check and ComRecPipeline.inspect over LibJPEG's header reader and the
// segment parser, with the catalogue's profiles), then every field the command prints and the
// message of every error. The input is written to a file in a temporary folder first, as the
// command reads one. Properties: no trap, no sanitizer report, no leak; the facts are consistent
// (a stored size that half or full mode implies is not checked here: decoding checks it).
import ComRecCodec
import ComRecIO

#if canImport(Glibc)
import Glibc
#endif

let path: String = {
    let folder = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    return folder + "/comrec-fuzz-info-\(getpid()).jpg"
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInfo(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    require(fd >= 0, "cannot write \(path)")
    if let data, size > 0 { require(write(fd, data, size) == size, "cannot write \(path)") }
    close(fd)
    do {
        let info = try inspectFile(path)
        let segment = info.segment
        require(info.fileBytes == size, "info reports \(info.fileBytes) bytes of a \(size)-byte file")
        require(info.storedWidth >= 1 && info.storedHeight >= 1, "a stored JPEG of \(info.storedWidth) x \(info.storedHeight)")
        // The fields `comrec info` prints (Sources/comrec/InfoCommand.swift).
        var text = "\(segment.version) \(segment.mode.name) \(segment.profile) \(segment.modelHash)"
        switch info.modelStatus {
        case .available: text += " available"
        case .unknownProfile: text += " unknown-profile"
        case .differentModel(let buildHash): text += " different-model \(buildHash)"
        }
        let bitsPerPixel = Metrics.bitsPerPixel(fileBytes: info.fileBytes, width: segment.width, height: segment.height)
        require(bitsPerPixel.isFinite && bitsPerPixel > 0, "bits per pixel \(bitsPerPixel)")
        text += " \(segment.width)x\(segment.height) \(info.storedWidth)x\(info.storedHeight) q\(segment.quality)"
        text += " \(info.progressive) \(bitsPerPixel) " + decimalString(bitsPerPixel, 4)
        for record in segment.extensions { text += " \(record.tag):\(record.value)" }
        _ = text
    } catch {
        _ = "\(error)"
    }
    return 0
}
