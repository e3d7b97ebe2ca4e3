// The Swift runtime against the numpy integer reference's golden hashes (Fixtures/golden/,
// Training/comrec_train/golden.py): every learned profile, through the codec profile, on every
// kernel family this CPU supports, 1, 2 and 3 threads and several tile heights; the test models
// also through the single-threaded runner of Embedded builds and the scalar reference.
import ComRecCodec
import ComRecKernels
import ComRecModels
import ComRecRuntime
import ComRecTestModels
import Foundation
import Testing

@Suite struct GoldenTests {
    /// The golden case's input image and its synthetic decoded compact image.
    func inputs(_ c: GoldenCase) -> (image: RGB8Image, decoded: RGB8Image) {
        let cw = (c.width + 1) / 2, ch = (c.height + 1) / 2
        return (try! RGB8Image(width: c.width, height: c.height,
                          pixels: goldenSyntheticImage(width: c.width, height: c.height, seed: c.image_seed)),
                try! RGB8Image(width: cw, height: ch, pixels: goldenSyntheticImage(width: cw, height: ch, seed: c.decoded_seed)))
    }

    @Test func syntheticImageMatchesThePythonFormula() throws {
        // The literal values of Training/tests/test_test_models.py::test_synthetic_image_is_pinned.
        let image = goldenSyntheticImage(width: 13, height: 7, seed: 9)
        #expect(Array(image[0..<3]) == [64, 86, 84])
        #expect(Array(image[(6 * 13 + 12) * 3..<(6 * 13 + 12) * 3 + 3]) == [255, 239, 255])
        #expect(Array(image[(3 * 13 + 5) * 3..<(3 * 13 + 5) * 3 + 3]) == [93, 95, 121])
        #expect(hex(sha256(image)) == "15c7cf197bf290bcf9831633c0ec5d53b7ab29f38d732ab8def82f24dc052a2f")
    }

    @Test func everyLearnedProfileHasGoldenVectorsAndEveryFileAProfile() throws {
        let names = Set(learnedProfiles(runner: .portable).flatMap { $0.halfModels.map { $0.name } })
        let files = try FileManager.default.contentsOfDirectory(atPath: packageRoot + "/Fixtures/golden")
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }
        #expect(Set(files) == names, "run `python -m comrec_train.golden` for each model folder (docs/models.md)")
    }

    /// (threads, tile height) settings: every thread count with one tile per thread, and tiles
    /// thinner than the receptive field (a halo of up to 19 rows in `paper`).
    static let settings = [(1, 0), (2, 0), (3, 0), (1, 3), (2, 1), (3, 5)]

    /// The grid for `profile` and `isa`. The test models take all of it; a real profile, about
    /// 100 times larger, takes one thread, two threads with one tile each, and three threads with
    /// 1-row tiles, on every case and every kernel family (the kernels are optimised in debug builds
    /// too, Package.swift).
    func grid(_ profile: Profile, _ isa: KernelISA, _ cases: [GoldenCase]) -> (settings: [(Int, Int)], cases: [GoldenCase]) {
        if profile.name.hasPrefix("test-") { return (Self.settings, cases) }
        return ([(1, 0), (2, 0), (3, 1)], cases)
    }

    /// Every half-mode model of every profile (`Profile.halfModels`: its own, and `roundedHalf`
    /// under `<profile>-rounded`) against its golden file; each pair's compact image is made by
    /// its own ComCNN.
    @Test func profilesOnEveryKernelFamilyThreadCountAndTileHeight() throws {
        for listed in learnedProfiles(runner: .portable) {
            for (index, half) in listed.halfModels.enumerated() {
                let golden = try GoldenFile.load(half.name)
                for isa in KernelISA.supported {
                    let (settings, cases) = grid(listed, isa, golden.cases)
                    for (threads, tileHeight) in settings {
                        for algorithms in [ConvAlgorithmPolicy.direct, .winograd] {
                            let runner = runner(threads: threads, isa: isa, tileHeight: tileHeight, algorithms: algorithms)
                            let profile = learnedProfiles(runner: runner).first { $0.name == listed.name }!
                            let model = profile.halfModels[index].model
                            let setting = "\(half.name), \(isa.rawValue) \(algorithms.name), \(threads) threads, tile height \(tileHeight)"
                            for c in cases {
                                let (image, decoded) = inputs(c)
                                #expect(try hex(sha256((model.makeCompact ?? profile.makeCompact)(image).pixels)) == c.compact_sha256,
                                        "compact \(c.width)x\(c.height), \(setting)")
                                let context = ReconstructionContext(width: c.width, height: c.height, quality: 50)
                                #expect(try hex(sha256(model.reconstruct(decoded, context).pixels)) == c.reconstructed_sha256,
                                        "reconstructed \(c.width)x\(c.height), \(setting)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// The Embedded build's runner (one thread, portable kernels) and the scalar reference run of
    /// the canonical layers, on the test models.
    @Test func serialRunnerAndReferenceOnTestModels() throws {
        for model in [TestPaperModel.model, TestFastModel.model] {
            let golden = try GoldenFile.load(model.profile)
            for c in golden.cases {
                let (image, decoded) = inputs(c)
                let cw = decoded.width, ch = decoded.height
                for tileHeight in [0, 3] {
                    let runner = NetworkRunner.serial(PortableConv3x3.self, family: "portable", tileHeight: tileHeight)
                    var compact = [UInt8](repeating: 0, count: cw * ch * 3)
                    try model.makeCompact(image: Array(image.pixels), width: c.width, height: c.height, compact: &compact, runner: runner)
                    #expect(hex(sha256(compact)) == c.compact_sha256, "\(model.profile) compact \(c.width)x\(c.height)")
                    var out = [UInt8](repeating: 0, count: c.width * c.height * 3)
                    try model.reconstruct(compact: Array(decoded.pixels), compactWidth: cw, compactHeight: ch,
                                      width: c.width, height: c.height, output: &out, runner: runner)
                    #expect(hex(sha256(out)) == c.reconstructed_sha256, "\(model.profile) reconstructed \(c.width)x\(c.height)")
                }
                #expect(hex(sha256(referenceReconstruct(model, decoded, c.width, c.height))) == c.reconstructed_sha256,
                        "\(model.profile) reference \(c.width)x\(c.height)")
            }
        }
    }

    /// RecCNN with the scalar reference operators and canonical weights.
    func referenceReconstruct(_ model: LearnedModel, _ decoded: RGB8Image, _ width: Int, _ height: Int) -> [UInt8] {
        var up = [UInt8](repeating: 0, count: width * height * 3)
        upsample2xBicubic(src: Array(decoded.pixels), srcWidth: decoded.width, srcHeight: decoded.height, channels: 3,
                          dst: &up, dstWidth: width, rows: 0..<height)
        var out = [UInt8](repeating: 0, count: width * height * 3)
        let input = model.rec.role == .reccnnDecoded ? decoded : try! RGB8Image(width: width, height: height, pixels: up)
        runNetworkReference(layers: model.rec.canonical, input: Array(input.pixels), width: input.width, height: input.height,
                            base: up, output: &out, outputWidth: width, outputHeight: height)
        return out
    }
}
