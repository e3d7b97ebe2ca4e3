import CComRecImage
import ComRecCodec
import ComRecKernels

/// PNG through libpng (via the CComRecImage wrapper).
public enum PNG {
    /// What a PNG's header says, read without decoding pixels.
    public struct Header: Equatable, Sendable {
        public var width: Int
        public var height: Int
        public var bitDepth: Int
        /// 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGB + alpha.
        public var colorType: Int
        /// An alpha channel or a tRNS chunk (the image may still be fully opaque).
        public var hasAlpha: Bool

        /// Whether a file of `fileBytes` bytes can hold these pixels at all: deflate expands at
        /// most 1032 times (258 bytes from a 2-bit code), and the image data is at least
        /// height x ceil(width x channels x bitDepth / 8) bytes before compression. Checked before
        /// pixel memory is allocated, so a forged header in a few bytes costs nothing.
        public func couldBeHeld(inFileOf fileBytes: Int) -> Bool {
            let channels = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colorType] ?? 4
            let rowBytes = (width * channels * bitDepth + 7) / 8
            let (raw, overflow) = rowBytes.multipliedReportingOverflow(by: height)
            return !overflow && raw <= fileBytes * 1032
        }
    }

    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Decodes 8- or 16-bit grey, RGB or palette PNGs to RGB8 (16-bit samples rounded to 8 bits).
    /// An image whose alpha channel (or tRNS) makes any pixel less than opaque is refused, unless
    /// `options.flattenAlpha`, which composites it on white. Claimed sizes are checked against
    /// `options.maxPixels` before pixel memory is allocated.
    public static func decode(_ bytes: [UInt8], options: ImageReadOptions = ImageReadOptions()) throws -> RGB8Image {
        var error = [CChar](repeating: 0, count: Int(CRC_ERROR_SIZE))
        let result: Result<RGB8Image, ComRecIOError> = bytes.withUnsafeBufferPointer { data in
            guard let reader = crc_png_reader_create(data.baseAddress, data.count, &error) else {
                return .failure(invalid(cString(error)))
            }
            defer { crc_png_reader_destroy(reader) }
            let header = header(of: reader)
            do throws(ComRecError) {
                try checkPixelLimit(width: header.width, height: header.height, maxPixels: options.maxPixels)
            } catch {
                return .failure(ComRecIOError(error))
            }
            guard header.couldBeHeld(inFileOf: data.count) else {
                return .failure(ComRecIOError(.pngTooSmall(width: header.width, height: header.height, fileBytes: data.count)))
            }
            do throws(ComRecIOError) {
                try WorkingMemory.admit(width: header.width, height: header.height, options: options)
            } catch {
                return .failure(error)
            }
            // Left uninitialised (a decode that succeeds writes every byte), so that memory is
            // touched only as rows are decoded: a file whose data stops early fails before most
            // of it is committed.
            let channels = header.hasAlpha ? 4 : 3
            let count = header.width * header.height * channels
            var status: Int32 = 0
            let pixels: LargeBuffer<UInt8>
            do throws(AllocationFailure) {
                pixels = try LargeBuffer<UInt8>(uninitializedCount: count) { buffer in
                    status = crc_png_decode(reader, buffer.baseAddress, Int32(channels), &error)
                }
            } catch {
                return .failure(ComRecIOError(.outOfMemory(bytes: error.bytes)))
            }
            guard status == 0 else { return .failure(invalid(cString(error))) }
            if !header.hasAlpha { return .success(RGB8Image(width: header.width, height: header.height, pixels: pixels)) }
            return removeAlpha(pixels, width: header.width, height: header.height, flatten: options.flattenAlpha)
        }
        return try result.get()
    }

    /// The header of a PNG, without decoding pixels.
    public static func readHeader(_ bytes: [UInt8]) throws -> Header {
        var error = [CChar](repeating: 0, count: Int(CRC_ERROR_SIZE))
        let header: Header? = bytes.withUnsafeBufferPointer { data in
            guard let reader = crc_png_reader_create(data.baseAddress, data.count, &error) else { return nil }
            defer { crc_png_reader_destroy(reader) }
            return Self.header(of: reader)
        }
        guard let header else { throw invalid(cString(error)) }
        return header
    }

    /// The zlib level `encode` uses unless told otherwise. Measured on 768 x 512 photos
    /// (docs/performance.md): level 2 writes files 3% (a photo) to 11% (the synthetic demo image)
    /// larger than level 6, zlib's default, and saves about 90 ms of a 768 x 512 `fast` decode
    /// that takes 0.14 s in all.
    public static let defaultCompressionLevel = 2

    /// An 8-bit RGB PNG of `image` (no interlacing; zlib `compressionLevel` 0...9, libpng's
    /// adaptive row filters), with `metadata` in its eXIf, iTXt and iCCP chunks.
    public static func encode(
        _ image: RGB8Image, compressionLevel: Int = defaultCompressionLevel, metadata: ImageMetadata = ImageMetadata()
    ) throws -> [UInt8] {
        guard image.width > 0, image.height > 0 else {
            throw ComRecIOError(ComRecError.emptyImage(width: image.width, height: image.height))
        }
        guard (0...9).contains(compressionLevel) else {
            throw ComRecIOError(.pngCompressionLevel(compressionLevel))
        }
        var out: UnsafeMutablePointer<UInt8>?
        var outSize = 0
        var error = [CChar](repeating: 0, count: Int(CRC_ERROR_SIZE))
        let chunks = try metadataChunks(metadata, channels: 3)
        let status = withCChunks(chunks) { chunks, chunkCount in
            image.pixels.withUnsafeBufferPointer {
                crc_png_encode($0.baseAddress, UInt32(image.width), UInt32(image.height), 3, Int32(compressionLevel),
                               chunks, chunkCount, &out, &outSize, &error)
            }
        }
        guard status == 0, let out else { throw ComRecIOError(.pngEncoder(cString(error))) }
        defer { crc_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: outSize))
    }

    private static func header(of reader: OpaquePointer) -> Header {
        Header(
            width: Int(crc_png_width(reader)), height: Int(crc_png_height(reader)),
            bitDepth: Int(crc_png_bit_depth(reader)), colorType: Int(crc_png_color_type(reader)),
            hasAlpha: crc_png_has_alpha(reader) != 0)
    }

    private static func invalid(_ message: String) -> ComRecIOError {
        ComRecIOError(.png(message))
    }

    /// RGBA8 -> RGB8. Fully opaque images just lose the channel. Otherwise, with `flatten`, each
    /// pixel is composited on white in 8-bit sRGB values, rounding to nearest:
    /// out = (c * a + 255 * (255 - a) + 127) / 255.
    static func removeAlpha(_ rgba: LargeBuffer<UInt8>, width: Int, height: Int, flatten: Bool) -> Result<RGB8Image, ComRecIOError> {
        let count = width * height
        var transparent = 0
        for i in 0..<count where rgba[4 * i + 3] != 255 { transparent += 1 }
        if transparent > 0 && !flatten {
            return .failure(ComRecIOError(.realAlpha(transparent: transparent, pixels: count)))
        }
        let rgb: LargeBuffer<UInt8>
        do throws(AllocationFailure) {
            rgb = try LargeBuffer<UInt8>(uninitializedCount: count * 3) { rgb in
                rgba.withUnsafeBufferPointer { rgba in
                    for i in 0..<count {
                        let a = Int(rgba[4 * i + 3])
                        for c in 0..<3 {
                            let v = Int(rgba[4 * i + c])
                            rgb[3 * i + c] = a == 255 ? UInt8(v) : UInt8((v * a + 255 * (255 - a) + 127) / 255)
                        }
                    }
                }
            }
        } catch {
            return .failure(ComRecIOError(.outOfMemory(bytes: error.bytes)))
        }
        return .success(RGB8Image(width: width, height: height, pixels: rgb))
    }
}

extension PNG {
    /// A PNG written a row at a time to a file descriptor (an AtomicOutput's): memory is one row
    /// and zlib's state, whatever the height.
    public final class RowWriter {
        private let writer: OpaquePointer
        private var error = [CChar](repeating: 0, count: Int(CRC_ERROR_SIZE))

        /// Starts a PNG of `width x height` on `descriptor` with zlib level `level`: RGB, or grey
        /// with `channels` 1. The header, `metadata`'s chunks included, is written here, before
        /// the first row.
        public init(descriptor: Int32, width: Int, height: Int, channels: Int = 3,
                    compressionLevel level: Int = PNG.defaultCompressionLevel, metadata: ImageMetadata = ImageMetadata()) throws {
            var error = [CChar](repeating: 0, count: Int(CRC_ERROR_SIZE))
            let chunks = try PNG.metadataChunks(metadata, channels: channels)
            let created = PNG.withCChunks(chunks) { chunks, chunkCount in
                crc_png_writer_create(descriptor, UInt32(width), UInt32(height), Int32(channels), Int32(level), chunks, chunkCount, &error)
            }
            guard let created else { throw ComRecIOError(.pngEncoder(cString(error))) }
            self.writer = created
        }

        deinit { crc_png_writer_destroy(writer) }

        /// Writes the next row (width * channels bytes).
        public func write(row: UnsafePointer<UInt8>) throws {
            guard crc_png_writer_row(writer, row, &error) == 0 else { throw ComRecIOError(.pngEncoder(cString(error))) }
        }

        /// Ends the file after the last row.
        public func finish() throws {
            guard crc_png_writer_finish(writer, &error) == 0 else { throw ComRecIOError(.pngEncoder(cString(error))) }
        }
    }
}
