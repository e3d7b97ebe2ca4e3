// comRecFile (a ComRec file from a compact image made once) and rate control (`--bpp`).
import ComRecCodec
import ComRecIO
import ComRecTestModels
import Foundation
import XCTest

final class RateControlTests: XCTestCase {
    let image = RGB8Image(width: 96, height: 64, pixels: goldenSyntheticImage(width: 96, height: 64, seed: 3))

    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "comrec-rate-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testComRecFileIsWhatThePipelineWrites() throws {
        for profile in [Profile.bicubic] {
            for q in [1, 37, 100] {
                let settings = JPEGSettings(quality: q)
                let expected = try ComRecPipeline(jpeg: LibJPEG()).encode(image, profile: profile, settings: settings)
                let got = try comRecFile(compact: profile.makeCompact(image), width: image.width, height: image.height,
                                         profile: profile, settings: settings, jpeg: LibJPEG())
                XCTAssertEqual(got, expected, "quality \(q)")
            }
        }
    }

    func testSearchFindsTheLargestFittingQuality() {
        let sizes = (0...100).map { 1000 + 37 * $0 }  // increasing with quality
        for budget in [999, 1000, 1036, 1037, 2000, 4700, 10000] {
            var calls = 0
            let found = largestFileNotAbove(maxBytes: budget) { q -> [UInt8] in
                calls += 1
                return [UInt8](repeating: 0, count: sizes[q])
            }
            let expected = (1...100).last { sizes[$0] <= budget }
            XCTAssertEqual(found?.quality, expected, "budget \(budget)")
            XCTAssertLessThanOrEqual(calls, 7)
        }
    }

    func testEncodeWithBPPWritesTheLargestFileNotAbove() throws {
        let dir = try temporaryDirectory()
        let input = dir + "/in.ppm"
        try Data("P6\n96 64\n255\n".utf8 + image.pixels).write(to: URL(fileURLWithPath: input))
        let pixels = Double(image.width * image.height)
        for target in [0.6, 1.0, 2.5] {
            let output = dir + "/out-\(target).jpg"
            let chosen = try encodeFile(input: input, output: output, options: EncodeOptions(), maxBitsPerPixel: target)
            let written = readFile(output)
            XCTAssertEqual(written.count, chosen.report.fileBytes)
            XCTAssertLessThanOrEqual(Double(written.count * 8) / pixels, target)
            if chosen.quality < 100 {
                let profile = EncodeOptions().profile  // what encodeFile used
                let next = try comRecFile(compact: profile.makeCompact(image), width: 96, height: 64, profile: profile,
                                          settings: JPEGSettings(quality: chosen.quality + 1), jpeg: LibJPEG())
                XCTAssertGreaterThan(Double(next.count * 8) / pixels, target, "quality \(chosen.quality + 1) also fits")
            }
            XCTAssertEqual(try inspectFile(output).segment.quality, chosen.quality)
        }
    }

    func testRefusesABudgetBelowQualityOne() throws {
        let dir = try temporaryDirectory()
        let input = dir + "/in.ppm", output = dir + "/out.jpg"
        try Data("P6\n96 64\n255\n".utf8 + image.pixels).write(to: URL(fileURLWithPath: input))
        XCTAssertThrowsError(try encodeFile(input: input, output: output, options: EncodeOptions(), maxBitsPerPixel: 0.01)) { error in
            XCTAssertTrue("\(error)".contains("even quality 1 gives"), "\(error)")
            XCTAssertTrue("\(error)".hasPrefix(input), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: output), "no output on failure")
    }

    func readFile(_ path: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: path) ?? Data()) }
}
