import ArgumentParser
import ComRecCodec
import ComRecIO

/// Options for commands that read images or ComRec files.
struct ReadOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Refuse images that claim more pixels than this (checked before allocating).",
        valueName: "pixels"))
    var maxPixels: Int = defaultMaxPixels

    @Option(help: ArgumentHelp(
        "Memory allowed for one image (bytes, or with K, M or G: powers of 1024). Lowers the pixel limit to what "
            + "fits (encode needs about 6 bytes per pixel, enhance 8), that memory is asked of the system "
            + "before any pixel is decoded, and larger input files are refused unread.",
        valueName: "size"))
    var maxMemory: ByteSize = ByteSize(bytes: 2 << 30)

    func validate() throws {
        guard maxPixels > 0 else { throw ValidationError("--max-pixels must be positive") }
    }

    /// The read options of a command that needs `bytesPerPixel` (WorkingMemory).
    func imageOptions(bytesPerPixel: Int, flattenAlpha: Bool = false, jpegRules: JPEGDecodeRules = JPEGDecodeRules()) -> ImageReadOptions {
        ImageReadOptions(maxPixels: pixelLimit(bytesPerPixel: bytesPerPixel), flattenAlpha: flattenAlpha,
                         jpegRules: jpegRules, workingBytesPerPixel: bytesPerPixel, maxInputBytes: maxMemory.bytes)
    }

    /// --max-pixels, lowered to what --max-memory allows a command that needs `bytesPerPixel`.
    func pixelLimit(bytesPerPixel: Int) -> Int {
        WorkingMemory.pixelLimit(maxPixels: maxPixels, maxMemory: maxMemory.bytes, bytesPerPixel: bytesPerPixel)
    }
}

/// A size in bytes on the command line: "1000000", "512K", "64M", "2G" (powers of 1024).
struct ByteSize: ExpressibleByArgument, Equatable {
    let bytes: Int

    init(bytes: Int) { self.bytes = bytes }

    init?(argument: String) {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var text = argument.uppercased()
        if text.hasSuffix("B") { text.removeLast() }
        var scale = 1
        if let last = text.last, let unit = units[last] {
            scale = unit
            text.removeLast()
        }
        guard let value = Int(text), value > 0 else { return nil }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
        guard !overflow else { return nil }
        self.bytes = bytes
    }

    var defaultValueDescription: String {
        bytes % (1 << 30) == 0 ? "\(bytes >> 30)G" : bytes % (1 << 20) == 0 ? "\(bytes >> 20)M" : "\(bytes)"
    }
}

/// Options for commands that read JPEG data (JPEG inputs, ComRec files): the limits that bound
/// the work of a hostile file, and what to do with damaged data (docs/security.md).
struct JPEGInputOptions: ParsableArguments {
    @Flag(help: ArgumentHelp(
        "Rescue damaged JPEG data instead of refusing it: libjpeg patches what is missing (grey rows after a "
            + "truncation, repeated blocks after a bad code) and a warning says so. Without it damaged data is an error."))
    var lenient = false

    @Flag(help: ArgumentHelp(
        "Decode arithmetic-coded JPEGs. Refused by default: where its data ends an arithmetic decoder goes on "
            + "with zeros, so a few hundred bytes can make a 100-megapixel image."))
    var allowArithmetic = false

    @Option(help: ArgumentHelp("Refuse progressive JPEGs with more scans than this (each scan is a pass over the whole image).",
                               valueName: "n"))
    var maxScans: Int = LibJPEG.defaultMaxScans

    @Option(help: ArgumentHelp("Refuse JPEGs with more APPn and COM segments than this before the image data.",
                               valueName: "n"))
    var maxSegments: Int = JPEGDecodeRules.defaultMaxSegments

    @Option(help: ArgumentHelp("Refuse JPEGs whose APPn and COM segments hold more bytes than this in all.",
                               valueName: "bytes"))
    var maxSegmentBytes: Int = JPEGDecodeRules.defaultMaxSegmentBytes

    func validate() throws {
        guard maxScans >= 1 else { throw ValidationError("--max-scans must be at least 1, not \(maxScans)") }
        guard maxSegments >= 0 else { throw ValidationError("--max-segments must be 0 or more, not \(maxSegments)") }
        guard maxSegmentBytes >= 0 else { throw ValidationError("--max-segment-bytes must be 0 or more, not \(maxSegmentBytes)") }
    }

    var rules: JPEGDecodeRules {
        JPEGDecodeRules(maxScans: maxScans, maxSegments: maxSegments, maxSegmentBytes: maxSegmentBytes, lenient: lenient,
                        allowArithmetic: allowArithmetic)
    }
}

/// The warning of a file whose damaged JPEG data `--lenient` kept, for stderr.
func damageWarning(_ input: String, _ damage: JPEGDamage?) {
    guard let damage else { return }
    let more = damage.warnings > 1 ? " (and \(damage.warnings - 1) more)" : ""
    let invented = damage.firstRow >= damage.rows
        ? "after the image data: no pixel was patched"
        : damage.firstRow == 0 ? "any of the JPEG's \(damage.rows) rows may hold pixels that are not in the file"
        : "the JPEG's rows \(damage.firstRow + 1) to \(damage.rows) may hold pixels that are not in the file"
    Terminal.standardError.line(
        "comrec: warning: \(input): damaged JPEG data kept by --lenient: \(damage.firstWarning)\(more); \(invented)")
}

/// Options for commands that write files.
struct WriteOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp(
        "Output file (- for standard output), or a directory (required when there are several inputs; created if missing).",
        valueName: "path"))
    var output: String

    @Flag(help: "Replace output files that already exist.")
    var force = false
}

/// The value of --profile: the name of a registered profile. argument-parser checks it when it
/// parses, and lists the names in help, in its error message and in shell completion.
struct ProfileName: ExpressibleByArgument, Equatable, CustomStringConvertible {
    let name: String

    init(_ name: String) {
        precondition(Profile.names.contains(name), "\(name) is not a registered profile")
        self.name = name
    }

    init?(argument: String) {
        guard Profile.names.contains(argument) else { return nil }
        name = argument
    }

    static var allValueStrings: [String] { Profile.names }
    static let defaultProfile = ProfileName(Profile.defaultName)
    var defaultValueDescription: String { name }
    var description: String { name }

    /// The profile, its networks on the process's shared runner (COMREC_THREADS, COMREC_ISA).
    func resolved() throws -> Profile {
        try Profile.hosted(named: name)!
    }
}

/// --mode: argument-parser parses it from the raw values and lists them.
extension ModeRequest: ExpressibleByArgument {}
extension JPEGTables: ExpressibleByArgument {}
extension JPEGScans: ExpressibleByArgument {}

/// A comma-separated list of JPEG qualities 1...100 ("10,50,90"), parsed by argument-parser.
struct QualityList: ExpressibleByArgument {
    let values: [Int]

    init(_ values: [Int]) { self.values = values }

    init?(argument: String) {
        let parsed = argument.split(separator: ",", omittingEmptySubsequences: false)
            .map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parsed.allSatisfy({ $0.map { (1...100).contains($0) } ?? false }) else { return nil }
        values = parsed.map { $0! }
    }

    var defaultValueDescription: String { values.map(String.init).joined(separator: ",") }
}

/// A comma-separated list of modes ("half,full,auto"), parsed by argument-parser.
struct ModeList: ExpressibleByArgument {
    let values: [ModeRequest]

    init(_ values: [ModeRequest]) { self.values = values }

    init?(argument: String) {
        let parsed = argument.split(separator: ",", omittingEmptySubsequences: false)
            .map { ModeRequest(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
        guard parsed.allSatisfy({ $0 != nil }) else { return nil }
        values = parsed.map { $0! }
    }

    var defaultValueDescription: String { values.map(\.rawValue).joined(separator: ",") }
}

func validateQuality(_ quality: Int) throws {
    guard (1...100).contains(quality) else { throw ValidationError("--quality must be 1...100, not \(quality)") }
}

