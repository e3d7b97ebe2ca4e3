import ArgumentParser
import ComRecCodec
import ComRecIO
import Foundation

struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Store images as ComRec files (JPEGs of a half-size compact image).",
        discussion: """
            Reads PNG (8/16-bit grey, RGB or palette), JPEG or binary PPM/PGM. Images with \
            transparent pixels are refused unless --flatten-alpha. The output is written under a \
            temporary name and renamed, so no partial file is ever left; inputs are never modified.
            """)

    @Argument(help: ArgumentHelp("Images to encode.", valueName: "input"))
    var inputs: [String]

    @OptionGroup var write: WriteOptions

    @Option(help: "JPEG quality of the compact image, 1...100.")
    var quality: Int = EncodeOptions.defaultQuality

    @Option(help: ArgumentHelp(
        "Rate control: the largest file of at most this many bits per pixel of the image (whole file; replaces --quality).",
        valueName: "bits"))
    var bpp: Double?

    @Option(help: ArgumentHelp(
        "Codec profile: \(Profile.all.map { "\($0.name) (\($0.summary))" }.joined(separator: "; ")).",
        valueName: "name"))
    var profile: String = Profile.defaultName

    @Flag(help: "Write the compact image as a progressive JPEG (same pixels, often smaller).")
    var progressive = false

    @Flag(help: "Composite images with transparency on white instead of refusing them.")
    var flattenAlpha = false

    @OptionGroup var read: ReadOptions

    func validate() throws {
        try validateQuality(quality)
        _ = try resolveProfile(profile)
        if let bpp, !(bpp > 0 && bpp.isFinite) { throw ValidationError("--bpp must be a positive number of bits per pixel, not \(bpp)") }
    }

    func run() throws {
        let options = EncodeOptions(
            profile: try resolveProfile(profile), quality: quality, progressive: progressive,
            read: ImageReadOptions(maxPixels: read.maxPixels, flattenAlpha: flattenAlpha), force: write.force)
        try runBatch(inputs: inputs, output: write.output, outputExtension: "jpg", verb: "encoded") { input, output in
            if let bpp {  // rate control (ComRecIO/RateDistortion.swift)
                let chosen = try encodeFile(input: input, output: output, options: options, maxBitsPerPixel: bpp)
                return "\(input) -> \(output): \(chosen.report.width) x \(chosen.report.height), quality \(chosen.quality), "
                    + "\(chosen.report.fileBytes) bytes, " + String(format: "%.3f", chosen.report.bitsPerPixel) + " bpp"
            }
            let report = try encodeFile(input: input, output: output, options: options)
            return "\(input) -> \(output): \(report.width) x \(report.height), \(report.fileBytes) bytes, "
                + String(format: "%.3f", report.bitsPerPixel) + " bpp"
        }
    }
}
