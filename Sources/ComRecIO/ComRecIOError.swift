import ComRecCodec

/// An error from the I/O layer: one line, naming the file when there is one.
public struct ComRecIOError: Error, Equatable, CustomStringConvertible {
    /// The file the error is about (input or output), or nil for in-memory work.
    public var path: String?
    /// What is wrong and what to do, without the path.
    public var message: String
    /// The codec error underneath, when there is one (tests match on it).
    public var codecError: ComRecError?

    public init(path: String? = nil, _ message: String, codecError: ComRecError? = nil) {
        self.path = path
        self.message = message
        self.codecError = codecError
    }

    public init(path: String? = nil, _ error: ComRecError) {
        self.init(path: path, error.description, codecError: error)
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
