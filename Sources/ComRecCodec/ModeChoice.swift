import ComRecKernels

// Mode choice at encode (docs/modes.md): a ComRec file stores either the compact image (half mode)
// or the image itself (full mode). Half mode wins at low rates and saturates at higher ones, so
// `--mode auto` picks per file: by the profile's measured crossover rate (effort 1), or by encoding
// and decoding both candidates (and the full-mode JPEG without its enhancer) and keeping the better
// PSNR (effort 2).

/// Which mode `comrec encode --mode` asks for.
public enum ModeRequest: String, CaseIterable, Sendable {
    /// Half mode below the profile's crossover rate, full mode above (or the better of both with
    /// effort 2).
    case auto
    case half
    case full
}

/// What decides the file's size.
public enum SizeTarget: Equatable, Sendable {
    /// A JPEG quality. In half or full mode it is the quality of the stored JPEG. In auto mode it
    /// sets the size budget: the file is at most as large as full mode at that quality, which is
    /// the plain JPEG of the image plus the ComRec segment.
    case quality(Int)
    /// Rate control: the largest file of at most this many bits per pixel of the image.
    case bitsPerPixel(Double)
}

/// One ComRec file that the encoder made, and how.
public struct ModeChoiceResult: Sendable {
    public var file: [UInt8]
    public var mode: CodecMode
    /// JPEG quality of the stored image.
    public var quality: Int
    /// Why this mode: one line for the encode report.
    public var reason: String
}

/// Peak memory per pixel of encoding a whole image with ModeChoosingEncoder at `effort`, as
/// `comrec encode` measured it (its input decoding included; ComRecIO's WorkingMemory says how):
/// the figure a caller asks the system for before it allocates the image. Trellis quantisation
/// adds its planes and coefficients while the full-mode JPEG is made (measured: 10.0 bytes per
/// pixel in all at effort 1, 12.6 at effort 2, where the networks' buffers are the peak).
public func wholeImageEncodeBytesPerPixel(effort: Int, trellis: Bool = true) -> Int {
    (effort == 2 ? 12 : 6) + (trellis ? 4 : 0)
}

/// Encodes one image with a profile in the requested mode, with any JPEG coder.
public struct ModeChoosingEncoder<JPEG: JPEGCoder> {
    public var pipeline: ComRecPipeline<JPEG>
    public var profile: Profile
    /// Chroma, Huffman and progressive settings; the quality comes from the target.
    public var settings: JPEGSettings
    /// The image's metadata segments (EXIF, XMP, ICC), put into every candidate file, so that
    /// rate control and auto mode compare the sizes of the files as written.
    public var metadata: [JPEGSegment]

    public init(jpeg: JPEG, profile: Profile, settings: JPEGSettings, maxPixels: Int = defaultMaxPixels,
                metadata: [JPEGSegment] = []) {
        self.pipeline = ComRecPipeline(jpeg: jpeg, profiles: [profile], maxPixels: maxPixels)
        self.profile = profile
        self.settings = settings
        self.metadata = metadata
    }

    /// The file for `image`; `effort` 1 chooses the auto mode by rule, 2 by trying both.
    /// Throws when the target cannot be met (rate control below quality 1's size).
    public func encode(_ image: RGB8Image, target: SizeTarget, mode request: ModeRequest, effort: Int = 1) throws(ComRecError) -> ModeChoiceResult {
        precondition(effort == 1 || effort == 2, "effort is 1 or 2")
        try checkPixelLimit(width: image.width, height: image.height, maxPixels: pipeline.maxPixels)
        if image.isGrey { return try encodeGrey(image, target: target) }
        var candidates = Candidates(encoder: self, image: image)
        switch request {
        case .half, .full:
            let mode: CodecMode = request == .half ? .half : .full
            guard let made = try candidates.make(mode, target) else { throw candidates.unreachable(target, mode) }
            return ModeChoiceResult(file: made.file, mode: mode, quality: made.quality, reason: "--mode \(mode.name)")
        case .auto:
            return effort == 1 ? try candidates.byRule(target) : try candidates.byTrial(target)
        }
    }
}

extension ModeChoosingEncoder {
    /// A grey image, in any mode asked for: full mode, a one-component JPEG (a third of the samples
    /// of a colour one), no network at decode (the networks are trained on colour). So the file is
    /// the plain grey JPEG at the same quality plus the segment.
    func encodeGrey(_ image: RGB8Image, target: SizeTarget) throws(ComRecError) -> ModeChoiceResult {
        var grey = self
        grey.profile = profile.withoutEnhancer
        grey.settings.grey = true
        grey.pipeline.profiles = [grey.profile]
        var candidates = Candidates(encoder: grey, image: image)
        guard let made = try candidates.make(.full, target) else { throw candidates.unreachable(target, .full) }
        return ModeChoiceResult(file: made.file, mode: .full, quality: made.quality,
                                reason: "grey image: full mode, one grey component, no network")
    }
}

/// The two modes' files for one image, made on demand (the compact image at most once).
private struct Candidates<JPEG: JPEGCoder> {
    let encoder: ModeChoosingEncoder<JPEG>
    let image: RGB8Image
    private var compact: RGB8Image?

    init(encoder: ModeChoosingEncoder<JPEG>, image: RGB8Image) {
        self.encoder = encoder
        self.image = image
    }

    var pixels: Double { Double(image.width) * Double(image.height) }
    var rule: HalfModeRule { encoder.profile.halfModeRule }

    mutating func stored(_ mode: CodecMode) throws(ComRecError) -> RGB8Image {
        if mode == .full { return image }
        if compact == nil { compact = try encoder.profile.makeCompact(image, tables: encoder.settings.tables) }
        return compact!
    }

    mutating func file(_ mode: CodecMode, quality: Int) throws(ComRecError) -> [UInt8] {
        try file(mode, storing: stored(mode), quality: quality)
    }

    /// `profile` defaults to the encoder's; effort 2 passes it without its enhancer.
    func file(_ mode: CodecMode, storing stored: RGB8Image, quality: Int, profile: Profile? = nil) throws(ComRecError) -> [UInt8] {
        var settings = encoder.settings
        settings.quality = quality
        return try encoder.pipeline.file(storing: stored, width: image.width, height: image.height,
                                         profile: profile ?? encoder.profile, mode: mode, settings: settings,
                                         metadata: encoder.metadata)
    }

    /// The file of `mode` for `target`; nil when rate control cannot reach it.
    mutating func make(_ mode: CodecMode, _ target: SizeTarget) throws(ComRecError) -> (file: [UInt8], quality: Int)? {
        switch target {
        case .quality(let q):
            return (try file(mode, quality: q), q)
        case .bitsPerPixel(let bpp):
            // A target beyond any file (up to infinity) is no limit at all.
            let bytes = (bpp * pixels / 8).rounded(.down)
            return try largest(mode, maxBytes: bytes < Double(Int.max / 2) ? Int(bytes) : Int.max / 2)
        }
    }

    mutating func largest(_ mode: CodecMode, maxBytes: Int) throws(ComRecError) -> (file: [UInt8], quality: Int)? {
        let stored = try stored(mode)
        return try largestFileNotAbove(maxBytes: maxBytes) { q throws(ComRecError) in try file(mode, storing: stored, quality: q) }
            .map { (file: $0.file, quality: $0.quality) }
    }

    /// Effort 1: the profile's rule (HalfModeRule) decides from the full-mode file that sets the
    /// budget: its bits per pixel or its JPEG quality.
    mutating func byRule(_ target: SizeTarget) throws(ComRecError) -> ModeChoiceResult {
        let ruleName = "\(rule.description) rule of profile \(encoder.profile.name)"
        switch target {
        case .quality(let q):
            let full = try file(.full, quality: q)
            let budget = Metrics.bitsPerPixel(fileBytes: full.count, width: image.width, height: image.height)
            let why = "auto: budget \(decimalString(budget, 3)) bpp (full mode at quality \(q))"
            guard prefersHalf(budget: budget, fullQuality: q) else {
                return ModeChoiceResult(file: full, mode: .full, quality: q, reason: "\(why) is above the \(ruleName)")
            }
            return try trialDecides(full: (full, q), reason: "\(why) is within the \(ruleName)") {
                candidates throws(ComRecError) in try candidates.largest(.half, maxBytes: full.count)
            }
        case .bitsPerPixel(let bpp):
            switch rule {
            case .maxBitsPerPixel(let maxBitsPerPixel):
                return try byOrder(target, first: bpp <= maxBitsPerPixel ? .half : .full,
                                   why: "--bpp \(bpp) is \(bpp <= maxBitsPerPixel ? "within" : "above") the \(ruleName)")
            case .maxQuality(let maxQuality):
                // The full-mode file of the budget is made first: its quality is what the rule reads.
                guard let full = try make(.full, target) else {
                    return try byOrder(target, first: .half, why: "--bpp \(bpp): full mode cannot get that small")
                }
                let why = "auto: --bpp \(bpp) gives full mode quality \(full.quality)"
                guard full.quality <= maxQuality else {
                    return ModeChoiceResult(file: full.file, mode: .full, quality: full.quality, reason: "\(why), above the \(ruleName)")
                }
                return try trialDecides(full: full, reason: "\(why), within the \(ruleName)") {
                    candidates throws(ComRecError) in try candidates.make(.half, target)
                }
            }
        }
    }

    /// Under a quality rule that keeps half mode: the half-mode file `makeHalf` makes within the
    /// budget where the sample trial agrees, else the full-mode file `full`; `reason` begins the
    /// reason, the trial's report follows.
    mutating func trialDecides(
        full: (file: [UInt8], quality: Int), reason: String,
        makeHalf: (inout Candidates) throws(ComRecError) -> (file: [UInt8], quality: Int)?
    ) throws(ComRecError) -> ModeChoiceResult {
        let sample = try sampleTrial(quality: full.quality)
        if sample.halfWins, let half = try makeHalf(&self) {
            return ModeChoiceResult(file: half.file, mode: .half, quality: half.quality, reason: reason + sample.report)
        }
        return ModeChoiceResult(file: full.file, mode: .full, quality: full.quality,
                                reason: reason + sample.report + (sample.halfWins ? ", but half mode cannot get that small" : ""))
    }

    /// Whether the rule keeps half mode for a budget set by the full-mode file of `fullQuality`.
    func prefersHalf(budget: Double, fullQuality: Int) -> Bool {
        switch rule {
        case .maxBitsPerPixel(let maxBitsPerPixel): return budget <= maxBitsPerPixel
        case .maxQuality(let maxQuality): return fullQuality <= maxQuality
        }
    }

    /// The outcome of trying both modes on a sample of the image (`sampleTrial`).
    struct SampleTrial {
        var halfWins: Bool
        /// ", and a W x H sample measured half mode A dB against full mode's B dB", for the reason.
        var report: String
    }

    /// Under a quality rule, half mode is kept only where a quick trial on a sample of the image
    /// agrees: the full-mode JPEG of the sample at `quality` and the largest half-mode file no
    /// larger, both decoded with the profile's networks (effort 2 in miniature). Photos follow the
    /// rule; images whose detail half resolution cannot hold (one-pixel stripes, small text) do
    /// not, and the sample catches them for a fraction of effort 2's decode work.
    mutating func sampleTrial(quality: Int) throws(ComRecError) -> SampleTrial {
        let sample = try TrialSample.of(image)
        var trial = Candidates(encoder: encoder, image: sample)
        let full = try trial.file(.full, quality: quality)
        guard let half = try trial.largest(.half, maxBytes: full.count) else {
            return SampleTrial(halfWins: false, report: "; half mode cannot reach the sample's size")
        }
        let fullError = Metrics.meanSquaredError(sample, try encoder.pipeline.decode(full))
        let halfError = Metrics.meanSquaredError(sample, try encoder.pipeline.decode(half.file))
        let psnr = { (error: Double) in decimalString(Metrics.psnr(meanSquaredError: error), 2) }
        return SampleTrial(halfWins: halfError < fullError,
                           report: ", and a \(sample.width) x \(sample.height) sample measured half mode \(psnr(halfError)) dB "
                               + "against full mode's \(psnr(fullError)) dB")
    }

    /// `first`'s file for `target`, else the other mode's when `first` cannot get that small.
    mutating func byOrder(_ target: SizeTarget, first: CodecMode, why: String) throws(ComRecError) -> ModeChoiceResult {
        for mode in [first, first == .half ? CodecMode.full : .half] {
            if let made = try make(mode, target) {
                return ModeChoiceResult(file: made.file, mode: mode, quality: made.quality,
                                        reason: "auto: \(why)" + (mode == first ? "" : "; \(first.name) mode cannot get that small"))
            }
        }
        throw unreachable(target, nil)
    }

    /// Effort 2: both modes at the same budget, decoded; the better PSNR wins (the smaller file on a
    /// tie). When the full-mode file runs the enhancer, the same JPEG without it (plain-JPEG hash,
    /// the same size) is a third candidate, so an image the enhancer does not improve keeps its
    /// plain decode.
    mutating func byTrial(_ target: SizeTarget) throws(ComRecError) -> ModeChoiceResult {
        var made: [(mode: CodecMode, file: [UInt8], quality: Int, label: String)] = []
        switch target {
        case .quality(let q):
            let full = try file(.full, quality: q)
            made.append((.full, full, q, "full"))
            if let half = try largest(.half, maxBytes: full.count) { made.append((.half, half.file, half.quality, "half")) }
        case .bitsPerPixel:
            for mode in CodecMode.allCases {
                if let m = try make(mode, target) { made.append((mode, m.file, m.quality, mode.name)) }
            }
        }
        guard !made.isEmpty else { throw unreachable(target, nil) }
        if let full = made.first(where: { $0.mode == .full }), encoder.profile.full.improves(quality: full.quality) {
            let plain = try file(.full, storing: image, quality: full.quality, profile: encoder.profile.withoutEnhancer)
            made.append((.full, plain, full.quality, "full without enhancer"))
        }
        // The smaller squared error wins (the same order as PSNR, without a logarithm).
        var best: (index: Int, error: Double)?
        var scores: [String] = []
        for (index, candidate) in made.enumerated() {
            let decoded = try encoder.pipeline.decode(candidate.file)
            let error = Metrics.meanSquaredError(image, decoded)
            scores.append("\(candidate.label) \(decimalString(Metrics.psnr(meanSquaredError: error), 2)) dB at \(candidate.file.count) bytes")
            if let b = best, !(error < b.error || (error == b.error && candidate.file.count < made[b.index].file.count)) { continue }
            best = (index, error)
        }
        let winner = made[best!.index]
        return ModeChoiceResult(file: winner.file, mode: winner.mode, quality: winner.quality,
                                reason: "auto, effort 2: " + scores.joined(separator: ", "))
    }

    /// The error for a rate-control target below what `mode` (nil: either mode) reaches at quality 1.
    mutating func unreachable(_ target: SizeTarget, _ mode: CodecMode?) -> ComRecError {
        guard case .bitsPerPixel(let bpp) = target else { return .invalidArgument("no file could be made") }
        var smallest = Int.max
        for m in CodecMode.allCases where mode == nil || m == mode {
            do { smallest = min(smallest, try file(m, quality: 1).count) } catch { return error }
        }
        let reached = Metrics.bitsPerPixel(fileBytes: smallest, width: image.width, height: image.height)
        return .sizeTargetUnreachable(bitsPerPixel: bpp, smallestBitsPerPixel: reached)
    }
}

/// The sample of an image that effort 1 tries both modes on under a quality rule.
enum TrialSample {
    /// Side of the square tiles of the trial sample: four of them, one from the middle of each
    /// quarter of the image, side by side. An image under two tiles wide or high gives its middle
    /// instead, at most two tiles either way (so the whole of a small image), so that the trial
    /// never costs more than a 256 x 256 image's. Even offsets keep the 2x2 blocks the image's.
    static let tile = 128

    static func of(_ image: RGB8Image) throws(ComRecError) -> RGB8Image {
        let t = tile
        guard image.width >= 2 * t, image.height >= 2 * t else {
            let width = min(image.width, 2 * t), height = min(image.height, 2 * t)
            return try crop(image, x0: ((image.width - width) / 2) & ~1, y0: ((image.height - height) / 2) & ~1,
                        width: width, height: height)
        }
        var sample = try RGB8Image(width: 2 * t, height: 2 * t)
        for ty in 0..<2 {
            for tx in 0..<2 {
                let x0 = (tx * image.width / 2 + (image.width / 2 - t) / 2) & ~1
                let y0 = (ty * image.height / 2 + (image.height / 2 - t) / 2) & ~1
                for y in 0..<t {
                    let from = ((y0 + y) * image.width + x0) * 3
                    let to = ((ty * t + y) * 2 * t + tx * t) * 3
                    for i in 0..<(3 * t) { sample.pixels[to + i] = image.pixels[from + i] }
                }
            }
        }
        return sample
    }

    static func crop(_ image: RGB8Image, x0: Int, y0: Int, width: Int, height: Int) throws(ComRecError) -> RGB8Image {
        if x0 == 0, y0 == 0, width == image.width, height == image.height { return image }
        var pixels: [UInt8] = []
        pixels.reserveCapacity(width * height * 3)
        for y in y0..<(y0 + height) {
            let from = (y * image.width + x0) * 3
            pixels.append(contentsOf: image.pixels[from..<(from + width * 3)])
        }
        return try RGB8Image(width: width, height: height, pixels: pixels)
    }
}
