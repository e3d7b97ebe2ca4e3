import ComRecCodec
import ComRecModels
import ComRecTestModels
import Foundation

/// The package root (tests may run from any directory).
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

/// The learned profiles under test: the synthetic test models, then every registered learned
/// profile (all but `bicubic`).
let learnedProfiles: [Profile] = [
    Profile.learned(TestPaperModel.self, enhancer: TestPaperFullModel.self, halfModeMaxBitsPerPixel: 0.5),
    Profile.learned(TestFastModel.self, enhancer: TestFastFullModel.self, halfModeMaxBitsPerPixel: 0.5),
]
    + Profile.all.filter { $0.name != "bicubic" }

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
