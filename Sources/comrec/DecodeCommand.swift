import ArgumentParser
import ComRecIO

struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Rebuild full-size PNG images from ComRec files.",
        discussion: """
            Refuses JPEGs without a ComRec segment, files from an unknown format version, and files \
            made by a different model (naming both model hashes). Output is written under a \
            temporary name and renamed, so no partial file is ever left.
            """)

    @Argument(help: ArgumentHelp("ComRec files to decode.", valueName: "input"))
    var inputs: [String]

    @OptionGroup var write: WriteOptions

    @OptionGroup var read: ReadOptions

    func run() throws {
        try runBatch(inputs: inputs, output: write.output, outputExtension: "png", verb: "decoded") { input, output in
            let image = try decodeFile(input: input, output: output, maxPixels: read.maxPixels, force: write.force)
            return "\(input) -> \(output): \(image.width) x \(image.height)"
        }
    }
}
