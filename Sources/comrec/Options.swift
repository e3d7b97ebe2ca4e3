import ArgumentParser
import ComRecCodec
import ComRecIO

/// Options for commands that read images or ComRec files.
struct ReadOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Refuse images that claim more pixels than this (checked before allocating).",
        valueName: "pixels"))
    var maxPixels: Int = defaultMaxPixels

    func validate() throws {
        guard maxPixels > 0 else { throw ValidationError("--max-pixels must be positive") }
    }
}

/// Options for commands that write files.
struct WriteOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp(
        "Output file, or a directory (required when there are several inputs; created if missing).",
        valueName: "path"))
    var output: String

    @Flag(help: "Replace output files that already exist.")
    var force = false
}

/// The profile chosen with --profile, checked against the registry.
func resolveProfile(_ name: String) throws -> Profile {
    guard let profile = try Profile.hosted(named: name) else {
        throw ValidationError("unknown profile '\(name)'; available: \(Profile.names.joined(separator: ", "))")
    }
    return profile
}

func validateQuality(_ quality: Int) throws {
    guard (1...100).contains(quality) else { throw ValidationError("--quality must be 1...100, not \(quality)") }
}

/// The mode chosen with --mode.
func resolveMode(_ name: String) throws -> ModeRequest {
    guard let mode = ModeRequest(rawValue: name) else {
        throw ValidationError("unknown mode '\(name)'; available: \(ModeRequest.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return mode
}
