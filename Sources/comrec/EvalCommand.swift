import ArgumentParser
import ComRecCodec
import ComRecIO
import Foundation

/// `comrec eval`: rate-distortion curves over a folder of PNGs, as shipped (int8 networks,
/// libjpeg-turbo), with BD figures against plain JPEG. The JSON has the shape of
/// Training/comrec_train/evaluate.py's, so the two can be compared (docs/models.md).
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Rate-distortion curves of profiles and plain JPEG over a folder of PNG images.",
        discussion: """
            For every chosen profile (default: every registered one), `bicubic` and plain JPEG of \
            the whole image (libjpeg-turbo, 4:2:0, optimised Huffman), at a sweep of qualities \
            covering about 0.1 to 1 bits per pixel: mean bits per pixel of the whole file, RGB \
            PSNR and MS-SSIM (null when an image is under 161 pixels on a side), then BD-rate and \
            BD-PSNR against JPEG and BD-rate against bicubic over 0.1-0.6 bpp (PCHIP in log rate, \
            as Training/comrec_train/metrics.py). Curves are named after the profile, and `jpeg`.
            """)

    static let jpegQualities = [3, 5, 7, 10, 13, 16, 20, 25, 30]
    static let halfQualities = [10, 20, 30, 40, 50, 60, 70, 80, 90]
    static let bdRange = (lo: 0.1, hi: 0.6)

    @Argument(help: ArgumentHelp("Folder of PNG images.", valueName: "dir"))
    var directory: String

    @Option(name: .customLong("profile"), help: ArgumentHelp(
        "Profile to evaluate (repeatable; default: all of \(Profile.names.joined(separator: ", "))).", valueName: "name"))
    var profiles: [String] = []

    @Option(help: ArgumentHelp("JPEG qualities of the plain JPEG curve.", valueName: "q,q,..."))
    var jpegQualities: String = EvalCommand.jpegQualities.map(String.init).joined(separator: ",")

    @Option(help: ArgumentHelp("JPEG qualities of the compact image for the profiles' curves.", valueName: "q,q,..."))
    var halfQualities: String = EvalCommand.halfQualities.map(String.init).joined(separator: ",")

    @Option(help: ArgumentHelp("Use only the first N images (by name).", valueName: "n"))
    var limit: Int?

    @Flag(help: "Print one JSON object instead of tables.")
    var json = false

    @Option(help: ArgumentHelp("Also write an SVG plot of the curves (PSNR against bits per pixel).", valueName: "file.svg"))
    var plot: String?

    @OptionGroup var read: ReadOptions

    func validate() throws {
        for name in profiles { _ = try resolveProfile(name) }
        _ = try qualities(jpegQualities, "--jpeg-qualities")
        _ = try qualities(halfQualities, "--half-qualities")
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func qualities(_ text: String, _ option: String) throws -> [Int] {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && (1...100).contains($0!) }) else {
            throw ValidationError("\(option) must be a comma-separated list of qualities 1...100, not '\(text)'")
        }
        return values.map { $0! }
    }

    func run() throws {
        do {
            try evaluate()
        } catch let error as ExitCode {
            throw error
        } catch {
            Terminal.standardError.error("\(error)")
            throw ExitCode.failure
        }
    }

    private func evaluate() throws {
        let start = Date()
        let paths = try listPNGs()
        let images = try paths.map { try readImage(path: $0, options: ImageReadOptions(maxPixels: read.maxPixels)) }
        var chosen = profiles.isEmpty ? Profile.all.filter { $0.name != "bicubic" } : try profiles.map(resolveProfile)
        chosen.removeAll { $0.name == "bicubic" }
        chosen.append(.bicubic)
        let jpegQ = try qualities(jpegQualities, "--jpeg-qualities"), halfQ = try qualities(halfQualities, "--half-qualities")

        let evaluation = RDEvaluation(images: images)
        let total = images.count * (jpegQ.count + chosen.count * (halfQ.count + 1))
        let progress = ProgressLine(total: total, terminal: .standardError, enabled: true)
        var finished = 0
        var curves: [(name: String, points: [RDPoint])] = []
        progress.show(done: 0, current: "jpeg")
        curves.append(("jpeg", try evaluation.jpegCurve(qualities: jpegQ) { progress.show(done: finished + $0, current: "jpeg") }))
        finished += images.count * jpegQ.count
        for profile in chosen {
            let points = try evaluation.profileCurve(profile, qualities: halfQ) {
                progress.show(done: finished + $0, current: profile.name)
            }
            finished += images.count * (halfQ.count + 1)
            curves.append((profile.name, points))
        }
        progress.finish()

        let report = EvalReport(
            curves: curves, images: images.count, folder: directory, seconds: Date().timeIntervalSince(start),
            withMSSSIM: evaluation.hasMSSSIM)
        if let plot {
            let svg = RDPlot.svg(curves: curves, title: "\((directory as NSString).lastPathComponent): \(images.count) images")
            try writeFileAtomically(Array(svg.utf8), to: plot, force: true)
        }
        print(json ? try report.json() : report.text)
    }

    /// The PNG files of the folder, sorted by name (case-insensitive extension), at most `limit`.
    private func listPNGs() throws -> [String] {
        guard isDirectory(directory) else { throw ComRecIOError(path: directory, "is not a folder; give a folder of PNG images") }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.lowercased().hasSuffix(".png") }.sorted()
        guard !names.isEmpty else { throw ComRecIOError(path: directory, "holds no .png files") }
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        return names.prefix(limit ?? names.count).map { base + $0 }
    }
}

/// What `comrec eval` prints: the curves, the BD figures, as text or JSON.
struct EvalReport {
    var curves: [(name: String, points: [RDPoint])]
    var images: Int
    var folder: String
    var seconds: Double
    var withMSSSIM: Bool

    func pairs(_ name: String) -> [RDPair] {
        (curves.first { $0.name == name }?.points ?? []).compactMap { p in p.psnr.map { RDPair(bpp: p.bpp, psnr: $0) } }
    }

    /// (bd_rate_vs_jpeg, bd_psnr_vs_jpeg, bd_rate_vs_bicubic) of a curve.
    func bd(_ name: String) -> (Double?, Double?, Double?) {
        let (lo, hi) = EvalCommand.bdRange
        let c = pairs(name), jpeg = pairs("jpeg"), bicubic = pairs("bicubic")
        return (Bjontegaard.bdRate(anchor: jpeg, test: c, lo: lo, hi: hi), Bjontegaard.bdPSNR(anchor: jpeg, test: c, lo: lo, hi: hi),
                Bjontegaard.bdRate(anchor: bicubic, test: c, lo: lo, hi: hi))
    }

    func json() throws -> String {
        func number(_ v: Double?) -> Any { v.map { $0.isFinite ? $0 as Any : NSNull() } ?? NSNull() }
        var curveObject: [String: Any] = [:], bdObject: [String: Any] = [:]
        for (name, points) in curves {
            curveObject[name] = points.map { p -> [String: Any] in
                ["q": p.quality, "bpp": p.bpp, "psnr": number(p.psnr), "ms_ssim": number(p.msSSIM)]
            }
            let (rj, pj, rb) = bd(name)
            bdObject[name] = ["bd_rate_vs_jpeg": number(rj), "bd_psnr_vs_jpeg": number(pj), "bd_rate_vs_bicubic": number(rb)]
        }
        let object: [String: Any] = [
            "curves": curveObject, "bd": bdObject, "images": images, "folders": [folder],
            "bd_range_bpp": [EvalCommand.bdRange.lo, EvalCommand.bdRange.hi], "seconds": seconds,
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    var text: String {
        func pad(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
        func f(_ v: Double?, _ digits: Int) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "n/a" }
        var lines = ["\(folder): \(images) images, \(String(format: "%.1f", seconds)) s"
                     + (withMSSSIM ? "" : " (MS-SSIM n/a: an image is under 161 pixels on a side)")]
        for (name, points) in curves {
            lines.append("")
            lines.append("\(name)\n    q      bpp   PSNR dB  MS-SSIM")
            for p in points {
                lines.append(String(format: "  %3d  %7.4f  ", p.quality, p.bpp) + pad(f(p.psnr, 2), 8) + "  " + pad(f(p.msSSIM, 4), 7))
            }
        }
        lines.append("")
        lines.append("BD over \(EvalCommand.bdRange.lo)-\(EvalCommand.bdRange.hi) bpp (rate: negative = fewer bits)")
        for (name, _) in curves where name != "jpeg" {
            let (rj, pj, rb) = bd(name)
            lines.append("  \(name): BD-rate vs jpeg \(f(rj.map { $0 * 100 }, 1))%, BD-PSNR vs jpeg \(f(pj, 2)) dB"
                         + (name == "bicubic" ? "" : ", BD-rate vs bicubic \(f(rb.map { $0 * 100 }, 1))%"))
        }
        return lines.joined(separator: "\n")
    }
}
