import CComRecImage
import ComRecCodec
import ComRecKernels

// The codec's JPEG coder over libjpeg-turbo, Embedded-safe so that the CLI (through ComRecIO) and
// the C API of the board libraries (ComRecC) share it.

/// JPEG through libjpeg-turbo's libjpeg API (via the CComRecImage wrapper). Decoding uses the
/// accurate integer IDCT (JDCT_ISLOW) with fancy upsampling, so the output is the same on every run
/// and thread count for a given libjpeg-turbo (docs/format.md, "Determinism").
public struct LibJPEG: JPEGCoder, Sendable {
    /// Scans a progressive JPEG may have before decoding refuses it (docs/security.md): each scan
    /// passes over the whole image, so thousands of legal scans in a small file cost minutes.
    public static let defaultMaxScans = Int(CRC_JPEG_DEFAULT_MAX_SCANS)

    /// What this coder's decoder accepts.
    public let rules: JPEGDecodeRules
    /// Called once for each JPEG decoded with damaged data that lenient rules let through (never
    /// with strict rules: damage is an error there).
    public let onDamage: (@Sendable (JPEGDamage) -> Void)?

    /// The scan limit of this coder's decoder.
    public var maxScans: Int { rules.maxScans }

    public init(rules: JPEGDecodeRules = JPEGDecodeRules(), onDamage: (@Sendable (JPEGDamage) -> Void)? = nil) {
        self.rules = rules
        self.onDamage = onDamage
    }

    public init(maxScans: Int) {
        self.init(rules: JPEGDecodeRules(maxScans: maxScans))
    }

    public func encode(
        _ image: RGB8Image, settings: JPEGSettings, segments: [JPEGSegment]
    ) throws(ComRecError) -> [UInt8] {
        guard image.width > 0, image.height > 0 else { throw .emptyImage(width: image.width, height: image.height) }
        guard image.width <= 65500, image.height <= 65500 else {
            throw .invalidArgument("JPEG cannot hold a \(image.width) x \(image.height) image (at most 65500 per side)")
        }
        let baseTables = JPEGQuality.baseTables(settings.tables) ?? []
        var out: UnsafeMutablePointer<UInt8>?
        var outSize = 0
        var error = [CChar](repeating: 0, count: Int(CRC_ERROR_SIZE))
        // All payloads in one buffer so that one set of pointers stays valid for the call.
        let payloads = segments.flatMap { $0.payload }
        // What libjpeg is handed: trellis-quantised coefficients, or samples (grey: one channel).
        let quantised = try settings.trellis.map { tuning throws(ComRecError) in
            try CoefficientEncoder(width: image.width, height: image.height, settings: settings)
                .quantise(image, quality: settings.quality, tables: settings.tables, tuning: tuning)
        }
        let samples = settings.grey && quantised == nil ? try image.greyChannel() : image.pixels
        let status = baseTables.withUnsafeBufferPointer { base in payloads.withUnsafeBufferPointer { all in
            var options = crc_jpeg_encode_options(
                quality: Int32(clamping: settings.quality),
                base_tables: base.isEmpty ? nil : base.baseAddress,
                chroma444: settings.chroma == .full444 ? 1 : 0,
                optimize_coding: settings.optimizeCoding ? 1 : 0,
                scans: settings.scans.libjpegValue)
            var markers: [crc_jpeg_marker] = []
            var offset = 0
            for segment in segments {
                markers.append(crc_jpeg_marker(
                    code: Int32(segment.marker), data: all.baseAddress.map { $0 + offset },
                    length: segment.payload.count))
                offset += segment.payload.count
            }
            let components = settings.grey ? 1 : 3
            if let (blocks, starts) = quantised {
                return blocks.withUnsafeBufferPointer { all in
                    let pointers: [UnsafePointer<Int16>?] = starts.map { all.baseAddress! + $0 }
                    return crc_jpeg_encode_coefficients(
                        UInt32(image.width), UInt32(image.height), Int32(components), &options, pointers,
                        markers, Int32(markers.count), &out, &outSize, &error)
                }
            }
            return samples.withUnsafeBufferPointer { pixels in
                crc_jpeg_encode(
                    pixels.baseAddress, UInt32(image.width), UInt32(image.height), Int32(components), &options,
                    markers, Int32(markers.count), &out, &outSize, &error)
            }
        } }
        guard status == 0, let out else { throw .jpegEncoder(cString(error)) }
        defer { crc_free(out) }
        return try ComRecError.allocating { () throws(AllocationFailure) in
            try arrayCopying(UnsafeBufferPointer(start: out, count: outSize))
        }
    }

    public func readHeader(_ jpeg: [UInt8]) throws(ComRecError) -> JPEGHeader {
        try withDecoder(jpeg) { decoder throws(ComRecError) in try header(of: decoder) }
    }

    public func decode(_ jpeg: [UInt8], maxPixels: Int) throws(ComRecError) -> RGB8Image {
        try withDecoder(jpeg) { decoder throws(ComRecError) in
            let info = try header(of: decoder)
            try checkPixelLimit(width: info.width, height: info.height, maxPixels: maxPixels)
            guard info.components == 1 || info.components == 3 else {
                throw .invalidArgument(
                    "JPEG has \(info.components) colour components (CMYK?); only grey and colour JPEGs are read, convert it to RGB first")
            }
            // Left uninitialised, so that memory is touched only as libjpeg writes rows: a small
            // file claiming a large image fails at the end of its data, before most is committed.
            let count = info.width * info.height * 3
            var error = [CChar](repeating: 0, count: Int(CRC_ERROR_SIZE))
            var status: Int32 = 0
            let pixels = try ComRecError.allocating { () throws(AllocationFailure) in
                try LargeBuffer<UInt8>(uninitializedCount: count) { buffer in
                    status = crc_jpeg_decode_rgb(decoder, buffer.baseAddress, &error)
                }
            }
            guard status == 0 else { throw .jpeg(cString(error)) }
            reportDamage(decoder, onDamage)
            return RGB8Image(width: info.width, height: info.height, pixels: pixels)
        }
    }

    /// Opens a decoder on `jpeg` (header read), runs `body`, then frees the decoder.
    private func withDecoder<T>(
        _ jpeg: [UInt8], _ body: (OpaquePointer) throws(ComRecError) -> T
    ) throws(ComRecError) -> T {
        var error = [CChar](repeating: 0, count: Int(CRC_ERROR_SIZE))
        // withUnsafeBufferPointer's closure cannot throw a typed error here, so carry the result out.
        let result: Result<T, ComRecError> = jpeg.withUnsafeBufferPointer { data in
            var c = rules.c
            guard let decoder = crc_jpeg_decoder_create(data.baseAddress, data.count, &c, &error) else {
                return .failure(.jpeg(cString(error)))
            }
            defer { crc_jpeg_decoder_destroy(decoder) }
            do throws(ComRecError) { return .success(try body(decoder)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// The header of an open decoder: its kept segments copied into arrays, whose memory (up to
    /// the rules' segment bytes) is asked of the system first.
    func header(of decoder: OpaquePointer) throws(ComRecError) -> JPEGHeader {
        var segments: [JPEGSegment] = []
        var marker = crc_jpeg_marker()
        var payloadBytes = 0
        for index in 0..<crc_jpeg_marker_count(decoder) where crc_jpeg_marker_at(decoder, index, &marker) == 0 {
            payloadBytes += marker.length
        }
        guard systemGrants(bytes: payloadBytes) else { throw .outOfMemory(bytes: payloadBytes) }
        for index in 0..<crc_jpeg_marker_count(decoder) where crc_jpeg_marker_at(decoder, index, &marker) == 0 {
            let payload = marker.data.map { Array(UnsafeBufferPointer(start: $0, count: marker.length)) } ?? []
            segments.append(JPEGSegment(marker: UInt8(truncatingIfNeeded: marker.code), payload: payload))
        }
        var tables: [[UInt16]] = []
        var table = [UInt16](repeating: 0, count: 64)
        for component in 0..<Int(crc_jpeg_components(decoder)) {
            guard crc_jpeg_quant_table(decoder, Int32(component), &table) == 0 else { break }
            tables.append(table)
        }
        return JPEGHeader(
            width: Int(crc_jpeg_width(decoder)), height: Int(crc_jpeg_height(decoder)),
            components: Int(crc_jpeg_components(decoder)), progressive: crc_jpeg_progressive(decoder) != 0,
            segments: segments, quantTables: tables)
    }
}

extension LibJPEG {
    /// The rows of one JPEG, decoded as `decode` does (same bytes) a row at a time. Holds its own
    /// copy of the file; the decoder is freed with the reader.
    public final class RowReader: JPEGRowSource {
        public let width: Int
        public let height: Int
        private let data: UnsafeBufferPointer<UInt8>
        /// Whether `data` is this reader's own copy (freed with it) or the caller's.
        private let owned: Bool
        private let decoder: OpaquePointer
        private var error = [CChar](repeating: 0, count: Int(CRC_ERROR_SIZE))

        /// What `finish` reports damage to (lenient rules only).
        private let onDamage: (@Sendable (JPEGDamage) -> Void)?

        /// Reads the header of `jpeg` and starts decoding; refuses more than `maxPixels` pixels
        /// and CMYK.
        public convenience init(
            _ jpeg: [UInt8], maxPixels: Int, rules: JPEGDecodeRules = JPEGDecodeRules(),
            onDamage: (@Sendable (JPEGDamage) -> Void)? = nil
        ) throws(ComRecError) {
            let copy = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, jpeg.count))
            _ = copy.initialize(from: jpeg)
            try self.init(data: UnsafeBufferPointer(start: copy.baseAddress, count: jpeg.count), owned: true,
                          maxPixels: maxPixels, rules: rules, onDamage: onDamage)
        }

        /// A reader of `jpeg`, which must stay valid and unchanged until the reader is gone. With
        /// `memory`, the decoder lives there (LibJPEGMemory.swift) and keeps no segments.
        public convenience init(
            borrowing jpeg: UnsafeBufferPointer<UInt8>, maxPixels: Int, rules: JPEGDecodeRules = JPEGDecodeRules(),
            memory: UnsafeMutablePointer<crc_jpeg_memory>? = nil, onDamage: (@Sendable (JPEGDamage) -> Void)? = nil
        ) throws(ComRecError) {
            try self.init(data: jpeg, owned: false, maxPixels: maxPixels, rules: rules, memory: memory, onDamage: onDamage)
        }

        private init(
            data: UnsafeBufferPointer<UInt8>, owned: Bool, maxPixels: Int, rules: JPEGDecodeRules,
            memory: UnsafeMutablePointer<crc_jpeg_memory>? = nil, onDamage: (@Sendable (JPEGDamage) -> Void)?
        ) throws(ComRecError) {
            self.data = data
            self.owned = owned
            self.onDamage = onDamage
            var c = rules.c
            guard let decoder = crc_jpeg_decoder_create_in(
                data.baseAddress, data.count, &c, memory, memory == nil ? 0 : -1, &error
            ) else {
                let message = cString(error)
                if owned { data.deallocate() }
                throw .jpeg(message)
            }
            self.decoder = decoder
            width = Int(crc_jpeg_width(decoder))
            height = Int(crc_jpeg_height(decoder))
            // Every stored property is set from here on, so a throw below runs deinit, which frees
            // the decoder and the copy: freeing them here as well would free them twice.
            let components = Int(crc_jpeg_components(decoder))
            try checkPixelLimit(width: width, height: height, maxPixels: maxPixels)
            guard components == 1 || components == 3 else {
                throw .invalidArgument("JPEG has \(components) colour components (CMYK?); only grey and colour JPEGs are read")
            }
            guard crc_jpeg_start_rgb_rows(decoder, &error) == 0 else { throw .jpeg(cString(error)) }
        }

        deinit {
            crc_jpeg_decoder_destroy(decoder)
            if owned { data.deallocate() }
        }

        public func readRow(into row: UnsafeMutablePointer<UInt8>) throws(ComRecError) {
            guard crc_jpeg_read_rgb_row(decoder, row, &error) == 0 else { throw .jpeg(cString(error)) }
        }

        public func finish() throws(ComRecError) {
            guard crc_jpeg_finish_rows(decoder, &error) == 0 else { throw .jpeg(cString(error)) }
            reportDamage(decoder, onDamage)
        }
    }
}

/// Calls `onDamage` when the decode counted corrupt-data warnings (lenient rules).
private func reportDamage(_ decoder: OpaquePointer, _ onDamage: (@Sendable (JPEGDamage) -> Void)?) {
    let count = Int(crc_jpeg_warning_count(decoder))
    guard count > 0, let onDamage else { return }
    onDamage(JPEGDamage(warnings: count, firstWarning: String(cString: crc_jpeg_first_warning(decoder)),
                        firstRow: Int(crc_jpeg_first_warning_row(decoder)), rows: Int(crc_jpeg_height(decoder))))
}

/// The text of a NUL-terminated C error buffer.
func cString(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

extension JPEGScans {
    /// CComRecImage's constant for this layout.
    public var libjpegValue: Int32 {
        switch self {
        case .baseline: Int32(CRC_JPEG_SCANS_BASELINE)
        case .progressive: Int32(CRC_JPEG_SCANS_PROGRESSIVE)
        case .smallest: Int32(CRC_JPEG_SCANS_SMALLEST)
        }
    }
}
