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
        let info = try reportingFailure { try inspectFile(file) }
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
    /// "half" (compact image) or "full" (the image itself).
    var mode: String
    var profile: String
    var modelHash: String
    /// "available", "unknown-profile" or "different-model".
    var modelStatus: String
    /// This build's hash for the profile, when it has the profile.
    var buildModelHash: String?
    var width: Int
    var height: Int
    /// Size and quality of the stored JPEG: the compact image (half mode) or the image (full mode).
    var storedWidth: Int
    var storedHeight: Int
    var storedQuality: Int
    /// What rebuilds the image: "network" or, for a full-mode file without one, "none".
    var decoder: String
    var progressive: Bool
    /// "grey" (one JPEG component; decoded as grey) or "colour".
    var colour: String
    var bitsPerPixel: Double
    var extensions: [ExtensionRecord]

    init(file: String, info: ComRecFileInfo) {
        let segment = info.segment
        self.file = file
        fileBytes = info.fileBytes
        formatVersion = segment.version
        mode = segment.mode.name
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
        storedWidth = info.storedWidth
        storedHeight = info.storedHeight
        storedQuality = segment.quality
        let plain = segment.isPlainJPEG
        decoder = plain ? "none" : "network"
        progressive = info.progressive
        colour = info.components == 1 ? "grey" : "colour"
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
        let modeText = mode == "half"
            ? "half (a half-size compact image; the network rebuilds the original)"
            : decoder == "none" ? "full (the image itself, decoded as it is: no network)"
            : "full (the image itself; the network removes JPEG artifacts)"
        let stored = mode == "half" ? "compact image  " : "stored image   "
        return """
            file            \(file)
            file size       \(fileBytes) bytes, \(decimalString(bitsPerPixel, 4)) bits per pixel
            format version  \(formatVersion)
            mode            \(modeText)
            profile         \(profile)
            model hash      \(modelHash) (\(status))
            original size   \(width) x \(height)
            \(stored) \(storedWidth) x \(storedHeight) JPEG, quality \(storedQuality), \(progressive ? "progressive" : "baseline"), \(colour)
            extensions      \(records)
            """
    }
}
