import ArgumentParser
import ComRecCodec
import ComRecEval
import ComRecIO
import Foundation

/// `comrec eval`: rate-distortion curves over a folder of PNGs, as shipped (int8 networks,
/// libjpeg-turbo), with BD figures against plain JPEG. The JSON has the shape of
/// Training/comrec_train/evaluate.py's, so the two can be compared (docs/cli.md, "eval").
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Rate-distortion curves of profiles and plain JPEG over a folder of PNG images.",
        discussion: """
            For every chosen profile (default: every registered one), `bicubic` and plain JPEG of \
            the whole image (libjpeg-turbo, 4:2:0, optimised Huffman), at sweeps of qualities \
            covering about 0.1 to 1.5 bits per pixel: mean bits per pixel of the whole file, RGB \
            PSNR and MS-SSIM (null when an image is under 161 pixels on a side). Curves: `jpeg`; \
            per profile `NAME` (half mode), `NAME-full` (full mode, when the profile has an \
            enhancer) and `NAME-auto` (what `comrec encode --quality Q --effort E` makes, mode per \
            image; with the number of half-mode files per point). Then BD-rate and BD-PSNR against \
            JPEG and BD-rate against bicubic over 0.1-0.6 bpp (PCHIP in log rate, as \
            Training/comrec_train/metrics.py), BD-rate against JPEG over 0.1-1.0 bpp, and the \
            smallest PSNR gain over JPEG at the tested rates within 0.1-1.5 bpp.
            """)

    static let jpegQualities = [3, 5, 7, 10, 13, 16, 20, 25, 30, 40, 50, 60, 70, 80]
    static let halfQualities = [10, 20, 30, 40, 50, 60, 70, 80, 90]
    static let bdRange = (lo: 0.1, hi: 0.6)
    /// The wide ranges: BD-rate over 0.1-1.0 bpp, "never worse than JPEG" over 0.1-1.5 bpp.
    static let wideBDRange = (lo: 0.1, hi: 1.0)
    static let gainRange = (lo: 0.1, hi: 1.5)

    @Argument(help: ArgumentHelp("Folder of PNG images.", valueName: "dir"))
    var directory: String

    @Option(name: .customLong("profile"), help: ArgumentHelp(
        "Profile to evaluate (repeatable; default: all of \(Profile.names.joined(separator: ", "))).", valueName: "name"))
    var profiles: [ProfileName] = []

    @Option(help: ArgumentHelp("JPEG qualities of the plain JPEG curve (comma-separated, each 1...100).", valueName: "q,q,..."))
    var jpegQualities = QualityList(EvalCommand.jpegQualities)

    @Option(help: ArgumentHelp("JPEG qualities of the compact image for the profiles' half-mode curves (comma-separated, 1...100).", valueName: "q,q,..."))
    var halfQualities = QualityList(EvalCommand.halfQualities)

    @Option(help: ArgumentHelp(
        "Qualities of the full-mode and auto curves (comma-separated, 1...100; default: --jpeg-qualities; for auto, the size budget).",
        valueName: "q,q,..."))
    var fullQualities: QualityList?

    @Option(help: ArgumentHelp("Which curves per profile: a comma-separated list of half, full, auto.", valueName: "m,m,..."))
    var modes = ModeList([.half, .full, .auto])

    @Option(help: ArgumentHelp("How the auto curves choose the mode, as `encode --effort`: 1 (rule) or 2 (try both).",
                               valueName: "1|2"))
    var effort: Int = 1

    @Option(help: ArgumentHelp(
        "Trellis-quantise the profiles' full-mode JPEGs as `encode` does (auto: lambda chosen per file), or with this lambda scale; and add a `jpeg-trellis` curve, plain JPEG quantised the same way (auto: the plain scale). Default: rounding, as `encode --no-trellis`.",
        valueName: "auto|scale"))
    var trellis: String?

    @Option(help: ArgumentHelp(
        "Quantisation tables of the profiles' stored JPEGs: comrec or standard (the JPEG standard's, as plain libjpeg). Default: each profile's, as `encode` writes them. Unless standard, a `jpeg-tables` curve adds plain JPEG with ComRec's tables (the tables alone).",
        valueName: "comrec|standard"))
    var tables: JPEGTables?

    @Option(help: ArgumentHelp(
        "Layout of scans of the profiles' stored JPEGs, as `encode --scans`. Unless baseline, a `jpeg-scans` curve adds plain JPEG with the same layout (the scans alone); the `jpeg` curve is always one baseline scan.",
        valueName: "smallest|baseline|progressive"))
    var scans: JPEGScans = .smallest

    @Option(help: ArgumentHelp("Use only the first N images (by name).", valueName: "n"))
    var limit: Int?

    @Flag(help: "Print one JSON object instead of tables.")
    var json = false

    @Option(help: ArgumentHelp("Also write an SVG plot of the curves (PSNR against bits per pixel).", valueName: "file.svg"))
    var plot: String?

    @OptionGroup var read: ReadOptions

    func validate() throws {
        guard effort == 1 || effort == 2 else { throw ValidationError("--effort must be 1 or 2, not \(effort)") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        _ = try trellisTuning()
    }


    func run() throws {
        try reportingFailure { try evaluate() }
    }

    private func evaluate() throws {
        let start = Date()
        let paths = try listPNGs()
        let images = try paths.map { try readImage(path: $0, options: read.imageOptions(bytesPerPixel: WorkingMemory.encodeBytesPerPixel)) }
        var names: [ProfileName] = []
        for name in profiles where !names.contains(name) { names.append(name) }  // each profile once
        var chosen = names.isEmpty ? try Profile.hosted().filter { $0.name != "bicubic" } : try names.map { try $0.resolved() }
        chosen.removeAll { $0.name == "bicubic" }
        chosen.append(.bicubic)
        let jpegQ = jpegQualities.values, halfQ = halfQualities.values
        let fullQ = fullQualities?.values ?? jpegQ
        let modes = Set(self.modes.values)

        var evaluation = RDEvaluation(images: images)
        let tuning = try trellisTuning()
        evaluation.trellis = tuning
        evaluation.tables = tables
        evaluation.scans = scans
        // Work units for the progress bar: one per image per encode-and-decode.
        var total = images.count * jpegQ.count
            * (1 + (tuning == nil ? 0 : 1) + (tables == .standard ? 0 : 1) + (scans == .baseline ? 0 : 1))
        for profile in chosen {
            if modes.contains(.half) { total += images.count * (halfQ.count + 1) }
            if modes.contains(.full) && !profile.full.isPlainJPEG { total += images.count * (fullQ.count + 1) }
            if modes.contains(.auto) { total += images.count * fullQ.count }
        }
        let progress = ProgressLine(total: total, terminal: .standardError, enabled: true)
        var finished = 0
        var curves: [(name: String, points: [RDPoint])] = []
        var halfFiles: [String: [Int]] = [:]
        func run(_ name: String, units: Int, _ body: ((Int) -> Void) throws -> [RDPoint]) rethrows {
            progress.show(done: finished, current: name)
            curves.append((name, try body { progress.show(done: finished + $0, current: name) }))
            finished += units
        }
        try run("jpeg", units: images.count * jpegQ.count) { try evaluation.jpegCurve(qualities: jpegQ, progress: $0) }
        if let tuning {
            try run("jpeg-trellis", units: images.count * jpegQ.count) {
                try evaluation.jpegCurve(qualities: jpegQ, trellis: tuning, progress: $0)
            }
        }
        if tables != .standard {
            try run("jpeg-tables", units: images.count * jpegQ.count) {
                try evaluation.jpegCurve(qualities: jpegQ, tables: .comrec, progress: $0)
            }
        }
        if scans != .baseline {
            try run("jpeg-scans", units: images.count * jpegQ.count) {
                try evaluation.jpegCurve(qualities: jpegQ, scans: scans, progress: $0)
            }
        }
        for profile in chosen {
            if modes.contains(.half) {
                try run(profile.name, units: images.count * (halfQ.count + 1)) {
                    try evaluation.profileCurve(profile, mode: .half, qualities: halfQ, progress: $0)
                }
            }
            // Full mode without an enhancer is plain JPEG plus the segment: the jpeg curve already.
            if modes.contains(.full) && !profile.full.isPlainJPEG {
                try run(profile.name + "-full", units: images.count * (fullQ.count + 1)) {
                    try evaluation.profileCurve(profile, mode: .full, qualities: fullQ, progress: $0)
                }
            }
            if modes.contains(.auto) {
                try run(profile.name + "-auto", units: images.count * fullQ.count) { progress in
                    let made = try evaluation.autoCurve(profile, qualities: fullQ, effort: effort, progress: progress)
                    halfFiles[profile.name + "-auto"] = made.halfCounts
                    return made.points
                }
            }
        }
        progress.finish()

        let report = EvalReport(
            curves: curves, halfFiles: halfFiles, images: images.count, folder: directory,
            seconds: Date().timeIntervalSince(start), withMSSSIM: evaluation.hasMSSSIM)
        if let plot {
            let svg = RDPlot.svg(curves: curves, title: "\((directory as NSString).lastPathComponent): \(images.count) images")
            try writeFileAtomically(Array(svg.utf8), to: plot, force: true)
        }
        print(json ? try report.json() : report.text)
    }

    /// The trellis of --trellis: nil (rounding), automatic lambda, or a given scale.
    private func trellisTuning() throws -> TrellisTuning? {
        guard let trellis else { return nil }
        if trellis == "auto" { return TrellisTuning() }
        guard let scale = Double(trellis), scale > 0 && scale <= 16 else {
            throw ValidationError("--trellis must be auto or a lambda scale in (0, 16], not \(trellis)")
        }
        return TrellisTuning(lambdaScale: scale)
    }

    /// The PNG files of the folder, sorted by name (case-insensitive extension), at most `limit`.
    private func listPNGs() throws -> [String] {
        guard isDirectory(directory) else { throw ComRecIOError(path: directory, .notADirectory(hint: "give a folder of PNG images")) }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.lowercased().hasSuffix(".png") }.sorted()
        guard !names.isEmpty else { throw ComRecIOError(path: directory, .noPNGFiles) }
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        return names.prefix(limit ?? names.count).map { base + $0 }
    }
}

/// What `comrec eval` prints: the curves, the BD figures, as text or JSON.
struct EvalReport {
    var curves: [(name: String, points: [RDPoint])]
    /// For the auto curves: how many of the images were coded in half mode, per point.
    var halfFiles: [String: [Int]]
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

    /// BD-rate against JPEG over 0.1-1.0 bpp, and the smallest PSNR gain over JPEG (with its rate)
    /// at the curve's points within 0.1-1.5 bpp.
    func wide(_ name: String) -> (bdRate: Double?, worst: (bpp: Double, gain: Double)?) {
        let c = pairs(name), jpeg = pairs("jpeg")
        let rate = Bjontegaard.bdRate(anchor: jpeg, test: c, lo: EvalCommand.wideBDRange.lo, hi: EvalCommand.wideBDRange.hi)
        let gains = Bjontegaard.gainsOverAnchor(anchor: jpeg, test: c, lo: EvalCommand.gainRange.lo, hi: EvalCommand.gainRange.hi)
        return (rate, gains.min { $0.gain < $1.gain })
    }

    func json() throws -> String {
        func number(_ v: Double?) -> Any { v.map { $0.isFinite ? $0 as Any : NSNull() } ?? NSNull() }
        var curveObject: [String: Any] = [:], bdObject: [String: Any] = [:]
        for (name, points) in curves {
            curveObject[name] = points.map { p -> [String: Any] in
                ["q": p.quality, "bpp": p.bpp, "psnr": number(p.psnr), "ms_ssim": number(p.msSSIM)]
            }
            let (rj, pj, rb) = bd(name)
            let (wideRate, worst) = wide(name)
            bdObject[name] = [
                "bd_rate_vs_jpeg": number(rj), "bd_psnr_vs_jpeg": number(pj), "bd_rate_vs_bicubic": number(rb),
                "bd_rate_vs_jpeg_0.1_1.0": number(wideRate),
                "worst_gain_vs_jpeg_db": number(worst?.gain), "worst_gain_at_bpp": number(worst?.bpp),
            ]
        }
        let object: [String: Any] = [
            "curves": curveObject, "bd": bdObject, "half_files": halfFiles, "images": images, "folders": [folder],
            "bd_range_bpp": [EvalCommand.bdRange.lo, EvalCommand.bdRange.hi], "seconds": seconds,
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    var text: String {
        func pad(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
        func f(_ v: Double?, _ digits: Int) -> String { v.map { decimalString($0, digits) } ?? "n/a" }
        var lines = ["\(folder): \(images) images, \(decimalString(seconds, 1)) s"
                     + (withMSSSIM ? "" : " (MS-SSIM n/a: an image is under 161 pixels on a side)")]
        for (name, points) in curves {
            let halves = halfFiles[name]
            lines.append("")
            lines.append("\(name)\n    q      bpp   PSNR dB  MS-SSIM" + (halves == nil ? "" : "  half-mode files"))
            for (i, p) in points.enumerated() {
                lines.append("  " + pad("\(p.quality)", 3) + "  " + pad(f(p.bpp, 4), 7) + "  " + pad(f(p.psnr, 2), 8) + "  " + pad(f(p.msSSIM, 4), 7)
                             + (halves.map { "  \($0[i]) of \(images)" } ?? ""))
            }
        }
        lines.append("")
        lines.append("BD over \(EvalCommand.bdRange.lo)-\(EvalCommand.bdRange.hi) bpp (rate: negative = fewer bits)")
        for (name, _) in curves where name != "jpeg" {
            let (rj, pj, rb) = bd(name)
            lines.append("  \(name): BD-rate vs jpeg \(f(rj.map { $0 * 100 }, 1))%, BD-PSNR vs jpeg \(f(pj, 2)) dB"
                         + (name == "bicubic" ? "" : ", BD-rate vs bicubic \(f(rb.map { $0 * 100 }, 1))%"))
        }
        lines.append("Wider: BD-rate vs jpeg over \(EvalCommand.wideBDRange.lo)-\(EvalCommand.wideBDRange.hi) bpp; "
                     + "smallest PSNR gain over jpeg at the tested rates in \(EvalCommand.gainRange.lo)-\(EvalCommand.gainRange.hi) bpp")
        for (name, _) in curves where name != "jpeg" {
            let (rate, worst) = wide(name)
            lines.append("  \(name): BD-rate \(f(rate.map { $0 * 100 }, 1))%, smallest gain "
                         + (worst.map { "\(f($0.gain, 2)) dB at \(f($0.bpp, 3)) bpp" } ?? "n/a"))
        }
        return lines.joined(separator: "\n")
    }
}
