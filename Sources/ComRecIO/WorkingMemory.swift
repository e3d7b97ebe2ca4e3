import ComRecCodec
import ComRecKernels
import Foundation

/// How much memory a command needs per pixel of the image, and the admission check that refuses
/// an image before its pixels are decoded when that memory is not there (docs/security.md).
///
/// The figures are peak resident memory over pixels, measured with `/usr/bin/time -f %M` on an
/// 18-megapixel image (5184 x 3456, PNG and JPEG input) with the release build: `encode` 6.0
/// bytes per pixel with `--no-trellis` (effort 2: 12.1), 10.0 with trellis (effort 2: 12.6; a
/// bicubic enlargement of a cbsd68 photo, quality 90, full mode), `enhance` 8.0, the process's own
/// 20 MB included; `enhance --effort 2` 31 on a 3-megapixel JPEG (the padded image, one
/// orientation and its result, and a 32-bit sum per channel besides); `--effort 3` (the first
/// enhancer's output besides) 44.7 on a 3.1-megapixel JPEG and 34.5 on a 12.6-megapixel one,
/// a fixed 43 MB and 31.0 per pixel (effort 2 on the same two: 37 MB and 25.7). `decode`
/// streams, so it needs memory for the width only, except libjpeg's coefficient buffer of a
/// progressive file (about 3 bytes per stored pixel): 4 covers it.
public enum WorkingMemory {
    public static let encodeBytesPerPixel = wholeImageEncodeBytesPerPixel(effort: 1)
    public static let encodeEffort2BytesPerPixel = wholeImageEncodeBytesPerPixel(effort: 2)
    public static let enhanceBytesPerPixel = 8
    public static let enhanceEffort2BytesPerPixel = 32
    public static let enhanceEffort3BytesPerPixel = 36

    /// `comrec enhance`'s bytes per pixel at `effort` (1, 2 or 3).
    public static func enhanceBytesPerPixel(effort: Int) -> Int {
        effort >= 3 ? enhanceEffort3BytesPerPixel : effort == 2 ? enhanceEffort2BytesPerPixel : enhanceBytesPerPixel
    }
    public static let decodeBytesPerPixel = 4

    /// The pixel limit that `maxMemory` bytes allow a command needing `bytesPerPixel`, within
    /// `maxPixels`.
    public static func pixelLimit(maxPixels: Int, maxMemory: Int, bytesPerPixel: Int) -> Int {
        max(1, min(maxPixels, maxMemory / max(1, bytesPerPixel)))
    }

    /// Refuses a `width` x `height` image over `options.maxPixels`; then, when the caller says
    /// how much memory it needs per pixel, asks the system for all of it at once without keeping
    /// it (`systemGrants`), so that a machine (or a `ulimit -v`) without that memory gets an error naming the
    /// bytes here, before any pixel is decoded, instead of a failed allocation later.
    static func admit(width: Int, height: Int, options: ImageReadOptions) throws(ComRecIOError) {
        do throws(ComRecError) {
            try checkPixelLimit(width: width, height: height, maxPixels: options.maxPixels)
        } catch {
            throw ComRecIOError(error)
        }
        guard options.workingBytesPerPixel > 0 else { return }
        let (perPixel, overflow) = (width * height).multipliedReportingOverflow(by: options.workingBytesPerPixel)
        let bytes = overflow ? Int.max : perPixel
        guard !overflow, systemGrants(bytes: bytes) else {
            throw ComRecIOError(.outOfMemory(bytes: bytes, width: width, height: height))
        }
    }
}
