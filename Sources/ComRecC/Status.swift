import ComRecCodec
import ComRecKernels

// Status codes of include/comrec.h and how codec errors map onto them.

enum Status: Int32 {
    case ok = 0
    case argument = 1
    case notComRec = 2
    case corrupt = 3
    case unsupported = 4
    case modelMismatch = 5
    case tooLarge = 6
    case arenaTooSmall = 7
    case callback = 8
    case threads = 9
    case encode = 10

    /// The static message of comrec_status_string.
    var message: StaticString {
        switch self {
        case .ok: return "success"
        case .argument: return "invalid argument (a NULL pointer, a value out of range or an unknown profile)"
        case .notComRec: return "not a ComRec file (not a JPEG, or a JPEG without a ComRec segment)"
        case .corrupt: return "the file is truncated or corrupt"
        case .unsupported: return "the file needs a format version, mode or profile this build does not have"
        case .modelMismatch: return "the file was made with other weights than this build's"
        case .tooLarge: return "the image has more pixels than the limit or the memory allows"
        case .arenaTooSmall: return "the arena is smaller than the size the library asked for"
        case .callback: return "a callback returned non-zero"
        case .threads: return "the threads could not be created"
        case .encode: return "the JPEG encoder failed"
        }
    }

    init(_ error: ComRecError) {
        switch error {
        case .notComRec: self = .notComRec
        case .duplicateSegment, .malformedSegment, .storedSizeMismatch, .jpeg, .emptyImage: self = .corrupt
        case .unsupportedVersion, .unsupportedMode, .unsupportedExtension, .unknownProfile: self = .unsupported
        case .modelMismatch: self = .modelMismatch
        case .tooLarge, .outOfMemory: self = .tooLarge
        case .invalidArgument, .sizeTargetUnreachable: self = .argument
        case .jpegEncoder: self = .encode
        }
    }
}

@_cdecl("comrec_status_string")
public func comrec_status_string(_ status: Int32) -> UnsafePointer<CChar> {
    let message: StaticString = Status(rawValue: status)?.message ?? "unknown status code"
    return UnsafeRawPointer(message.utf8Start).assumingMemoryBound(to: CChar.self)
}
