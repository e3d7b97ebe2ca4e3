/// A reason the generator cannot go on, naming the file and the problem.
public struct CompileError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
