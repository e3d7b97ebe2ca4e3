import CComRecImage
import ComRecCodec

// Decoding in memory the caller gives (the C API's arena) instead of the heap: the decoder, the
// segments it keeps and, in builds whose libjpeg is linked statically with the memory hooks
// (scripts/boards.sh), all of libjpeg's state. comrec_image.h describes crc_jpeg_memory.

extension LibJPEG {
    /// Memory that always suffices for a `RowReader` in memory of a sequential JPEG `width`
    /// pixels wide (up to 3 components, sampling factors up to 2).
    public static func rowReaderMemoryBytes(width: Int) -> Int {
        Int(crc_jpeg_row_decode_bytes(UInt32(clamping: width)))
    }

    /// The header of `jpeg`, borrowed (never copied), read in `memory` (given back before
    /// returning; nil: the heap), keeping only the segments with `marker`.
    public func readHeader(
        borrowing jpeg: UnsafeBufferPointer<UInt8>, memory: UnsafeMutablePointer<crc_jpeg_memory>?,
        keepingOnly marker: UInt8
    ) throws(ComRecError) -> JPEGHeader {
        var error = [CChar](repeating: 0, count: Int(CRC_ERROR_SIZE))
        var c = rules.c
        guard let decoder = crc_jpeg_decoder_create_in(jpeg.baseAddress, jpeg.count, &c, memory, Int32(marker), &error)
        else { throw .jpeg(cString(error)) }
        defer { crc_jpeg_decoder_destroy(decoder) }
        return try header(of: decoder)
    }
}

extension ComRecError {
    /// Whether this is a decoder's memory running out (crc_jpeg_memory, or the heap).
    public var isJPEGOutOfMemory: Bool {
        guard case .jpeg(let message) = self else { return false }
        return message.hasPrefix(CRC_JPEG_OUT_OF_MEMORY)
    }
}
