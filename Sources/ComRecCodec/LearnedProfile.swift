import ComRecKernels
import ComRecModels

// Learned profiles: generated models (comrec-compile, docs/models.md) as a codec profile. Register
// one in `Profile.registered(runner:)` with one line:
// `.learned(PaperModel.self, enhancer: PaperFullModel.self, halfModeRule: .maxBitsPerPixel(0.5), runner: runner)`.
// The runner (how the networks run: threads, kernel family) is injected by whoever builds the
// profile list; the profile itself only says what to compute.

extension Profile {
    /// The profile of generated model `Model` (half mode) with generated enhancer `Enhancer` (full
    /// mode). Networks are decoded on first use, so registering a profile costs nothing until it
    /// encodes or decodes. (Generic rather than an existential: Embedded Swift has none.)
    public static func learned<Model: GeneratedModel, Enhancer: GeneratedModel>(
        _: Model.Type, enhancer: Enhancer.Type, enhancerMaxQuality: Int = 100, halfModeRule: HalfModeRule,
        runner: NetworkRunner
    ) -> Profile {
        learnedProfile(Model.self, full: .learned(Enhancer.self, profile: Model.source.profile, maxQuality: enhancerMaxQuality, runner: runner),
                       standardTrellis: nil, rounded: nil, halfModeRule: halfModeRule, runner: runner)
    }

    /// The profile of generated model `Model` with two generated enhancers: `Enhancer` for the
    /// full-mode files with ComRec's tables and trellis JPEGs with the standard's, and
    /// `RoundedEnhancer` (profile `<name>-rounded`) for rounded JPEGs with the standard's tables
    /// (`comrec enhance`).
    public static func learned<Model: GeneratedModel, Enhancer: GeneratedModel, RoundedEnhancer: GeneratedModel>(
        _: Model.Type, enhancer: Enhancer.Type, enhancerMaxQuality: Int,
        roundedEnhancer: RoundedEnhancer.Type, roundedEnhancerMaxQuality: Int,
        halfModeRule: HalfModeRule, runner: NetworkRunner
    ) -> Profile {
        let name = Model.source.profile
        return learnedProfile(
            Model.self, full: .learned(Enhancer.self, profile: name, maxQuality: enhancerMaxQuality, runner: runner),
            standardTrellis: nil,
            rounded: .learned(RoundedEnhancer.self, profile: name + "-rounded", maxQuality: roundedEnhancerMaxQuality, runner: runner),
            halfModeRule: halfModeRule, runner: runner)
    }

    /// The profile of generated model `Model` with three generated enhancers (Profile.enhancer(tables:
    /// trellis:)): `Enhancer` for the full-mode files `comrec encode` writes (ComRec's tables),
    /// `TrellisEnhancer` (profile `<name>-trellis`) for trellis-quantised JPEGs with the standard's
    /// tables, and `RoundedEnhancer` (profile `<name>-rounded`) for rounded ones (`comrec enhance`).
    public static func learned<
        Model: GeneratedModel, Enhancer: GeneratedModel, TrellisEnhancer: GeneratedModel, RoundedEnhancer: GeneratedModel
    >(
        _: Model.Type, enhancer: Enhancer.Type, enhancerMaxQuality: Int,
        trellisEnhancer: TrellisEnhancer.Type, trellisEnhancerMaxQuality: Int,
        roundedEnhancer: RoundedEnhancer.Type, roundedEnhancerMaxQuality: Int,
        halfModeRule: HalfModeRule, runner: NetworkRunner
    ) -> Profile {
        let name = Model.source.profile
        return learnedProfile(
            Model.self, full: .learned(Enhancer.self, profile: name, maxQuality: enhancerMaxQuality, runner: runner),
            standardTrellis: .learned(TrellisEnhancer.self, profile: name + "-trellis", maxQuality: trellisEnhancerMaxQuality,
                                      runner: runner),
            rounded: .learned(RoundedEnhancer.self, profile: name + "-rounded", maxQuality: roundedEnhancerMaxQuality, runner: runner),
            halfModeRule: halfModeRule, runner: runner)
    }

    /// The profile of generated model `Model`, whose full mode is plain JPEG (no enhancer yet).
    public static func learned<Model: GeneratedModel>(_: Model.Type, halfModeRule: HalfModeRule, runner: NetworkRunner) -> Profile {
        learnedProfile(Model.self, full: .plainJPEG, standardTrellis: nil, rounded: nil, halfModeRule: halfModeRule,
                       runner: runner)
    }

    private static func learnedProfile<Model: GeneratedModel>(
        _: Model.Type, full: FullResolutionModel, standardTrellis: FullResolutionModel?, rounded: FullResolutionModel?,
        halfModeRule: HalfModeRule, runner: NetworkRunner
    ) -> Profile {
        let source = Model.source
        precondition(source.rec.role != .enhancer, "\(source.profile): the half-mode model is an enhancer")
        return Profile(
            name: source.profile,
            modelHash: ModelHash(value: source.modelHash),
            summary: source.summary,
            makeCompact: { image throws(ComRecError) in try learnedCompact(Model.model, image, runner) },
            reconstruct: { compact, context throws(ComRecError) in try learnedReconstruct(Model.model, compact, context, runner) },
            full: full, standardTrellis: standardTrellis, rounded: rounded, halfModeRule: halfModeRule,
            networks: LearnedNetworks(model: { Model.model }, runner: runner))
    }

    /// The profile of models built at run time (benchmarks, tests): same code path as the generated ones.
    public static func learned(
        model: LearnedModel, enhancer: LearnedModel? = nil, halfModeRule: HalfModeRule = .maxBitsPerPixel(0.5), runner: NetworkRunner
    ) -> Profile {
        Profile(
            name: model.profile,
            modelHash: ModelHash(value: model.modelHash),
            summary: model.summary,
            makeCompact: { image throws(ComRecError) in try learnedCompact(model, image, runner) },
            reconstruct: { compact, context throws(ComRecError) in try learnedReconstruct(model, compact, context, runner) },
            full: enhancer.map { FullResolutionModel.learned(model: $0, runner: runner) } ?? .plainJPEG,
            halfModeRule: halfModeRule,
            networks: LearnedNetworks(model: { model }, runner: runner))
    }
}

extension HalfResolutionModel {
    /// The pair of generated model `Model` (its ComCNN makes the compact images of the files it
    /// rebuilds), for profile `profile`; `Model`'s profile is `<profile>-rounded`.
    public static func learned<Model: GeneratedModel>(_: Model.Type, profile: String, runner: NetworkRunner) -> HalfResolutionModel {
        let source = Model.source
        precondition(source.rec.role != .enhancer, "\(source.profile): not a half-mode model")
        precondition(source.profile.hasPrefix(profile + "-"), "half-mode model of profile \(source.profile) registered for \(profile)")
        return HalfResolutionModel(
            modelHash: ModelHash(value: source.modelHash), networks: LearnedNetworks(model: { Model.model }, runner: runner),
            makeCompact: { image throws(ComRecError) in try learnedCompact(Model.model, image, runner) },
            reconstruct: { compact, context throws(ComRecError) in try learnedReconstruct(Model.model, compact, context, runner) })
    }
}

extension FullResolutionModel {
    /// The full-resolution model of generated enhancer `Enhancer`, for profile `profile`.
    public static func learned<Enhancer: GeneratedModel>(
        _: Enhancer.Type, profile: String, maxQuality: Int = 100, runner: NetworkRunner
    ) -> FullResolutionModel {
        let source = Enhancer.source
        precondition(source.rec.role == .enhancer, "\(source.profile): the full-mode model is not an enhancer")
        precondition(source.profile == profile, "enhancer of profile \(source.profile) registered for \(profile)")
        return FullResolutionModel(
            modelHash: ModelHash(value: source.modelHash), summary: source.summary, maxQuality: maxQuality,
            networks: LearnedNetworks(model: { Enhancer.model }, runner: runner),
            enhance: { image, _ throws(ComRecError) in try learnedEnhance(Enhancer.model, image, runner) })
    }

    /// The full-resolution model of an enhancer built at run time (benchmarks, tests).
    public static func learned(model: LearnedModel, runner: NetworkRunner) -> FullResolutionModel {
        precondition(model.isEnhancer, "\(model.profile): not an enhancer")
        return FullResolutionModel(
            modelHash: ModelHash(value: model.modelHash), summary: model.summary,
            networks: LearnedNetworks(model: { model }, runner: runner),
            enhance: { image, _ throws(ComRecError) in try learnedEnhance(model, image, runner) })
    }
}

private func learnedEnhance(_ model: LearnedModel, _ image: RGB8Image, _ runner: NetworkRunner) throws(ComRecError) -> RGB8Image {
    try image.transformed(width: image.width, height: image.height) { src, dst throws(AllocationFailure) in
        try model.enhance(image: src, width: image.width, height: image.height, output: dst, runner: runner)
    }
}

private func learnedCompact(_ model: LearnedModel, _ image: RGB8Image, _ runner: NetworkRunner) throws(ComRecError) -> RGB8Image {
    let size = compactSize(width: image.width, height: image.height)
    return try image.transformed(width: size.width, height: size.height) { src, dst throws(AllocationFailure) in
        try model.makeCompact(image: src, width: image.width, height: image.height, compact: dst, runner: runner)
    }
}

private func learnedReconstruct(
    _ model: LearnedModel, _ compact: RGB8Image, _ context: ReconstructionContext, _ runner: NetworkRunner
) throws(ComRecError) -> RGB8Image {
    try compact.transformed(width: context.width, height: context.height) { src, dst throws(AllocationFailure) in
        try model.reconstruct(compact: src, compactWidth: compact.width, compactHeight: compact.height,
                              width: context.width, height: context.height, output: dst, runner: runner)
    }
}
