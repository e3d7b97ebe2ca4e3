// Generated learned profiles (Sources/ComRecModels/Generated, docs/models.md) are registered below.
import ComRecModels

/// What the decoder knows when it rebuilds an image (learned profiles condition on the quality).
public struct ReconstructionContext: Sendable {
    /// Size of the original image, from the ComRec segment.
    public let width: Int
    public let height: Int
    /// The compact image's JPEG quality (1...100), from the ComRec segment.
    public let quality: Int

    public init(width: Int, height: Int, quality: Int) {
        self.width = width
        self.height = height
        self.quality = quality
    }
}

/// A codec profile: a pair of models that make the compact image and rebuild the original from it.
///
/// A struct of functions rather than a protocol, so that a registry of profiles needs no
/// existentials (Embedded Swift has none). A learned profile is a generated file that defines
/// `static let <name> = Profile(...)` in an extension, plus one entry in `Profile.all`.
public struct Profile: Sendable {
    /// Short lowercase name: written into every file, and the value of `--profile`.
    /// At most `maxNameLength` characters from [a-z0-9_-].
    public let name: String
    /// Identity of the weights; a file made with other weights is refused.
    public let modelHash: ModelHash
    /// One line for `--help` and `info`.
    public let summary: String
    /// Original RGB8 (W x H) -> compact RGB8 of exactly `compactSize(W, H)`.
    public let makeCompact: @Sendable (RGB8Image) -> RGB8Image
    /// Decoded compact RGB8 -> RGB8 of exactly `context.width` x `context.height`.
    public let reconstruct: @Sendable (RGB8Image, ReconstructionContext) -> RGB8Image

    public static let maxNameLength = 16

    public init(
        name: String, modelHash: ModelHash, summary: String,
        makeCompact: @escaping @Sendable (RGB8Image) -> RGB8Image,
        reconstruct: @escaping @Sendable (RGB8Image, ReconstructionContext) -> RGB8Image
    ) {
        precondition(Profile.isValidName(name), "profile name \(name) must be 1...16 of [a-z0-9_-]")
        self.name = name
        self.modelHash = modelHash
        self.summary = summary
        self.makeCompact = makeCompact
        self.reconstruct = reconstruct
    }

    static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return !bytes.isEmpty && bytes.count <= maxNameLength && bytes.allSatisfy { b in
            (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b == 0x2D
        }
    }
}

extension Profile {
    /// Every profile this build can encode and decode. Register a new profile here (one line).
    public static let all: [Profile] = [
        .bicubic,
        .learned(FastModel.self),
    ]

    /// The profile `comrec encode` uses when `--profile` is not given: `fast`, the only trained
    /// profile so far (docs/models.md).
    public static let defaultName = "fast"

    /// The registered profile called `name`, if any.
    public static func named(_ name: String) -> Profile? {
        all.first { $0.name == name }
    }

    public static var names: [String] { all.map { $0.name } }
}
