import ComRecCodec
import ComRecKernels
import ComRecModels
import ComRecRuntime
import ComRecTestModels
import Foundation

/// The package root (tests may run from any directory).
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

/// The learned profiles under test, their networks run by `runner`: the synthetic test models,
/// then every registered learned profile (all but `bicubic`).
func learnedProfiles(runner: NetworkRunner) -> [Profile] {
    [
        Profile.learned(TestPaperModel.self, enhancer: TestPaperFullModel.self, halfModeRule: .maxBitsPerPixel(0.5), runner: runner),
        Profile.learned(TestFastModel.self, enhancer: TestFastFullModel.self, halfModeRule: .maxBitsPerPixel(0.5), runner: runner),
    ]
        + Profile.registered(runner: runner).filter { $0.name != "bicubic" }
}

/// The runner of a golden-test setting: a new pool of `threads` threads with family `isa`, direct
/// or Winograd forced.
func runner(threads: Int, isa: KernelISA, tileHeight: Int, algorithms: ConvAlgorithmPolicy) -> NetworkRunner {
    NetworkRunner.threaded(pool: ThreadPool(threads: threads), isa: isa, tileHeight: tileHeight, algorithms: algorithms)
}

/// One case of Fixtures/golden/<profile>.json.
struct GoldenCase: Decodable {
    var width: Int
    var height: Int
    var image_seed: Int
    var decoded_seed: Int
    var compact_sha256: String
    var reconstructed_sha256: String
}

struct GoldenFile: Decodable {
    var profile: String
    var int8_safetensors_sha256: String
    var cases: [GoldenCase]

    static func load(_ profile: String) throws -> GoldenFile {
        let path = packageRoot + "/Fixtures/golden/\(profile).json"
        return try JSONDecoder().decode(GoldenFile.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

/// The environment's runner (COMREC_THREADS, COMREC_ISA), as the CLI uses it.
let hostedRunner: NetworkRunner = {
    do { return try NetworkRunner.shared() } catch { fatalError("COMREC_ISA: \(error)") }
}()
