// Full-resolution enhancers against the numpy integer reference's golden hashes
// (Fixtures/golden/full/, Training/comrec_train/golden.py): the synthetic test enhancers of both
// wirings on every kernel family this CPU supports, 1, 2 and 3 threads and several tile heights,
// through the single-threaded runner of Embedded builds, and through the scalar reference; and the
// shipped enhancers of the registered profiles on every kernel family.
import ComRecCodec
import ComRecCompiler
import ComRecKernels
import ComRecModels
import ComRecRuntime
import ComRecTestModels
import Foundation
import Testing

/// One case of Fixtures/golden/full/<profile>-full.json.
struct EnhancerGoldenCase: Decodable {
    var width: Int
    var height: Int
    var decoded_seed: Int
    var enhanced_sha256: String
}

struct EnhancerGoldenFile: Decodable {
    var profile: String
    var mode: String
    var int8_safetensors_sha256: String
    var cases: [EnhancerGoldenCase]

    static func load(_ name: String) throws -> EnhancerGoldenFile {
        let path = packageRoot + "/Fixtures/golden/full/\(name).json"
        return try JSONDecoder().decode(EnhancerGoldenFile.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

@Suite struct EnhancerGoldenTests {
    /// The test enhancers and their golden files.
    let models: [(LearnedModel, String)] = [(TestPaperFullModel.model, "test-paper-full"), (TestFastFullModel.model, "test-fast-full")]

    func decoded(_ c: EnhancerGoldenCase) -> [UInt8] {
        goldenSyntheticImage(width: c.width, height: c.height, seed: c.decoded_seed)
    }

    @Test func bothWiringsAreCovered() throws {
        #expect(models.allSatisfy { $0.0.isEnhancer && $0.0.com == nil })
        #expect(Set(models.map { $0.0.rec.shapes.last!.kind == .lastConv3x3PixelShuffleResidual }) == [true, false])
        #expect(TestFastFullModel.model.rec.shapes[0].stride == 2)
    }

    @Test func everyKernelFamilyThreadCountAndTileHeight() throws {
        for (model, name) in models {
            let golden = try EnhancerGoldenFile.load(name)
            #expect(golden.mode == "full")
            #expect(golden.profile == model.profile)
            for isa in KernelISA.supported {
                for (threads, tileHeight) in GoldenTests.settings {
                    for algorithms in [ConvAlgorithmPolicy.direct, .winograd] {
                        let runner = runner(threads: threads, isa: isa, tileHeight: tileHeight, algorithms: algorithms)
                        for c in golden.cases {
                            var out = [UInt8](repeating: 0, count: c.width * c.height * 3)
                            try model.enhance(image: decoded(c), width: c.width, height: c.height, output: &out, runner: runner)
                            #expect(hex(sha256(out)) == c.enhanced_sha256,
                                    "\(name) \(c.width)x\(c.height), \(isa.rawValue) \(algorithms.name), \(threads) threads, tile height \(tileHeight)")
                        }
                    }
                }
            }
        }
    }

    /// The shipped enhancers (every one of the registered profiles' `Profile.enhancers`, and their
    /// `Profile.roundedSecondPass`) against Fixtures/golden/full/<name>-full.json (<name>: the
    /// profile, `<profile>-trellis`, `<profile>-rounded` or `<profile>-second`), through their
    /// `enhance` as the codec runs them, on every kernel family,
    /// with GoldenTests' grid of a real profile.
    @Test func shippedEnhancersOnEveryKernelFamily() throws {
        let shipped = Profile.registered(runner: .portable).filter { !$0.full.isPlainJPEG }
        // The profile's enhancers, then its second enhancer for `comrec enhance --effort 3`, if any.
        func enhancers(_ profile: Profile) -> [(name: String, model: FullResolutionModel)] {
            profile.enhancers + (Profile.roundedSecondPass(of: profile.name, runner: profile.networks!.runner).map {
                [(name: profile.name + "-second", model: $0)]
            } ?? [])
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: packageRoot + "/Fixtures/golden/full")
            .filter { $0.hasSuffix(".json") && !$0.hasPrefix("test-") }.map { String($0.dropLast(5)) }
        #expect(Set(files) == Set(shipped.flatMap { enhancers($0).map { $0.name + "-full" } }),
                "run `python -m comrec_train.golden` for each enhancer folder (docs/models.md)")
        for listed in shipped {
            for (index, enhancer) in enhancers(listed).enumerated() {
                let golden = try EnhancerGoldenFile.load(enhancer.name + "-full")
                #expect(golden.profile == enhancer.name)
                #expect(golden.mode == "full")
                for isa in KernelISA.supported {
                    for (threads, tileHeight) in [(1, 0), (2, 0), (3, 1)] {
                        for algorithms in [ConvAlgorithmPolicy.direct, .winograd] {
                            let runner = runner(threads: threads, isa: isa, tileHeight: tileHeight, algorithms: algorithms)
                            let profile = Profile.named(listed.name, runner: runner)!
                            let model = enhancers(profile)[index].model
                            for c in golden.cases {
                                let image = try RGB8Image(width: c.width, height: c.height, pixels: decoded(c))
                                let out = try model.enhance(image, ReconstructionContext(width: c.width, height: c.height, quality: 50))
                                #expect(hex(sha256(out.pixels)) == c.enhanced_sha256,
                                        "\(enhancer.name)-full \(c.width)x\(c.height), \(isa.rawValue) \(algorithms.name), \(threads) threads, tile height \(tileHeight)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// A second enhancer learnt from one first enhancer's output: its model folder's
    /// `second_pass_of` is the folder of the enhancer it follows at run time (`rounded`).
    @Test func secondPassesFollowTheEnhancerTheyLearntFrom() throws {
        var checked = 0
        for profile in Profile.registered(runner: .portable) {
            guard let second = Profile.roundedSecondPass(of: profile.name, runner: .portable) else { continue }
            let folder = try FileManager.default.contentsOfDirectory(atPath: packageRoot + "/Weights").first { name in
                (try? CompiledModel(folder: packageRoot + "/Weights/" + name))?.modelHash == second.modelHash
            }
            let compiled = try CompiledModel(folder: packageRoot + "/Weights/" + #require(folder))
            let first = try CompiledModel(folder: packageRoot + "/Weights/" + #require(compiled.secondPassOf))
            #expect(first.modelHash == profile.rounded.modelHash,
                    "\(profile.name): the second pass learnt from \(compiled.secondPassOf!), not the enhancer comrec enhance runs first")
            checked += 1
        }
        #expect(checked >= 1, "no registered profile has a second enhancer")
    }

    /// The Embedded build's runner (one thread, portable kernels), and the scalar reference
    /// operators on the canonical weights.
    @Test func serialRunnerAndReference() throws {
        for (model, name) in models {
            for c in try EnhancerGoldenFile.load(name).cases {
                let image = decoded(c)
                for tileHeight in [0, 1, 3] {
                    var out = [UInt8](repeating: 0, count: c.width * c.height * 3)
                    try model.enhance(image: image, width: c.width, height: c.height, output: &out,
                                  runner: .serial(PortableConv3x3.self, family: "portable", tileHeight: tileHeight))
                    #expect(hex(sha256(out)) == c.enhanced_sha256, "\(name) \(c.width)x\(c.height) tile height \(tileHeight)")
                }
                #expect(hex(sha256(reference(model, image, c.width, c.height))) == c.enhanced_sha256,
                        "\(name) reference \(c.width)x\(c.height)")
            }
        }
    }

    /// The enhancer with the scalar reference operators: padded to even by replication when a
    /// layer has stride 2, residual onto the unpadded image.
    func reference(_ model: LearnedModel, _ image: [UInt8], _ width: Int, _ height: Int) -> [UInt8] {
        let halves = model.rec.shapes.contains { $0.stride == 2 }
        let pw = halves ? (width + 1) & ~1 : width, ph = halves ? (height + 1) & ~1 : height
        var padded = [UInt8](repeating: 0, count: pw * ph * 3)
        for y in 0..<ph {
            for x in 0..<pw {
                for k in 0..<3 { padded[(y * pw + x) * 3 + k] = image[(min(y, height - 1) * width + min(x, width - 1)) * 3 + k] }
            }
        }
        var out = [UInt8](repeating: 0, count: width * height * 3)
        runNetworkReference(layers: model.rec.canonical, input: padded, width: pw, height: ph,
                            base: image, output: &out, outputWidth: width, outputHeight: height)
        return out
    }

    /// A half-resolution model refuses to enhance, and an enhancer has no compact image: both are
    /// programming errors, so what is checked here is only what the type reports.
    @Test func modelKindsAreReported() throws {
        #expect(!TestFastModel.model.isEnhancer)
        #expect(!TestPaperModel.model.isEnhancer)
        #expect(TestFastFullModel.model.isEnhancer)
    }
}
