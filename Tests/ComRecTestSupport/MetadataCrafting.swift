import CComRecImage
import ComRecCodec
import ComRecIO

/// Images with metadata, made in the test: a "camera JPEG" (EXIF with orientation 6, an ICC
/// profile), PNGs with eXIf, iTXt XMP and iCCP chunks, and readers of PNG chunks and JPEG
/// segments that do not use the code under test.
public enum MetadataCrafting {
    /// A minimal valid EXIF block: a big-endian TIFF header and one IFD with one entry,
    /// Orientation (0x0112, SHORT) = 6 ("rotate 90 degrees clockwise to show": a portrait photo).
    public static let exifOrientation6: [UInt8] = [
        0x4D, 0x4D, 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08,  // "MM", 42, IFD at offset 8
        0x00, 0x01,  // one entry
        0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00,  // Orientation = 6
        0x00, 0x00, 0x00, 0x00,  // no next IFD
    ]

    public static let xmpPacket: [UInt8] = Array(
        #"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="4"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#.utf8)

    /// A fake ICC profile of `bytes` bytes: a header with its size, class, colour space ("RGB "),
    /// connection space, the "acsp" signature and no tags, then a pattern.
    public static func fakeICCProfile(bytes: Int = 560, colourSpace: String = "RGB ") -> [UInt8] {
        var profile = (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        func put(_ at: Int, _ value: [UInt8]) { profile.replaceSubrange(at..<at + value.count, with: value) }
        put(0, [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: bytes >> $0) })
        put(4, Array("none".utf8))
        put(8, [2, 0x10, 0, 0])
        put(12, Array("mntr".utf8))
        put(16, Array(colourSpace.utf8))
        put(20, Array("XYZ ".utf8))
        put(36, Array("acsp".utf8))
        put(128, [0, 0, 0, 0])
        return profile
    }

    /// A JPEG of `Crafting.sampleImage` with `segments` (as a camera or editor writes them).
    public static func jpeg(segments: [JPEGSegment]) -> [UInt8] {
        try! LibJPEG().encode(Crafting.sampleImage, settings: JPEGSettings(quality: 90), segments: segments)
    }

    /// The camera JPEG: APP1 "Exif\0\0" + EXIF with orientation 6, APP2 ICC_PROFILE chunk 1 of 1.
    public static func cameraJPEG(icc: [UInt8] = fakeICCProfile()) -> [UInt8] {
        jpeg(segments: [
            JPEGSegment(marker: 0xE1, payload: Array("Exif".utf8) + [0, 0] + exifOrientation6),
            JPEGSegment(marker: 0xE2, payload: Array("ICC_PROFILE".utf8) + [0, 1, 1] + icc),
        ])
    }

    /// A PNG of `Crafting.sampleImage` with `chunks` (type, data) right after IHDR.
    public static func png(chunks: [(String, [UInt8])]) -> [UInt8] {
        let plain = try! PNG.encode(Crafting.sampleImage)
        let afterIHDR = 8 + 25
        return Array(plain[..<afterIHDR]) + chunks.flatMap { Crafting.pngChunk($0.0, $0.1) } + Array(plain[afterIHDR...])
    }

    public static func eXIf(_ exif: [UInt8]) -> (String, [UInt8]) { ("eXIf", exif) }
    public static func iTXtXMP(_ xmp: [UInt8]) -> (String, [UInt8]) {
        ("iTXt", Array("XML:com.adobe.xmp".utf8) + [0, 0, 0, 0, 0] + xmp)
    }
    public static func iCCP(_ profile: [UInt8]) -> (String, [UInt8]) {
        ("iCCP", Array("camera".utf8) + [0, 0] + Crafting.zlibStored(profile))
    }

    /// A PNG with all three kinds.
    public static func pngWithMetadata() -> [UInt8] {
        png(chunks: [iCCP(fakeICCProfile()), eXIf(exifOrientation6), iTXtXMP(xmpPacket)])
    }

    /// The chunks of a PNG, (type, data), read by hand.
    public static func pngChunks(_ png: [UInt8]) -> [(type: String, data: [UInt8])] {
        var chunks: [(type: String, data: [UInt8])] = []
        var at = 8
        while at + 12 <= png.count {
            let length = png[at..<at + 4].reduce(0) { $0 << 8 | Int($1) }
            chunks.append((String(decoding: png[at + 4..<at + 8], as: UTF8.self), Array(png[at + 8..<at + 8 + length])))
            at += 12 + length
        }
        return chunks
    }

    /// The profile in a PNG's iCCP chunk data, inflated by zlib.
    public static func inflatedICCP(_ data: [UInt8]) -> [UInt8]? {
        guard let nul = data.firstIndex(of: 0) else { return nil }
        let stream = Array(data[(nul + 2)...])
        var out: UnsafeMutablePointer<UInt8>?
        var count = 0
        var error = [CChar](repeating: 0, count: Int(CRC_ERROR_SIZE))
        guard stream.withUnsafeBufferPointer({ crc_zlib_inflate($0.baseAddress, $0.count, 1 << 24, &out, &count, &error) }) == 0,
              let out else { return nil }
        defer { crc_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: count))
    }

    /// The payloads of a JPEG's APPn segments with `marker` that start with `header`, header removed.
    public static func payloads(_ jpeg: [UInt8], marker: UInt8, header: String) -> [[UInt8]] {
        let start = Array(header.utf8)
        return try! LibJPEG().readHeader(jpeg).segments
            .filter { $0.marker == marker && $0.payload.starts(with: start) }
            .map { Array($0.payload.dropFirst(start.count)) }
    }

    /// The EXIF blocks of a JPEG (after "Exif\0\0").
    public static func exifBlocks(_ jpeg: [UInt8]) -> [[UInt8]] { payloads(jpeg, marker: 0xE1, header: "Exif\0\0") }
    /// The XMP packets of a JPEG.
    public static func xmpPackets(_ jpeg: [UInt8]) -> [[UInt8]] { payloads(jpeg, marker: 0xE1, header: "http://ns.adobe.com/xap/1.0/\0") }
    /// The ICC_PROFILE chunks of a JPEG: sequence number, count, then profile bytes.
    public static func iccChunks(_ jpeg: [UInt8]) -> [[UInt8]] { payloads(jpeg, marker: 0xE2, header: "ICC_PROFILE\0") }
}
