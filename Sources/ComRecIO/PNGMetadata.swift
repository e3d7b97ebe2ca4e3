import CComRecImage
import ComRecCodec

// PNG's metadata chunks: eXIf (the EXIF block), iTXt with keyword "XML:com.adobe.xmp" (XMP) and
// iCCP (the zlib-compressed ICC profile). They are read by walking the file's chunks here rather
// than through libpng, because libpng checks a profile against its own rules and silently drops
// one it dislikes (and so cannot tell a profile that does not inflate from none at all), and sees
// chunks after the image data only when asked to.

extension PNG {
    /// The keyword of the iTXt chunk that holds XMP (XMP specification, part 3).
    static let xmpKeyword: [UInt8] = Array("XML:com.adobe.xmp".utf8)
    /// The profile name written into iCCP (any 1...79 Latin-1 characters; readers ignore it).
    static let iccProfileName: [UInt8] = Array("ICC profile".utf8)

    /// The metadata chunks of the PNG in `bytes` (which libpng has already read without error):
    /// the first eXIf, iCCP and XMP iTXt, wherever they are before IEND. Chunks whose CRC is wrong
    /// are skipped, as libpng skips them.
    public static func metadata(_ bytes: [UInt8]) -> ImageMetadata {
        var metadata = ImageMetadata()
        var sawICC = false
        var offset = signature.count
        while offset + 12 <= bytes.count {
            let length = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            let kind = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
            let end = offset + 12 + length
            guard length <= Int(Int32.max), end <= bytes.count, kind != "IEND" else { break }
            let data = Array(bytes[offset + 8..<offset + 8 + length])
            let stored = bytes[end - 4..<end].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let computed = bytes.withUnsafeBufferPointer { crc_crc32($0.baseAddress! + offset + 4, 4 + length) }
            offset = end
            guard stored == computed else { continue }
            switch kind {
            case "eXIf" where metadata.exif == nil:
                // Some writers keep JPEG's "Exif\0\0" in front of the TIFF header: drop it.
                metadata.exif = data.starts(with: ImageMetadata.exifHeader) ? Array(data.dropFirst(6)) : data
            case "iCCP" where !sawICC:
                sawICC = true
                switch iccProfile(iCCP: data) {
                case .success(let profile): metadata.icc = profile
                case .failure(let why): metadata.unreadableICC = why.message
                }
            case "iTXt" where metadata.xmp == nil:
                metadata.xmp = xmpPacket(iTXt: data)
            default:
                break
            }
        }
        return metadata
    }

    struct ChunkProblem: Error { var message: String }

    /// iCCP: name, NUL, compression method 0, zlib stream of the profile.
    static func iccProfile(iCCP data: [UInt8]) -> Result<[UInt8], ChunkProblem> {
        guard let nul = data.prefix(80).firstIndex(of: 0), nul + 1 < data.count, data[nul + 1] == 0 else {
            return .failure(ChunkProblem(message: "its iCCP chunk has no profile name or an unknown compression method"))
        }
        return inflate(data[(nul + 2)...], maxBytes: ImageMetadata.maxICCBytes)
            .mapError { ChunkProblem(message: "its iCCP chunk does not inflate (\($0.message))") }
    }

    /// iTXt: keyword, NUL, compression flag, method, language tag, NUL, translated keyword, NUL,
    /// text (zlib stream when the flag is 1). Nil unless it is XMP's and readable.
    static func xmpPacket(iTXt data: [UInt8]) -> [UInt8]? {
        guard data.starts(with: xmpKeyword + [0]) else { return nil }
        var at = xmpKeyword.count + 1
        guard at + 2 <= data.count else { return nil }
        let compressed = data[at] == 1
        at += 2
        for _ in 0..<2 {  // language tag, translated keyword
            guard let nul = data[at...].firstIndex(of: 0) else { return nil }
            at = nul + 1
        }
        let text = data[at...]
        // A larger packet is kept so that the encoder can say how large it is.
        return compressed ? try? inflate(text, maxBytes: 16 << 20).get() : Array(text)
    }

    static func inflate(_ stream: ArraySlice<UInt8>, maxBytes: Int) -> Result<[UInt8], ChunkProblem> {
        var out: UnsafeMutablePointer<UInt8>?
        var count = 0
        var error = [CChar](repeating: 0, count: Int(CRC_ERROR_SIZE))
        let status = Array(stream).withUnsafeBufferPointer {
            crc_zlib_inflate($0.baseAddress, $0.count, maxBytes, &out, &count, &error)
        }
        guard status == 0, let out else { return .failure(ChunkProblem(message: cString(error))) }
        defer { crc_free(out) }
        return .success(Array(UnsafeBufferPointer(start: out, count: count)))
    }

    /// The chunks (type, data) that carry `metadata` in a PNG of `channels` channels: iCCP, eXIf,
    /// iTXt XMP (uncompressed, as the XMP specification advises). A profile whose colour space
    /// does not suit the image (an RGB profile on a grey PNG, which the PNG specification forbids
    /// and libpng refuses) is left out.
    static func metadataChunks(_ metadata: ImageMetadata, channels: Int) throws -> [(kind: String, data: [UInt8])] {
        var chunks: [(kind: String, data: [UInt8])] = []
        if let icc = metadata.icc, icc.count >= 20 {
            let space = Array(icc[16..<20])
            let suits = channels == 1 ? space == Array("GRAY".utf8) : space != Array("GRAY".utf8)
            if suits { chunks.append(("iCCP", iccProfileName + [0, 0] + (try deflate(icc)))) }
        }
        if let exif = metadata.exif { chunks.append(("eXIf", exif)) }
        if let xmp = metadata.xmp { chunks.append(("iTXt", xmpKeyword + [0, 0, 0, 0, 0] + xmp)) }
        return chunks
    }

    static func deflate(_ bytes: [UInt8]) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var count = 0
        var error = [CChar](repeating: 0, count: Int(CRC_ERROR_SIZE))
        let status = bytes.withUnsafeBufferPointer { crc_zlib_compress($0.baseAddress, $0.count, &out, &count, &error) }
        guard status == 0, let out else { throw ComRecIOError(.pngEncoder("zlib: " + cString(error))) }
        defer { crc_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: count))
    }

    /// Runs `body` with `chunks` as C structs whose pointers stay valid for the call.
    static func withCChunks<T>(_ chunks: [(kind: String, data: [UInt8])], _ body: (UnsafePointer<crc_png_chunk>?, Int32) throws -> T) rethrows -> T {
        let all = chunks.flatMap(\.data)
        return try all.withUnsafeBufferPointer { buffer in
            var cChunks: [crc_png_chunk] = []
            var offset = 0
            for chunk in chunks {
                let n = chunk.kind.utf8.map { CChar(bitPattern: $0) }
                precondition(n.count == 4, "a PNG chunk type has four letters")
                cChunks.append(crc_png_chunk(
                    name: (n[0], n[1], n[2], n[3], 0), data: buffer.baseAddress.map { $0 + offset }, length: chunk.data.count))
                offset += chunk.data.count
            }
            return try cChunks.withUnsafeBufferPointer { try body($0.baseAddress, Int32($0.count)) }
        }
    }
}
