import ArgumentParser
import ComRecIO

struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Rebuild full-size images (PNG or PPM) from ComRec files.",
        discussion: """
            Refuses JPEGs without a ComRec segment, files from an unknown format version, and files \
            made by a different model (naming both model hashes). Output is written under a \
            temporary name and renamed, so no partial file is ever left. The output is PNG, or \
            binary PPM when its name ends in .ppm or .pnm; `-` reads standard input or writes PNG \
            to standard output (`cat in.png | comrec encode - -o - | comrec decode - -o out.png`).
            """)

    @Argument(help: ArgumentHelp("ComRec files to decode (- for standard input).", valueName: "input"))
    var inputs: [String]

    @OptionGroup var write: WriteOptions

    @OptionGroup var read: ReadOptions

    @OptionGroup var jpegInput: JPEGInputOptions

    @Option(name: .customLong("png-level"),
            help: ArgumentHelp(
                "zlib compression level of the PNG, 0 (none, fastest) to 9 (smallest). The default, 2, "
                    + "writes files 3-11% larger than zlib's usual 6 and saves most of the PNG's time.",
                valueName: "0-9"))
    var pngLevel: Int = PNG.defaultCompressionLevel

    func validate() throws {
        guard (0...9).contains(pngLevel) else {
            throw ValidationError("--png-level must be 0...9, not \(pngLevel)")
        }
    }

    func run() throws {
        try runBatch(inputs: inputs, output: write.output, outputExtension: "png", verb: "decoded") { input, output in
            let image = try decodeFile(input: input, output: output, maxPixels: read.pixelLimit(bytesPerPixel: WorkingMemory.decodeBytesPerPixel), force: write.force,
                                       pngLevel: pngLevel, jpegRules: jpegInput.rules, maxInputBytes: read.maxMemory.bytes)
            damageWarning(input, image.damage)
            return "\(input) -> \(output): \(image.width) x \(image.height)"
        }
    }
}
