import ComRecModels

// Learned profiles: a generated model (comrec-compile, docs/models.md) as a codec profile. Register
// one in `Profile.all` with one line: `.learned(PaperModel.self)`.

extension Profile {
    /// The profile of generated model `Model`. Its networks are decoded on first use, so
    /// registering a profile costs nothing until it encodes or decodes.
    public static func learned<Model: GeneratedModel>(_: Model.Type) -> Profile {
        let source = Model.source
        return Profile(
            name: source.profile,
            modelHash: ModelHash(value: source.modelHash),
            summary: source.summary,
            makeCompact: { image in learnedCompact(Model.model, image) },
            reconstruct: { compact, context in learnedReconstruct(Model.model, compact, context) })
    }

    /// The profile of a model built at run time (benchmarks, tests): same code path as `learned(_:)`.
    public static func learned(model: LearnedModel) -> Profile {
        Profile(
            name: model.profile,
            modelHash: ModelHash(value: model.modelHash),
            summary: model.summary,
            makeCompact: { image in learnedCompact(model, image) },
            reconstruct: { compact, context in learnedReconstruct(model, compact, context) })
    }
}

private func learnedCompact(_ model: LearnedModel, _ image: RGB8Image) -> RGB8Image {
    let size = compactSize(width: image.width, height: image.height)
    var compact = RGB8Image(width: size.width, height: size.height)
    image.pixels.withUnsafeBufferPointer { src in
        compact.pixels.withUnsafeMutableBufferPointer { dst in
            model.makeCompact(image: src.baseAddress!, width: image.width, height: image.height, compact: dst.baseAddress!)
        }
    }
    return compact
}

private func learnedReconstruct(_ model: LearnedModel, _ compact: RGB8Image, _ context: ReconstructionContext) -> RGB8Image {
    var out = RGB8Image(width: context.width, height: context.height)
    compact.pixels.withUnsafeBufferPointer { src in
        out.pixels.withUnsafeMutableBufferPointer { dst in
            model.reconstruct(
                compact: src.baseAddress!, compactWidth: compact.width, compactHeight: compact.height,
                width: context.width, height: context.height, output: dst.baseAddress!)
        }
    }
    return out
}
