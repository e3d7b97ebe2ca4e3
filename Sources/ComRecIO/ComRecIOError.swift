import ComRecCodec
import ComRecRuntime

/// An error from the I/O layer: what went wrong as a case (tests match the case, not the text),
/// and the file it is about. Its description is one line: "path: message".
public struct ComRecIOError: Error, Equatable, CustomStringConvertible {
    /// Everything that can go wrong in the I/O layer. Each reads as one line that says what is
    /// wrong and, where there is one, what to do.
    public enum Reason: Equatable, Sendable, CustomStringConvertible {
        // Reading a file.
        case noSuchFile
        case permissionDenied
        case cannotOpen(String)
        case cannotRead(String)
        case inputIsADirectory
        case emptyFile
        /// An input over the size allowed (`readInputFile`'s `maxBytes`); `bytes` nil for a stream.
        case inputTooLarge(bytes: Int?, limit: Int)
        /// The system refused the memory to hold an input of `bytes`.
        case inputOutOfMemory(bytes: Int)
        // Writing a file (AtomicOutput).
        case outputIsADirectory
        case outputIsTheInput
        case outputExists
        case outputDirectoryMissing(String)
        case outputParentIsNotADirectory(String)
        case outputDirectoryNotWritable(directory: String, why: String)
        case cannotWrite(String)
        case cannotCreate(String)
        // Image formats.
        case notAnImage(start: String)
        case emptyImageData
        case outOfMemory(bytes: Int, width: Int, height: Int)
        case png(String)
        case pngTooSmall(width: Int, height: Int, fileBytes: Int)
        case pngEncoder(String)
        case pngCompressionLevel(Int)
        case realAlpha(transparent: Int, pixels: Int)
        case unsupportedNetpbm(type: Character)
        case pnm(String)
        case greyOutputOfColourImage
        // Metadata (ImageMetadata.swift): what a ComRec file cannot hold.
        case exifTooLarge(bytes: Int)
        case exifWithoutTIFFHeader
        case xmpTooLarge(bytes: Int)
        case iccProfileUnreadable(String)
        case iccProfileTooLarge(bytes: Int)
        // ComRec files and plain JPEGs.
        case notAJPEGForDecode(start: String)
        case notAJPEGForInfo(start: String)
        case notAJPEGForEnhance(start: String)
        case isAComRecFile
        case noQuantisationTables
        case noEnhancer(profile: String, withEnhancer: [String])
        case invalidBitsPerPixel(Double)
        // Folders and the demo (CLI).
        case notADirectory(hint: String)
        case noPNGFiles
        case bundledImageMissing
        case noTemporaryDirectory
        /// COMREC_ISA names a kernel family that is unknown or that this CPU cannot run.
        case kernelFamily(KernelISAError)
        /// The codec layer's error underneath.
        case codec(ComRecError)

        public var description: String {
            switch self {
            case .noSuchFile: return "no such file; check the path"
            case .permissionDenied: return "permission denied; make the file readable"
            case .cannotOpen(let why): return "cannot open: \(why)"
            case .cannotRead(let why): return "cannot read: \(why)"
            case .inputIsADirectory: return "is a directory, not an image file"
            case .emptyFile: return "file is empty"
            case .inputTooLarge(let bytes, let limit):
                let size = bytes.map { "is \(byteCount($0)), more than" } ?? "goes on past"
                return "input \(size) the \(byteCount(limit)) an input may have (the memory allowed for one image); "
                    + "raise --max-memory if you trust this file"
            case .inputOutOfMemory(let bytes):
                return "reading the file needs \(byteCount(bytes)) of memory and the system refused it; free memory or "
                    + "raise the process's memory limit"
            case .outputIsADirectory: return "is a directory; give a file name for the output"
            case .outputIsTheInput: return "is the input file; choose another output name (inputs are never overwritten)"
            case .outputExists: return "already exists; pass --force to replace it"
            case .outputDirectoryMissing(let directory): return "output directory \(directory) does not exist; create it first"
            case .outputParentIsNotADirectory(let directory): return "\(directory) is not a directory"
            case .outputDirectoryNotWritable(let directory, let why):
                return "cannot write to directory \(directory): \(why); choose a writable output directory"
            case .cannotWrite(let why): return "cannot write: \(why)"
            case .cannotCreate(let why): return "cannot create: \(why)"
            case .notAnImage(let start):
                return "not a PNG, JPEG or binary PPM/PGM image (it starts with \(start)); give an image in one of those formats"
            case .emptyImageData: return "file is empty; give a PNG, JPEG or binary PPM/PGM image"
            case .outOfMemory(let bytes, let width, let height):
                return "a \(width) x \(height) image needs about \(bytes / 1_000_000) MB of working memory and the "
                    + "allocator refused it; free memory or raise the process's memory limit"
            case .png(let message): return "PNG data is invalid or truncated (libpng: \(message))"
            case .pngTooSmall(let width, let height, let bytes):
                return "PNG data is invalid or truncated: \(bytes) bytes cannot hold \(width) x \(height) pixels "
                    + "(deflate shrinks data at most 1032 times)"
            case .pngEncoder(let message): return "PNG encoding failed (libpng: \(message))"
            case .pngCompressionLevel(let level): return "PNG compression level must be 0...9, not \(level)"
            case .realAlpha(let transparent, let pixels):
                return "image has a real alpha channel (\(transparent) of \(pixels) pixels are not opaque); "
                    + "ComRec stores RGB only: pass --flatten-alpha to composite it on white"
            case .unsupportedNetpbm(let type):
                return "Netpbm type P\(type) is not supported; only binary PGM (P5) and PPM (P6) are read: "
                    + "convert it to PNG or binary PPM"
            case .pnm(let why): return "PPM/PGM data is invalid: \(why)"
            case .greyOutputOfColourImage:
                return "a PGM holds grey images and this image is in colour; name the output .ppm or .png"
            case .exifTooLarge(let bytes):
                return "EXIF block of \(bytes) bytes is larger than one JPEG APP1 segment holds "
                    + "(\(ImageMetadata.maxExifBytes) bytes); pass --strip-metadata to encode without EXIF and XMP"
            case .exifWithoutTIFFHeader:
                return "EXIF block does not start with a TIFF header (II*\\0 or MM\\0*); "
                    + "pass --strip-metadata to encode without EXIF and XMP"
            case .xmpTooLarge(let bytes):
                return "XMP packet of \(bytes) bytes is larger than one JPEG APP1 segment holds "
                    + "(\(ImageMetadata.maxXMPBytes) bytes; extended XMP is not supported); "
                    + "pass --strip-metadata to encode without EXIF and XMP"
            case .iccProfileUnreadable(let why):
                return "colour profile cannot be read: \(why); pass --strip-metadata to encode without it"
            case .iccProfileTooLarge(let bytes):
                return "ICC profile of \(bytes) bytes is larger than 255 JPEG APP2 segments hold "
                    + "(\(ImageMetadata.maxICCBytes) bytes); convert the image to a smaller profile"
            case .notAJPEGForDecode(let start):
                return "not a ComRec file: it is not a JPEG (it starts with \(start)); "
                    + "`comrec decode` reads only files written by `comrec encode`"
            case .notAJPEGForInfo(let start): return "not a ComRec file: it is not a JPEG (it starts with \(start))"
            case .notAJPEGForEnhance(let start):
                return "not a JPEG (it starts with \(start)); `comrec enhance` restores JPEG files"
            case .isAComRecFile: return "is a ComRec file; decode it with `comrec decode` (which runs its own network)"
            case .noQuantisationTables: return "has no quantisation tables to estimate its quality from; give --quality"
            case .noEnhancer(let profile, let others):
                return "profile \(profile) has no full-resolution enhancer in this build; "
                    + "profiles with one: \(others.joined(separator: ", "))"
            case .invalidBitsPerPixel(let bpp): return "--bpp must be a positive number of bits per pixel, not \(bpp)"
            case .notADirectory(let hint): return "is not a directory; \(hint)"
            case .noPNGFiles: return "holds no .png files"
            case .bundledImageMissing: return "bundled demo image not found; run from the package root, or pass --input IMAGE"
            case .noTemporaryDirectory: return "cannot create a temporary directory; pass --output-dir DIR"
            case .kernelFamily(let error): return error.description
            case .codec(let error): return error.description
            }
        }
    }

    /// The file the error is about (input or output), or nil for in-memory work.
    public var path: String?
    public var reason: Reason

    public init(path: String? = nil, _ reason: Reason) {
        self.path = path
        self.reason = reason
    }

    public init(path: String? = nil, _ error: ComRecError) {
        self.init(path: path, .codec(error))
    }

    /// What is wrong and what to do, without the path.
    public var message: String { reason.description }

    /// The codec error underneath, when there is one.
    public var codecError: ComRecError? {
        if case .codec(let error) = reason { return error }
        return nil
    }

    public var description: String {
        let text = path.map { "\($0): \(message)" } ?? message
        // Promise one line whatever a library put in its message.
        return String(text.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }
}

/// Runs `body`, attributing its errors to `path` (unless they already name a file).
func attributing<T>(to path: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch var error as ComRecIOError {
        if error.path == nil { error.path = path }
        throw error
    } catch let error as ComRecError {
        throw ComRecIOError(path: path, error)
    }
}

/// The text of a NUL-terminated C error buffer.
func cString(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

