import ArgumentParser
import ComRecCodec
import ComRecIO

struct EnhanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enhance",
        abstract: "Remove JPEG artifacts from plain JPEGs with a profile's full-resolution enhancer; write PNGs.",
        discussion: """
            For JPEGs from any software (files written by `comrec encode` are decoded with `comrec \
            decode`). The JPEG's quality is estimated from its quantisation tables (exact for \
            libjpeg-made files, the nearest libjpeg quality for others) unless --quality is given; \
            JPEGs of a higher quality than the enhancer improves are written as decoded. Output is \
            written under a temporary name and renamed, so no partial file is ever left. The \
            output is PNG, or binary PPM when its name ends in .ppm or .pnm; `-` reads standard \
            input or writes PNG to standard output.
            """)

    @Argument(help: ArgumentHelp("JPEG files to enhance (- for standard input).", valueName: "input"))
    var inputs: [String]

    @OptionGroup var write: WriteOptions

    @Option(help: ArgumentHelp(
        "Profile whose enhancer to use: \(EnhanceCommand.enhancing.map(\.name).joined(separator: ", ")) (default: \(EnhanceCommand.defaultProfile ?? "none in this build")).",
        valueName: "name"))
    var profile: ProfileName?

    @Option(help: "Treat the JPEGs as written at this quality (1...100) instead of estimating it.")
    var quality: Int?

    @Option(help: ArgumentHelp(
        "1: the enhancer runs once. 2: it runs on the image's eight flips and transposes and the results are "
            + "averaged: about 0.1 dB better, eight times the time. 3: as 2, with a second enhancer run on the "
            + "first one's output in each orientation (\(EnhanceCommand.secondPasses)): about 0.1 dB more, "
            + "twice effort 2's time.",
        valueName: "1|2|3"))
    var effort: Int = 1

    @Option(name: .customLong("png-level"), help: ArgumentHelp("zlib compression level of the PNG, 0-9.", valueName: "0-9"))
    var pngLevel: Int = PNG.defaultCompressionLevel

    @OptionGroup var read: ReadOptions

    @OptionGroup var jpegInput: JPEGInputOptions

    /// Profiles with a trained enhancer.
    static var enhancing: [Profile] { Profile.catalogue.filter { !$0.rounded.isPlainJPEG } }

    /// The default profile if it has an enhancer, else the first profile that has one.
    static var defaultProfile: String? {
        enhancing.first { $0.name == Profile.defaultName }?.name ?? enhancing.first?.name
    }

    /// The profiles with a second enhancer, the highest quality each improves (for `--help`).
    static var secondPasses: String {
        let list = enhancing.compactMap { profile in
            Profile.roundedSecondPass(of: profile.name, runner: .portable).map { "\(profile.name), qualities up to \($0.maxQuality)" }
        }
        return list.isEmpty ? "no profile of this build has one" : "profile " + list.joined(separator: "; ")
    }

    func validate() throws {
        if let quality { try validateQuality(quality) }
        guard (0...9).contains(pngLevel) else { throw ValidationError("--png-level must be 0...9, not \(pngLevel)") }
        guard (1...3).contains(effort) else { throw ValidationError("--effort must be 1, 2 or 3, not \(effort)") }
        let chosen = try chosenProfile()
        if effort == 3 && Profile.roundedSecondPass(of: chosen.name, runner: .portable) == nil {
            let with = EnhanceCommand.enhancing.map(\.name).filter { Profile.roundedSecondPass(of: $0, runner: .portable) != nil }
            throw ValidationError("--effort 3 needs a second enhancer, which profile \(chosen.name) does not have"
                                  + (with.isEmpty ? "" : "; use --profile \(with.joined(separator: " or "))"))
        }
    }

    func chosenProfile() throws -> Profile {
        guard let name = profile ?? EnhanceCommand.defaultProfile.map(ProfileName.init) else {
            throw ValidationError("no profile of this build has a full-resolution enhancer yet (docs/modes.md)")
        }
        let chosen = try name.resolved()
        guard !chosen.rounded.isPlainJPEG else {
            let others = EnhanceCommand.enhancing.map(\.name)
            throw ValidationError("profile \(name) has no full-resolution enhancer in this build"
                                  + (others.isEmpty ? "" : "; use --profile \(others.joined(separator: " or "))"))
        }
        return chosen
    }

    func run() throws {
        let chosen = try chosenProfile()
        // On the shared runner, as `chosen`'s own networks run.
        let secondPass = effort == 3 ? try Profile.hostedSecondPass(of: chosen.name) : nil
        try runBatch(inputs: inputs, output: write.output, outputExtension: "png", verb: "enhanced") { input, output in
            let report = try enhanceFile(input: input, output: output, profile: chosen, quality: quality,
                                         maxPixels: read.pixelLimit(bytesPerPixel: WorkingMemory.enhanceBytesPerPixel(effort: effort)),
                                         force: write.force, pngLevel: pngLevel, jpegRules: jpegInput.rules,
                                         maxInputBytes: read.maxMemory.bytes, effort: effort, secondPass: secondPass)
            damageWarning(input, report.damage)
            let source = report.exactTables.map { $0 ? "libjpeg tables of quality \(report.quality)" : "estimated quality \(report.quality)" }
                ?? "quality \(report.quality) as given"
            let what = report.enhanced ? "enhanced with \(chosen.name)" + (report.orientations > 1 ? " in \(report.orientations) orientations" : "")
                + (report.passes == 2 ? ", two passes" : effort == 3 ? ", one pass: quality \(report.quality) is above the second enhancer's \(secondPass?.maxQuality ?? 0)" : "")
                : "written as decoded: quality \(report.quality) is above the \(chosen.name) enhancer's \(chosen.rounded.maxQuality)"
            return "\(input) -> \(output): \(report.width) x \(report.height), \(source), \(what)"
        }
    }
}
