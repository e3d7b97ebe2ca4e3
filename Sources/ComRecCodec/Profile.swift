// Generated learned profiles (Sources/ComRecNetworks, docs/models.md) are registered below.
import ComRecKernels
import ComRecModels
import ComRecNetworks

/// What the decoder knows when it rebuilds an image (from the ComRec segment, or for `comrec enhance`
/// from the JPEG's quantisation tables).
public struct ReconstructionContext: Sendable {
    /// Size of the original image, from the ComRec segment.
    public let width: Int
    public let height: Int
    /// The JPEG quality (1...100) of the compact image (half mode) or of the image (full mode).
    public let quality: Int

    public init(width: Int, height: Int, quality: Int) {
        self.width = width
        self.height = height
        self.quality = quality
    }
}

/// How `--mode auto` chooses between half and full mode at effort 1 (docs/modes.md), per profile:
/// half mode wins at low rates and full mode above a crossover, which each rule places.
public enum HalfModeRule: Equatable, Sendable {
    /// Half mode when the size budget is at most this many bits per pixel: the rate where the
    /// profile's half-mode and full-mode curves cross on a set of photos.
    case maxBitsPerPixel(Double)
    /// Half mode when the full-mode JPEG that sets the budget has at most this quality: where a
    /// JPEG is coarse enough that the enhancer cannot win back what half mode keeps. On training
    /// photos the crossover scatters less in quality than in bits per pixel, since a detailed
    /// photo needs more bits at the same quality and both modes' errors follow the quantisation.
    case maxQuality(Int)

    /// One line for the encode report.
    public var description: String {
        switch self {
        case .maxBitsPerPixel(let bpp): return "\(decimalString(bpp, 2)) bpp"
        case .maxQuality(let q): return "quality \(q)"
        }
    }
}

/// A learned model and the runner of its networks: what a streamed run (`StreamedRun`) needs.
/// The model is made on first call (generated models decode their weights on first use).
public struct LearnedNetworks: Sendable {
    public let model: @Sendable () -> LearnedModel
    public let runner: NetworkRunner

    public init(model: @escaping @Sendable () -> LearnedModel, runner: NetworkRunner) {
        self.model = model
        self.runner = runner
    }
}

/// How a profile restores a full-resolution JPEG (full mode, `comrec enhance`).
public struct FullResolutionModel: Sendable {
    /// Identity of the enhancer's weights, written into full-mode files.
    public let modelHash: ModelHash
    /// One line for `--help` and `info`.
    public let summary: String
    /// Decoded JPEG (W x H) -> restored image of the same size.
    public let enhance: @Sendable (RGB8Image, ReconstructionContext) throws(ComRecError) -> RGB8Image
    /// The highest JPEG quality the enhancer improves (measured per enhancer, docs/modes.md).
    /// Full-mode files of a higher quality are written as plain JPEG (no network at decode), and
    /// `comrec enhance` leaves such JPEGs as they are.
    public let maxQuality: Int
    /// The enhancer's network, for streamed decoding; nil for `plainJPEG`.
    public let networks: LearnedNetworks?

    public init(modelHash: ModelHash, summary: String, maxQuality: Int = 100, networks: LearnedNetworks? = nil,
                enhance: @escaping @Sendable (RGB8Image, ReconstructionContext) throws(ComRecError) -> RGB8Image) {
        precondition((1...100).contains(maxQuality))
        self.modelHash = modelHash
        self.summary = summary
        self.maxQuality = maxQuality
        self.networks = networks
        self.enhance = enhance
    }

    /// Whether the enhancer is used on a JPEG of `quality`.
    public func improves(quality: Int) -> Bool { !isPlainJPEG && quality <= maxQuality }

    /// What the no-network full mode is; its hash marks a full-mode file that any build decodes.
    public static let plainJPEGDescription = "comrec full mode without a network v1: the decoded JPEG is the image"

    /// No network: the file is an ordinary JPEG of the image, decoded as it is. The full mode of
    /// profiles without a trained enhancer; every build decodes its files, whatever the profile.
    public static let plainJPEG = FullResolutionModel(
        modelHash: ModelHash(hashing: Array(plainJPEGDescription.utf8)),
        summary: "plain JPEG (no enhancer)",
        enhance: { decoded, _ in decoded })

    /// Whether this is `plainJPEG` (no network).
    public var isPlainJPEG: Bool { modelHash == FullResolutionModel.plainJPEG.modelHash }
}

extension ComRecSegment {
    /// Whether the file is a full-mode file without a network: its JPEG is the image, and every
    /// build decodes it whatever its profile.
    public var isPlainJPEG: Bool { mode == .full && modelHash == FullResolutionModel.plainJPEG.modelHash }
}

/// A half-mode pair (ComCNN and RecCNN) beside the profile's own: for half-mode files whose
/// compact JPEG is of another kind than the profile's files are today (`Profile.roundedHalf`).
public struct HalfResolutionModel: Sendable {
    /// Identity of the weights (ComCNN's and this RecCNN's), written into half-mode files.
    public let modelHash: ModelHash
    /// Original RGB8 -> compact RGB8 with this pair's ComCNN; nil: the profile's own makes them
    /// (a RecCNN fine-tuned on the profile's compact images).
    public let makeCompact: (@Sendable (RGB8Image) throws(ComRecError) -> RGB8Image)?
    /// Decoded compact RGB8 -> RGB8 of exactly `context.width` x `context.height`.
    public let reconstruct: @Sendable (RGB8Image, ReconstructionContext) throws(ComRecError) -> RGB8Image
    /// The networks, for streamed encoding (with `makeCompact`) and decoding.
    public let networks: LearnedNetworks?

    public init(modelHash: ModelHash, networks: LearnedNetworks? = nil,
                makeCompact: (@Sendable (RGB8Image) throws(ComRecError) -> RGB8Image)? = nil,
                reconstruct: @escaping @Sendable (RGB8Image, ReconstructionContext) throws(ComRecError) -> RGB8Image) {
        self.modelHash = modelHash
        self.networks = networks
        self.makeCompact = makeCompact
        self.reconstruct = reconstruct
    }
}

/// A codec profile: a pair of models that make the compact image and rebuild the original from it
/// (half mode), and the model that restores a full-resolution JPEG (full mode).
///
/// A struct of functions rather than a protocol, so that a registry of profiles needs no
/// existentials (Embedded Swift has none). A learned profile is a generated file that defines
/// `static let <name> = Profile(...)` in an extension, plus one entry in `Profile.registered(runner:)`.
public struct Profile: Sendable {
    /// Short lowercase name: written into every file, and the value of `--profile`.
    /// At most `maxNameLength` characters from [a-z0-9_-].
    public let name: String
    /// Identity of the weights; a file made with other weights is refused.
    public let modelHash: ModelHash
    /// One line for `--help` and `info`.
    public let summary: String
    /// Original RGB8 (W x H) -> compact RGB8 of exactly `compactSize(W, H)`.
    public let makeCompact: @Sendable (RGB8Image) throws(ComRecError) -> RGB8Image
    /// Decoded compact RGB8 -> RGB8 of exactly `context.width` x `context.height`.
    public let reconstruct: @Sendable (RGB8Image, ReconstructionContext) throws(ComRecError) -> RGB8Image
    /// Full mode: the enhancer of the files `comrec encode` writes (ComRec's quantisation tables,
    /// trellis-quantised or not), or `.plainJPEG`.
    public let full: FullResolutionModel
    /// The enhancer for trellis-quantised JPEGs with the standard's tables: full-mode files written
    /// with `--tables standard` (and by earlier versions), whose segment records its hash. The same
    /// as `full` for a profile without one.
    public let standardTrellis: FullResolutionModel
    /// The enhancer for JPEGs with the standard's tables quantised by rounding: libjpeg's and other
    /// encoders' (`comrec enhance`), and full-mode files written with `--tables standard
    /// --no-trellis`, whose segment records its hash. The same as `full` for a profile without one.
    public let rounded: FullResolutionModel
    /// The mode rule of `--mode auto` at effort 1 (docs/modes.md).
    public let halfModeRule: HalfModeRule
    /// The half-mode networks, for streamed encoding and decoding; nil for a profile without a
    /// learned model (`bicubic`).
    public let networks: LearnedNetworks?
    /// Whether the half-mode JPEG (the compact image) is trellis-quantised when trellis is on: the
    /// profile's RecCNN learnt from such JPEGs with ComRec's tables (`Pipeline.file`).
    public let halfModeTrellis: Bool
    /// The RecCNN for half-mode files with the standard's tables, quantised by rounding: those
    /// written with `--tables standard` and by the versions before the profile's RecCNN learnt
    /// from ComRec's tables, whose segment records its hash. nil when the profile's own RecCNN is
    /// the only one.
    public let roundedHalf: HalfResolutionModel?
    /// The quantisation tables of the profile's files unless the caller asks for others
    /// (`--tables`): those its networks learnt from. ComRec's for every profile but `paper`, whose
    /// networks learnt from the standard's (docs/results.md, "Quantisation tables").
    public let tables: JPEGTables

    public static let maxNameLength = 16

    public init(
        name: String, modelHash: ModelHash, summary: String,
        makeCompact: @escaping @Sendable (RGB8Image) throws(ComRecError) -> RGB8Image,
        reconstruct: @escaping @Sendable (RGB8Image, ReconstructionContext) throws(ComRecError) -> RGB8Image,
        full: FullResolutionModel = .plainJPEG, standardTrellis: FullResolutionModel? = nil, rounded: FullResolutionModel? = nil,
        halfModeRule: HalfModeRule, networks: LearnedNetworks? = nil, tables: JPEGTables = .comrec,
        halfModeTrellis: Bool = false, roundedHalf: HalfResolutionModel? = nil
    ) {
        precondition(Profile.isValidName(name), "profile name \(name) must be 1...16 of [a-z0-9_-]")
        self.name = name
        self.modelHash = modelHash
        self.summary = summary
        self.makeCompact = makeCompact
        self.reconstruct = reconstruct
        self.full = full
        self.standardTrellis = standardTrellis ?? full
        self.rounded = rounded ?? full
        self.halfModeRule = halfModeRule
        self.networks = networks
        self.tables = tables
        self.halfModeTrellis = halfModeTrellis
        self.roundedHalf = roundedHalf
    }

    /// This profile with `tables` as the default quantisation tables of its files.
    public func storing(_ tables: JPEGTables) -> Profile {
        Profile(name: name, modelHash: modelHash, summary: summary, makeCompact: makeCompact, reconstruct: reconstruct,
                full: full, standardTrellis: standardTrellis, rounded: rounded, halfModeRule: halfModeRule,
                networks: networks, tables: tables, halfModeTrellis: halfModeTrellis, roundedHalf: roundedHalf)
    }

    /// This profile with its half-mode RecCNN trained on trellis-quantised compact JPEGs with
    /// ComRec's tables (`halfModeTrellis`), and `rounded` (nil: none) for the half-mode files of
    /// rounded compact JPEGs with the standard's tables.
    public func withTrellisHalfMode(rounded: HalfResolutionModel?) -> Profile {
        Profile(name: name, modelHash: modelHash, summary: summary, makeCompact: makeCompact, reconstruct: reconstruct,
                full: full, standardTrellis: standardTrellis, rounded: self.rounded, halfModeRule: halfModeRule,
                networks: networks, tables: tables, halfModeTrellis: true, roundedHalf: rounded)
    }

    /// This profile with no enhancer: its full-mode files are plain JPEGs (the plain-JPEG hash),
    /// which every build decodes. `--effort 2` offers such a file beside the enhanced one, for
    /// images the enhancer does not improve.
    public var withoutEnhancer: Profile {
        Profile(name: name, modelHash: modelHash, summary: summary, makeCompact: makeCompact,
                reconstruct: reconstruct, full: .plainJPEG, halfModeRule: halfModeRule,
                networks: networks, tables: tables, halfModeTrellis: halfModeTrellis, roundedHalf: roundedHalf)
    }

    /// The enhancer of a full-mode JPEG with `tables`, trellis-quantised or rounded: `full` for
    /// ComRec's tables, `standardTrellis` or `rounded` for the standard's.
    public func enhancer(tables: JPEGTables, trellis: Bool) -> FullResolutionModel {
        switch tables {
        case .comrec: return full
        case .standard: return trellis ? standardTrellis : rounded
        }
    }

    /// The model hash a file of this profile records in `mode` at JPEG quality `quality`: in full
    /// mode, the enhancer of its kind of JPEG (`enhancer(tables:trellis:)`), or plain JPEG's above
    /// that enhancer's `maxQuality`.
    public func modelHash(for mode: CodecMode, quality: Int, tables: JPEGTables, trellis: Bool) -> ModelHash {
        if mode == .half { return halfModel(tables: tables).modelHash }
        let enhancer = enhancer(tables: tables, trellis: trellis)
        return enhancer.improves(quality: quality) ? enhancer.modelHash : FullResolutionModel.plainJPEG.modelHash
    }

    /// The RecCNN of a half-mode file whose compact JPEG has `tables`: `roundedHalf` for the
    /// standard's when there is one, else the profile's own.
    public func halfModel(tables: JPEGTables) -> HalfResolutionModel {
        if tables == .standard, let roundedHalf { return roundedHalf }
        return ownHalf
    }

    /// The compact image of a half-mode file with `tables`: made by the ComCNN of the pair that
    /// will rebuild it (`halfModel(tables:)`), so a pair's two networks always meet.
    public func makeCompact(_ image: RGB8Image, tables: JPEGTables) throws(ComRecError) -> RGB8Image {
        try (halfModel(tables: tables).makeCompact ?? makeCompact)(image)
    }

    /// The networks whose ComCNN makes the compact image of a half-mode file with `tables`
    /// (streamed encoding), as `makeCompact(_:tables:)`.
    public func compactNetworks(tables: JPEGTables) -> LearnedNetworks? {
        let half = halfModel(tables: tables)
        return half.makeCompact != nil ? half.networks : networks
    }

    /// Whether the compact JPEG of a half-mode file with `tables` is trellis-quantised when trellis
    /// is on: when the RecCNN that will rebuild it learnt from such JPEGs.
    public func trellisInHalfMode(tables: JPEGTables) -> Bool {
        halfModeTrellis && !(tables == .standard && roundedHalf != nil)
    }

    /// The RecCNN a half-mode file that records `hash` is rebuilt with: the profile's own or
    /// `roundedHalf`; nil when it is neither (other weights).
    public func halfModel(recordedAs hash: ModelHash) -> HalfResolutionModel? {
        halfModels.first { $0.model.modelHash == hash }?.model
    }

    /// The profile's half-mode RecCNNs, each with the name of its generated model's profile:
    /// `<name>` for its own, `<name>-rounded` for `roundedHalf`.
    public var halfModels: [(name: String, model: HalfResolutionModel)] {
        [(name, ownHalf)] + (roundedHalf.map { [(name + "-rounded", $0)] } ?? [])
    }

    private var ownHalf: HalfResolutionModel {
        HalfResolutionModel(modelHash: modelHash, networks: networks, reconstruct: reconstruct)
    }

    /// The enhancer a full-mode file that records `hash` is decoded with: `full`, `standardTrellis`
    /// or `rounded`; nil when it is none of them (other weights).
    public func enhancer(recordedAs hash: ModelHash) -> FullResolutionModel? {
        enhancers.first { $0.model.modelHash == hash }?.model
    }

    /// The profile's distinct enhancers (one entry per model hash), each with the name of its
    /// generated model's profile: `<name>` for `full`, `<name>-trellis` for `standardTrellis`,
    /// `<name>-rounded` for `rounded`. Empty for a profile whose full mode is plain JPEG.
    public var enhancers: [(name: String, model: FullResolutionModel)] {
        var list: [(name: String, model: FullResolutionModel)] = []
        for (suffix, model) in [("", full), ("-trellis", standardTrellis), ("-rounded", rounded)]
        where !model.isPlainJPEG && !list.contains(where: { $0.model.modelHash == model.modelHash }) {
            list.append((name + suffix, model))
        }
        return list
    }

    static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return !bytes.isEmpty && bytes.count <= maxNameLength && bytes.allSatisfy { b in
            (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b == 0x2D
        }
    }
}

extension Profile {
    /// Every profile this build can encode and decode, its networks run by `runner`. Register a new
    /// profile here (one line). Building the list costs nothing: networks are decoded on first use.
    public static func registered(runner: NetworkRunner) -> [Profile] {
        [
            .bicubic,
            .tiny(runner: runner),
            .fast(runner: runner),
            .learned(PaperModel.self, enhancer: PaperFullModel.self, enhancerMaxQuality: 90, halfModeRule: .maxBitsPerPixel(0.32), runner: runner)
                .storing(.standard),
        ]
    }

    /// `tiny`: the Cortex-A53-class profile (docs/models.md), with its enhancers for each kind of
    /// full-mode JPEG (each one's `maxQuality` measured by its quantisation run) and, as `fast`,
    /// a RecCNN for each kind of compact JPEG.
    public static func tiny(runner: NetworkRunner) -> Profile {
        .learned(TinyModel.self, enhancer: TinyFullModel.self, enhancerMaxQuality: 75,
                 trellisEnhancer: TinyTrellisFullModel.self, trellisEnhancerMaxQuality: 75,
                 roundedEnhancer: TinyRoundedFullModel.self, roundedEnhancerMaxQuality: 75,
                 halfModeRule: tinyHalfModeRule, runner: runner)
            .withTrellisHalfMode(rounded: .learned(TinyRoundedModel.self, profile: "tiny", runner: runner))
    }

    /// Fitted on training images with scripts/mode-rule.py (docs/modes.md).
    static let tinyHalfModeRule = HalfModeRule.maxQuality(20)

    /// `fast`: the default profile (docs/models.md). Its RecCNN learnt from trellis-quantised
    /// compact JPEGs with ComRec's tables; the one before it (`fast-rounded`) rebuilds the
    /// half-mode files of rounded JPEGs with the standard's tables.
    public static func fast(runner: NetworkRunner) -> Profile {
        .learned(FastModel.self, enhancer: FastFullModel.self, enhancerMaxQuality: fastEnhancerMaxQuality,
                 trellisEnhancer: FastTrellisFullModel.self, trellisEnhancerMaxQuality: 90,
                 roundedEnhancer: FastRoundedFullModel.self, roundedEnhancerMaxQuality: 90,
                 halfModeRule: fastHalfModeRule, runner: runner)
            .withTrellisHalfMode(rounded: .learned(FastRoundedModel.self, profile: "fast", runner: runner))
    }

    /// `fast` without its enhancer for trellis JPEGs with the standard's tables and without its
    /// RecCNN for rounded compact JPEGs with the standard's tables: the profile of a
    /// COMREC_ONLY_FAST board library, which leaves those two networks out to stay within its
    /// size. It writes and reads its own files as `fast` does, restores trellis JPEGs with the
    /// standard's tables with `full` and refuses the files of those two kinds that other builds
    /// wrote (docs/embedding.md, "Choosing what a firmware carries").
    public static func fastWithoutStandardTrellis(runner: NetworkRunner) -> Profile {
        .learned(FastModel.self, enhancer: FastFullModel.self, enhancerMaxQuality: fastEnhancerMaxQuality,
                 roundedEnhancer: FastRoundedFullModel.self, roundedEnhancerMaxQuality: 90,
                 halfModeRule: fastHalfModeRule, runner: runner)
            .withTrellisHalfMode(rounded: nil)
    }

    static let fastEnhancerMaxQuality = 75

    /// The second enhancer that `comrec enhance --effort 3` runs on the output of the profile
    /// called `name`'s `rounded` enhancer, in each of the eight orientations; nil for a profile
    /// without one. Not part of `Profile`: only hosted tools run it, so board libraries, which
    /// never reference it, leave its weights out. Its `maxQuality` is the highest quality at
    /// which it still added to the first pass in its quantisation run (docs/results.md, "A
    /// second pass").
    public static func roundedSecondPass(of name: String, runner: NetworkRunner) -> FullResolutionModel? {
        guard name == "fast" else { return nil }
        return .learned(FastSecondFullModel.self, profile: "fast-second", maxQuality: fastSecondPassMaxQuality, runner: runner)
    }

    static let fastSecondPassMaxQuality = 75
    /// Chosen on training images with scripts/mode-study.py and mode-rule.py: 15 fitted for the
    /// quality bound alone, raised to 20 with the sample trial in place (docs/modes.md).
    static let fastHalfModeRule = HalfModeRule.maxQuality(20)

    /// The registered profiles' names, in registration order (no runner needed to list them).
    public static let names: [String] = registered(runner: .portable).map { $0.name }

    /// The profile `comrec encode` uses when `--profile` is not given, on every machine: `fast`.
    /// The rule is the better profile for the machine (better measured rate-distortion, then
    /// speed); `fast` measures at least as well as `paper` on every validation set with a
    /// seventh of the decode work (docs/models.md, "The default profile").
    public static let defaultName = "fast"

    /// The registered profile called `name`, its networks run by `runner`, if any.
    public static func named(_ name: String, runner: NetworkRunner) -> Profile? {
        registered(runner: runner).first { $0.name == name }
    }
}
