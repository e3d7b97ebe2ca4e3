// libFuzzer target: the PNG reader (PNG.readHeader and PNG.decode, Sources/ComRecIO/PNG.swift over
// libpng in Sources/CComRecImage/png.c), with and without flattening alpha, and the format
// detection that routes a file to it. Images are limited to 2^20 pixels.
// Properties: no trap, no sanitizer report, no leak; a decoded image has the header's size and
// width * height * 3 bytes; flattening alpha only ever turns a refusal into an image.
import ComRecCodec
import ComRecIO

let options = ImageReadOptions(maxPixels: 1 << 20)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzInput(data, size)
    _ = ImageFormat.detect(bytes)
    let header = try? PNG.readHeader(bytes)
    if let header { _ = header.couldBeHeld(inFileOf: bytes.count) }
    var plain: RGB8Image? = nil
    do {
        plain = try PNG.decode(bytes, options: options)
    } catch {
        _ = "\(error)"
    }
    var flattened = options
    flattened.flattenAlpha = true
    var flat: RGB8Image? = nil
    do {
        flat = try PNG.decode(bytes, options: flattened)
    } catch {
        _ = "\(error)"
    }
    for image in [plain, flat].compactMap({ $0 }) {
        require(image.pixels.count == image.width * image.height * 3, "a \(image.width) x \(image.height) image of \(image.pixels.count) bytes")
        require(image.width * image.height <= options.maxPixels, "an image over the pixel limit was decoded")
        if let header {
            require(header.width == image.width && header.height == image.height,
                    "the header says \(header.width) x \(header.height), the image is \(image.width) x \(image.height)")
        } else {
            require(false, "an image was decoded from bytes whose header could not be read")
        }
    }
    if let plain { require(flat == plain, "flattening alpha changed an image that decoded without it") }
    return 0
}
