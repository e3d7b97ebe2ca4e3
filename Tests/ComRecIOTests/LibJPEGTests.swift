import CComRecImage
import ComRecCodec
import ComRecIO
import ComRecKernels
import ComRecTestSupport
import Testing

@Suite struct LibJPEGTests {
    let jpeg = LibJPEG()
    let image = Fixtures.image(width: 48, height: 40) { x, y in
        [UInt8(x * 5), UInt8(y * 6), UInt8(128 + (x - y) * 2)]
    }

    /// Luma sampling factors from the SOF segment: 0x22 for 4:2:0, 0x11 for 4:4:4.
    static func lumaSampling(_ file: [UInt8]) -> UInt8? {
        var i = 2
        while i + 4 < file.count, file[i] == 0xFF {
            let marker = file[i + 1], length = Int(file[i + 2]) << 8 | Int(file[i + 3])
            if marker == 0xC0 || marker == 0xC1 || marker == 0xC2 { return file[i + 11] }
            i += 2 + length
        }
        return nil
    }

    @Test func roundTripIsClose() throws {
        let file = try jpeg.encode(image, settings: JPEGSettings(quality: 95), segments: [])
        let back = try jpeg.decode(file, maxPixels: 10_000)
        #expect(back.width == 48 && back.height == 40)
        #expect(Metrics.psnr(image, back) > 35)
    }

    /// The compressed bytes leave as a Swift array, whose memory is asked of the system first: a
    /// refusal is an error naming the file's size, not a stopped process.
    @Test func refusedMemoryForTheFileIsAnError() throws {
        let size = try jpeg.encode(image, settings: JPEGSettings(quality: 95), segments: []).count
        #expect(throws: ComRecError.outOfMemory(bytes: size)) {
            try LargeBuffer<UInt8>.failingAbove(size - 1) {
                try jpeg.encode(image, settings: JPEGSettings(quality: 95), segments: [])
            }
        }
        let again = try LargeBuffer<UInt8>.failingAbove(size) {
            try jpeg.encode(image, settings: JPEGSettings(quality: 95), segments: [])
        }
        #expect(again.count == size)
    }

    /// A progressive JPEG with more scans than the decoder's limit is refused with a one-line
    /// message before the scan past the limit is decoded; at the limit it decodes, and the default
    /// limit leaves every ordinary progressive file alone.
    @Test func progressiveScansAreLimited() throws {
        let file = try jpeg.encode(image, settings: JPEGSettings(quality: 80, scans: .progressive), segments: [])
        let scans = scanCount(file)
        #expect(scans == 10, "libjpeg's simple progression of a colour image")
        #expect(try LibJPEG(maxScans: scans).decode(file, maxPixels: 10_000).pixels == jpeg.decode(file, maxPixels: 10_000).pixels)
        #expect(LibJPEG.defaultMaxScans >= 10 * scans)
        #expect {
            _ = try LibJPEG(maxScans: scans - 1).decode(file, maxPixels: 10_000)
        } throws: { error in
            "\(error)".contains("more than \(scans - 1) scans")
        }
        // The header alone (info) reads no scan and is not limited.
        #expect(try LibJPEG(maxScans: 1).readHeader(file).progressive)
    }

    /// The scans are counted before the first is decoded (libjpeg reads them all into a buffer of
    /// the whole image before the first row), walking the segments between them by their lengths:
    /// FF DA bytes inside a segment's payload are no scan.
    @Test func scanCountSkipsSegmentPayloads() throws {
        let file = try jpeg.encode(image, settings: JPEGSettings(quality: 80, scans: .progressive), segments: [])
        func pairs(_ bytes: [UInt8]) -> [Int] { (0..<(bytes.count - 1)).filter { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xDA } }
        let starts = pairs(file)
        let payload = Array([[UInt8]](repeating: [0xFF, 0xDA], count: 20).joined())
        let comment: [UInt8] = [0xFF, 0xFE, 0, UInt8(payload.count + 2)] + payload
        let commented = Array(file[..<starts[1]]) + comment + Array(file[starts[1]...])   // between scans 1 and 2
        #expect(pairs(commented).count == 30, "a count of byte pairs is fooled")
        #expect(try LibJPEG(maxScans: 10).decode(commented, maxPixels: 10_000).pixels == jpeg.decode(file, maxPixels: 10_000).pixels)
        #expect {
            _ = try LibJPEG(maxScans: 9).decode(commented, maxPixels: 10_000)
        } throws: { error in
            "\(error)".contains("more than 9 scans")
        }
    }

    /// Damaged data is an error by default; lenient rules decode what libjpeg can patch and
    /// report the damage once, with the rows that may be invented.
    @Test func damagedDataIsAnErrorUnlessLenient() throws {
        // Tall enough that a cut after two thirds leaves whole rows of blocks before it.
        let tall = Fixtures.image(width: 48, height: 160) { x, y in [UInt8(x * 5), UInt8((y * 3) % 256), UInt8((x * y) % 251)] }
        let whole = try jpeg.encode(tall, settings: JPEGSettings(quality: 90), segments: [])
        let cut = Array(whole.prefix(whole.count * 2 / 3))
        #expect { _ = try jpeg.decode(cut, maxPixels: 10_000) } throws: { "\($0)".contains("Premature end of JPEG file") }
        let reports = Reports()
        let lenient = LibJPEG(rules: JPEGDecodeRules(lenient: true), onDamage: { reports.add($0) })
        let patched = try lenient.decode(cut, maxPixels: 10_000)
        #expect(patched.width == 48 && patched.height == 160)
        let damage = try #require(reports.all.first)
        #expect(reports.all.count == 1 && damage.warnings >= 1 && damage.rows == 160)
        #expect(damage.firstRow > 0 && damage.firstRow < 160, "a cut after two thirds keeps the first rows")
        #expect(damage.firstWarning == "Premature end of JPEG file")
        // The rows before the damage are the whole file's; the last ones are patched.
        let good = try jpeg.decode(whole, maxPixels: 10_000)
        let kept = damage.firstRow * 48 * 3
        #expect(Array(patched.pixels.prefix(kept)) == Array(good.pixels.prefix(kept)))
        #expect(patched.pixels != good.pixels)
        // The row reader reports the same damage at finish, and an undamaged file reports nothing.
        let rowReports = Reports()
        let reader = try LibJPEG.RowReader(cut, maxPixels: 10_000, rules: JPEGDecodeRules(lenient: true), onDamage: { rowReports.add($0) })
        var row = [UInt8](repeating: 0, count: 48 * 3)
        for _ in 0..<160 { try row.withUnsafeMutableBufferPointer { try reader.readRow(into: $0.baseAddress!) } }
        try reader.finish()
        #expect(rowReports.all == [damage])
        _ = try lenient.decode(whole, maxPixels: 10_000)
        #expect(reports.all.count == 1)
    }

    /// The segment limits refuse a header past them, with the limit in the message.
    @Test func segmentLimits() throws {
        let segments = (0..<3).map { JPEGSegment(marker: 0xE5, payload: [UInt8](repeating: UInt8($0), count: 10)) }
        let file = try jpeg.encode(image, settings: JPEGSettings(quality: 80), segments: segments)
        // libjpeg's JFIF APP0 (14 bytes) and the three segments: 4 segments, 44 bytes.
        #expect(try LibJPEG(rules: JPEGDecodeRules(maxSegments: 4, maxSegmentBytes: 44)).readHeader(file).segments.count == 4)
        #expect { _ = try LibJPEG(rules: JPEGDecodeRules(maxSegments: 3)).readHeader(file) } throws: {
            "\($0)".contains("more than 3 APPn or COM segments")
        }
        #expect { _ = try LibJPEG(rules: JPEGDecodeRules(maxSegmentBytes: 43)).readHeader(file) } throws: {
            "\($0)".contains("more than 43 bytes of APPn or COM segments")
        }
    }

    @Test func chromaSubsampling() throws {
        let subsampled = try jpeg.encode(image, settings: JPEGSettings(quality: 75, chroma: .subsampled420), segments: [])
        let full = try jpeg.encode(image, settings: JPEGSettings(quality: 75, chroma: .full444), segments: [])
        #expect(Self.lumaSampling(subsampled) == 0x22)
        #expect(Self.lumaSampling(full) == 0x11)
    }

    /// Progressive and optimised coding change only the entropy coding: same pixels.
    @Test func progressiveAndOptimisedKeepThePixels() throws {
        let baseline = try jpeg.encode(image, settings: JPEGSettings(quality: 75, optimizeCoding: false), segments: [])
        let optimised = try jpeg.encode(image, settings: JPEGSettings(quality: 75, optimizeCoding: true), segments: [])
        let progressive = try jpeg.encode(image, settings: JPEGSettings(quality: 75, scans: .progressive), segments: [])
        #expect(optimised.count < baseline.count)
        #expect(try jpeg.readHeader(progressive).progressive)
        #expect(try !jpeg.readHeader(optimised).progressive)
        let pixels = try jpeg.decode(baseline, maxPixels: 10_000)
        #expect(try jpeg.decode(optimised, maxPixels: 10_000) == pixels)
        #expect(try jpeg.decode(progressive, maxPixels: 10_000) == pixels)
    }

    /// `.smallest` writes one baseline scan and three progressive scripts and keeps the smallest:
    /// the same pixels as baseline, never a larger file, and on a photo-like image at these
    /// qualities a progressive script wins somewhere, from libjpeg's samples and from trellis
    /// coefficients alike, in 4:2:0 and 4:4:4; grey images have their own scripts.
    @Test(arguments: [false, true])
    func smallestScansKeepThePixelsAndNeverGrow(trellis: Bool) throws {
        let demo = try readImage(path: Fixtures.demoImage)
        let layouts: [(grey: Bool, chroma: JPEGSettings.Chroma)] = [(false, .subsampled420), (true, .subsampled420), (false, .full444)]
        for (grey, chroma) in layouts {
            var counts: Set<Int> = []
            var smaller = false
            for quality in [20, 50, 80, 95] {
                func file(_ scans: JPEGScans) throws -> [UInt8] {
                    try jpeg.encode(demo, settings: JPEGSettings(quality: quality, chroma: chroma, scans: scans, grey: grey,
                                                                 trellis: trellis ? TrellisTuning() : nil), segments: [])
                }
                let baseline = try file(.baseline), smallest = try file(.smallest)
                #expect(scanCount(baseline) == 1)
                #expect(smallest.count <= baseline.count)
                #expect(try jpeg.decode(smallest, maxPixels: demo.pixelCount) == jpeg.decode(baseline, maxPixels: demo.pixelCount))
                smaller = smaller || smallest.count < baseline.count
                counts.insert(scanCount(smallest))
            }
            #expect(smaller, "grey \(grey), \(chroma): no progressive script was smaller than baseline")
            #expect(counts.isSubset(of: grey ? [1, 2, 3, 4] : [1, 5, 6, 7]), "grey \(grey), \(chroma): scans \(counts)")
        }
    }

    /// The C layer's own guards: the row encoder cannot keep the smallest of several files (it
    /// writes each row once), and a layout of scans outside the enum is refused by every encoder.
    @Test func scanLayoutsTheEncodersRefuse() throws {
        var error = [CChar](repeating: 0, count: Int(CRC_ERROR_SIZE))
        func message() -> String { String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        var options = crc_jpeg_encode_options(quality: 75, base_tables: nil, chroma444: 0, optimize_coding: 1,
                                              scans: Int32(CRC_JPEG_SCANS_SMALLEST))
        let write: crc_write_fn = { _, _, _ in 0 }
        let rows = crc_jpeg_row_encoder_create(16, 16, 3, &options, nil, 0, write, nil, &error)
        #expect(rows == nil)
        #expect(message().contains("the smallest of several needs the whole image"), "\(message())")
        if let rows { crc_jpeg_row_encoder_destroy(rows) }
        options.scans = 3
        let pixels = [UInt8](repeating: 128, count: 16 * 16 * 3)
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        #expect(crc_jpeg_encode(pixels, 16, 16, 3, &options, nil, 0, &out, &size, &error) == -1)
        #expect(out == nil && message().contains("JPEG scans must be"), "\(message())")
        error = [CChar](repeating: 0, count: Int(CRC_ERROR_SIZE))
        #expect(crc_jpeg_row_encoder_create(16, 16, 3, &options, nil, 0, write, nil, &error) == nil)
        #expect(message().contains("JPEG scans must be"), "\(message())")
    }

    @Test func decodingIsDeterministic() throws {
        let file = try jpeg.encode(image, settings: JPEGSettings(quality: 50), segments: [])
        let first = try jpeg.decode(file, maxPixels: 10_000)
        for _ in 0..<3 { #expect(try jpeg.decode(file, maxPixels: 10_000) == first) }
    }

    @Test func segmentsAreWrittenAfterJFIFAndReadBackInOrder() throws {
        let segments = [
            JPEGSegment(marker: 0xE9, payload: Array("ComRec\0test".utf8)),
            JPEGSegment(marker: 0xFE, payload: Array("a comment".utf8)),
            JPEGSegment(marker: 0xE9, payload: []),
        ]
        let file = try jpeg.encode(image, settings: JPEGSettings(quality: 75), segments: segments)
        let header = try jpeg.readHeader(file)
        #expect(header.segments.first?.marker == 0xE0)  // JFIF stays first
        #expect(Array(header.segments.dropFirst()) == segments)
        #expect(header.width == 48 && header.height == 40 && header.components == 3)
        // Our segment sits right after APP0: SOI (2) + APP0 (2 + 16) bytes in.
        #expect(Array(file[20..<22]) == [0xFF, 0xE9])
    }

    /// `count` empty COM segments right after SOI.
    func withComments(_ file: [UInt8], count: Int) -> [UInt8] {
        Array(file[0..<2]) + Array(repeating: [0xFF, 0xFE, 0x00, 0x02], count: count).flatMap { $0 } + Array(file[2...])
    }

    /// Every APPn and COM segment is read back, in order, up to the limit of 4096; more is refused
    /// (a file of a million empty segments once took minutes: libjpeg's own list is quadratic).
    @Test func markerSegmentsAreKeptUpToTheLimit() throws {
        let file = try jpeg.encode(image, settings: JPEGSettings(quality: 75), segments: [])
        let atLimit = withComments(file, count: 4095)  // plus JFIF's APP0: 4096 segments
        let header = try jpeg.readHeader(atLimit)
        #expect(header.segments.count == 4096 && header.segments.last?.marker == 0xE0)  // the comments come before JFIF
        #expect(header.segments.prefix(4095).allSatisfy { $0 == JPEGSegment(marker: 0xFE, payload: []) })
        #expect(try jpeg.decode(atLimit, maxPixels: 1 << 20) == jpeg.decode(file, maxPixels: 1 << 20))
        for bomb in [withComments(file, count: 4096), withComments(file, count: 1_000_000)] {
            #expect(throws: ComRecError.jpeg("more than 4096 APPn or COM segments")) { try jpeg.readHeader(bomb) }
        }
        // 16 MB of segments: 300 segments of 65533 bytes.
        let big = Array(file[0..<2]) + Array(repeating: [0xFF, 0xE1, 0xFF, 0xFF] + [UInt8](repeating: 7, count: 65533), count: 300).flatMap { $0 }
            + Array(file[2...])
        #expect(throws: ComRecError.jpeg("more than 16 MB of APPn or COM segments")) { try jpeg.readHeader(big) }
        // A segment cut short by the end of the file.
        let cut = Array(file[0..<2]) + [0xFF, 0xFE, 0x01, 0x00, 1, 2, 3]
        #expect(throws: ComRecError.self) { try jpeg.readHeader(cut) }
    }

    @Test func greyJPEGDecodesToRGB() throws {
        var grey = image
        for i in stride(from: 0, to: grey.pixels.count, by: 3) { grey.pixels[i + 1] = grey.pixels[i]; grey.pixels[i + 2] = grey.pixels[i] }
        let back = try jpeg.decode(try jpeg.encode(grey, settings: JPEGSettings(quality: 90), segments: []), maxPixels: 10_000)
        #expect(back.width == 48)
    }

    @Test func corruptDataIsAnErrorNotPatchedPixels() throws {
        let file = try jpeg.encode(image, settings: JPEGSettings(quality: 75), segments: [])
        for cut in [2, 10, file.count / 2, file.count - 2] {
            #expect(throws: ComRecError.self, "cut at \(cut)") { try jpeg.decode(Array(file.prefix(cut)), maxPixels: 10_000) }
        }
        #expect(throws: ComRecError.self) { try jpeg.decode([], maxPixels: 10_000) }
        #expect(throws: ComRecError.self) { try jpeg.readHeader(Array("not a jpeg".utf8)) }
    }

    @Test func pixelLimitIsCheckedBeforeDecoding() throws {
        let file = try jpeg.encode(image, settings: JPEGSettings(quality: 75), segments: [])
        #expect(throws: ComRecError.tooLarge(width: 48, height: 40, limit: 100)) { try jpeg.decode(file, maxPixels: 100) }
    }

    /// A row reader that refuses a file after reading its header (over the pixel limit, or a scan
    /// past the limit) frees the decoder and its copy of the file once: they were freed in the
    /// initialiser and again by deinit (a double free, found by the fuzz targets under ASan).
    @Test func rowReaderRefusalsFreeOnce() throws {
        let file = try jpeg.encode(image, settings: JPEGSettings(quality: 75), segments: [])
        let progressive = try jpeg.encode(image, settings: JPEGSettings(quality: 75, scans: .progressive), segments: [])
        for _ in 0..<3 {
            #expect(throws: ComRecError.tooLarge(width: 48, height: 40, limit: 100)) {
                _ = try LibJPEG.RowReader(file, maxPixels: 100)
            }
            try file.withUnsafeBufferPointer { bytes in
                #expect(throws: ComRecError.tooLarge(width: 48, height: 40, limit: 100)) {
                    _ = try LibJPEG.RowReader(borrowing: bytes, maxPixels: 100)
                }
            }
            #expect(throws: ComRecError.self) { _ = try LibJPEG.RowReader(progressive, maxPixels: 10_000, rules: JPEGDecodeRules(maxScans: 1)) }
        }
        let reader = try LibJPEG.RowReader(file, maxPixels: 10_000)
        #expect(reader.width == 48 && reader.height == 40)
    }

    @Test func badEncodeArgumentsAreErrors() {
        #expect(throws: ComRecError.self) { try jpeg.encode(image, settings: JPEGSettings(quality: 0), segments: []) }
        #expect(throws: ComRecError.self) { try jpeg.encode(RGB8Image(width: 0, height: 0), settings: JPEGSettings(quality: 75), segments: []) }
        #expect(throws: ComRecError.self) {
            try jpeg.encode(image, settings: JPEGSettings(quality: 75), segments: [JPEGSegment(marker: 0xE9, payload: [UInt8](repeating: 0, count: 70_000))])
        }
    }
}

/// Collects damage reports in a test (one thread).
final class Reports: @unchecked Sendable {
    private(set) var all: [JPEGDamage] = []
    func add(_ damage: JPEGDamage) { all.append(damage) }
}
