import ArgumentParser
import ComRecCodec
import ComRecIO
import Foundation

/// The README's main job: encode and decode a bundled synthetic image, print size and quality.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Encode and decode a bundled synthetic image; print bits per pixel and PSNR.",
        discussion: """
            Runs the same code as `comrec encode` and `comrec decode` on \(DemoCommand.bundledImage) \
            (or --input), writing both files to --output-dir (default: a temporary directory that \
            is removed afterwards), and compares the result with the input. The file is the \
            largest of at most --bpp bits per pixel (or --quality), in the mode `comrec encode` \
            would choose (--mode). A plain JPEG of the full-size image at about the same size is \
            shown for reference.
            """)

    static let bundledImage = "Fixtures/synthetic-768x512.png"

    @Option(help: ArgumentHelp("Image to use instead of the bundled one.", valueName: "path"))
    var input: String?

    @Option(help: ArgumentHelp("Size of the ComRec file: at most this many bits per pixel.", valueName: "bits"))
    var bpp: Double = 0.4

    @Option(help: "Use this JPEG quality instead of --bpp (as `comrec encode --quality`).")
    var quality: Int?

    @Option(help: ArgumentHelp("auto, half or full (as `comrec encode --mode`).", valueName: "mode"))
    var mode: ModeRequest = .auto

    @Option(help: ArgumentHelp("Codec profile (\(Profile.names.joined(separator: ", "))).", valueName: "name"))
    var profile: ProfileName = .defaultProfile

    @Option(help: ArgumentHelp("Keep demo.jpg and demo.png in this directory.", valueName: "dir"))
    var outputDir: String?

    @Flag(help: "Replace demo.jpg and demo.png in --output-dir if they exist.")
    var force = false

    func validate() throws {
        if let quality { try validateQuality(quality) }
        guard bpp > 0, bpp.isFinite else { throw ValidationError("--bpp must be a positive number of bits per pixel, not \(bpp)") }
    }

    func run() throws {
        try reportingFailure { try demo() }
    }

    private func demo() throws {
        let source = try input ?? locateBundledImage()
        let directory = try outputDir ?? makeTemporaryDirectory()
        defer { if outputDir == nil { try? FileManager.default.removeItem(atPath: directory) } }
        if !isDirectory(directory) { throw ComRecIOError(path: directory, .notADirectory(hint: "create it first")) }
        let encoded = directory + "/demo.jpg", decoded = directory + "/demo.png"

        let chosen = try profile.resolved()
        let options = EncodeOptions(profile: chosen, mode: mode, force: force)
        let report = try quality.map { q in
            var atQuality = options
            atQuality.jpeg.quality = q
            return try encodeFile(input: source, output: encoded, options: atQuality)
        } ?? encodeFile(input: source, output: encoded, options: options, maxBitsPerPixel: bpp)
        let original = try readImage(path: source)
        try decodeFile(input: encoded, output: decoded, force: force)
        let rebuilt = try readImage(path: decoded)
        let info = try inspectFile(encoded)
        let stored = report.mode == .half ? "compact image" : "full image"

        // Reference: the whole image as one plain JPEG with the same settings, rounded by libjpeg with
        // the standard's tables as every other JPEG encoder does (the anchor of docs/results.md), at the quality
        // whose size comes closest to the ComRec file from below (codecs are only comparable at
        // matched bits per pixel).
        let jpeg = LibJPEG()
        func plainJPEG(_ q: Int) throws -> [UInt8] {
            var settings = options.jpeg
            settings.quality = q
            settings.trellis = nil
            settings.tables = .standard
            return try jpeg.encode(original, settings: settings, segments: [])
        }
        var low = 1, high = 100
        while low < high {  // largest quality whose file is not larger than the ComRec file
            let mid = (low + high + 1) / 2
            if try plainJPEG(mid).count <= report.fileBytes { low = mid } else { high = mid - 1 }
        }
        func describe(_ q: Int) throws -> String {
            let file = try plainJPEG(q)
            let decoded = try jpeg.decode(file, maxPixels: original.pixelCount)
            let bpp = Metrics.bitsPerPixel(fileBytes: file.count, width: original.width, height: original.height)
            return "quality \(q): \(f(bpp, 3)) bits per pixel, PSNR \(f(Metrics.psnr(original, decoded), 2)) dB"
        }

        func f(_ value: Double, _ digits: Int) -> String { decimalString(value, digits) }
        print("""
            ComRec demo: profile \(chosen.name), \(quality.map { "quality \($0)" } ?? "at most \(bpp) bits per pixel")
              input          \(source), \(original.width) x \(original.height)
              mode           \(report.mode.name) (\(report.reason))
              stored         \(stored) \(info.storedWidth) x \(info.storedHeight), JPEG 4:2:0 quality \(report.quality)
              ComRec file    \(report.fileBytes) bytes = \(f(report.bitsPerPixel, 3)) bits per pixel
              decoded        \(rebuilt.width) x \(rebuilt.height), PSNR \(f(Metrics.psnr(original, rebuilt), 2)) dB (RGB, against the input)
            plain JPEG of the full image at about the same size, for reference:
              \(try describe(low))
            """)
        if outputDir != nil { print("  files          \(encoded), \(decoded)") }
    }

    /// The bundled image, relative to the working directory (`swift run` from the package root)
    /// or else to this source file's package.
    private func locateBundledImage() throws -> String {
        if FileManager.default.fileExists(atPath: DemoCommand.bundledImage) { return DemoCommand.bundledImage }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let path = packageRoot.appendingPathComponent(DemoCommand.bundledImage).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw ComRecIOError(path: DemoCommand.bundledImage, .bundledImageMissing)
        }
        return path
    }

    private func makeTemporaryDirectory() throws -> String {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("comrec-demo-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ComRecIOError(path: path, .noTemporaryDirectory)
        }
        return path
    }
}
