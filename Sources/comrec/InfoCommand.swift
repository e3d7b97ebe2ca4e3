import ArgumentParser
import ComRecCodec
import ComRecIO
import Foundation

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show what a ComRec file holds (format version, profile, model hash, sizes, quality).",
        discussion: "Reads only the file's header; nothing is decoded. Fields are listed in docs/cli.md.")

    @Argument(help: ArgumentHelp("A ComRec file.", valueName: "file"))
    var file: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let info: ComRecFileInfo
        do {
            info = try inspectFile(file)
        } catch {
            Terminal.standardError.error("\(error)")
            throw ExitCode.failure
        }
        let facts = InfoFacts(file: file, info: info)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(facts), as: UTF8.self))
        } else {
            print(facts.text)
        }
    }
}

/// The fields of `comrec info`, as JSON keys and as text.
struct InfoFacts: Encodable {
    struct ExtensionRecord: Encodable {
        var tag: Int
        var value: String
    }

    var file: String
    var fileBytes: Int
    var formatVersion: Int
    var profile: String
    var modelHash: String
    /// "available", "unknown-profile" or "different-model".
    var modelStatus: String
    /// This build's hash for the profile, when it has the profile.
    var buildModelHash: String?
    var width: Int
    var height: Int
    var compactWidth: Int
    var compactHeight: Int
    var compactQuality: Int
    var progressive: Bool
    var bitsPerPixel: Double
    var extensions: [ExtensionRecord]

    init(file: String, info: ComRecFileInfo) {
        let segment = info.segment
        self.file = file
        fileBytes = info.fileBytes
        formatVersion = segment.version
        profile = segment.profile
        modelHash = segment.modelHash.description
        switch info.modelStatus {
        case .available:
            modelStatus = "available"
            buildModelHash = segment.modelHash.description
        case .unknownProfile:
            modelStatus = "unknown-profile"
            buildModelHash = nil
        case .differentModel(let buildHash):
            modelStatus = "different-model"
            buildModelHash = buildHash.description
        }
        width = segment.width
        height = segment.height
        compactWidth = info.compactWidth
        compactHeight = info.compactHeight
        compactQuality = segment.quality
        progressive = info.progressive
        // Rounded so that the JSON does not show binary noise.
        let bpp = Metrics.bitsPerPixel(fileBytes: info.fileBytes, width: segment.width, height: segment.height)
        bitsPerPixel = (bpp * 10_000).rounded() / 10_000
        extensions = segment.extensions.map {
            ExtensionRecord(tag: Int($0.tag), value: $0.value.map { String(format: "%02x", $0) }.joined())
        }
    }

    var text: String {
        let status: String
        switch modelStatus {
        case "available": status = "this comrec can decode it"
        case "unknown-profile": status = "this comrec does not have this profile"
        default: status = "this comrec's model differs: \(buildModelHash ?? "?")"
        }
        let records = extensions.isEmpty ? "none" : extensions.map { "\($0.tag)=\($0.value)" }.joined(separator: " ")
        return """
            file            \(file)
            file size       \(fileBytes) bytes, \(String(format: "%.4f", bitsPerPixel)) bits per pixel
            format version  \(formatVersion)
            profile         \(profile)
            model hash      \(modelHash) (\(status))
            original size   \(width) x \(height)
            compact image   \(compactWidth) x \(compactHeight) JPEG, quality \(compactQuality), \(progressive ? "progressive" : "baseline")
            extensions      \(records)
            """
    }
}
