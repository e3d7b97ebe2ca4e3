// `comrec eval` and `comrec encode --bpp` through the built binary.
import ComRecCodec
import ComRecIO
import ComRecTestSupport
import Foundation
import Testing

@Suite struct EvalAndRateControlCLITests {
    @Test func encodeWithBPPWritesTheLargestFileNotAbove() throws {
        let dir = TemporaryDirectory()
        let jpg = dir.file("rate.jpg")
        let result = try CLI.run(["encode", Fixtures.demoImage, "-o", jpg, "--bpp", "0.3"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("quality "), "\(result.stdout)")
        let bytes = readBytes(jpg).count
        #expect(Double(bytes * 8) / Double(768 * 512) <= 0.3)
        #expect(Double(bytes * 8) / Double(768 * 512) > 0.2, "far below the budget: \(bytes) bytes")
    }

    @Test func encodeWithImpossibleBPPFailsClearly() throws {
        let dir = TemporaryDirectory()
        let jpg = dir.file("rate.jpg")
        let tiny = try CLI.run(["encode", Fixtures.demoImage, "-o", jpg, "--bpp", "0.001"])
        #expect(tiny.status == 1)
        #expect(tiny.stderr.contains("even quality 1 gives"), "\(tiny.stderr)")
        #expect(!FileManager.default.fileExists(atPath: jpg))
        let zero = try CLI.run(["encode", Fixtures.demoImage, "-o", jpg, "--bpp", "0"])
        #expect(zero.status == 64, "\(zero.stderr)")
        #expect(zero.stderr.contains("--bpp"))
    }

    @Test func evalWritesJSONAndPlot() throws {
        let dir = TemporaryDirectory()
        let images = dir.file("images")
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        for name in ["rgb-33x17.png", "rgb-7x5.png"] {
            try FileManager.default.copyItem(atPath: Fixtures.path(name), toPath: images + "/" + name)
        }
        let plot = dir.file("rd.svg")
        let result = try CLI.run(["eval", images, "--json", "--jpeg-qualities", "10,50,90",
                                  "--half-qualities", "20,60,95", "--full-qualities", "5,90", "--plot", plot])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let curves = try #require(object["curves"] as? [String: [[String: Any]]])
        let full = Profile.catalogue.filter { !$0.full.isPlainJPEG }.map { $0.name + "-full" }
        #expect(Set(curves.keys) == Set(["jpeg", "jpeg-tables", "jpeg-scans"] + Profile.names + Profile.names.map { $0 + "-auto" } + full))
        #expect(curves["jpeg"]?.map { $0["q"] as? Int } == [10, 50, 90])
        #expect(curves["bicubic-auto"]?.map { $0["q"] as? Int } == [5, 90])
        // Auto mode: the number of half-mode files per point; at quality 90 the budget is far
        // above every crossover rate, so no file is in half mode.
        let halfFiles = try #require(object["half_files"] as? [String: [Int]])
        #expect(halfFiles["bicubic-auto"]?.count == 2 && halfFiles["bicubic-auto"]?.last == 0)
        #expect(halfFiles.values.allSatisfy { $0.allSatisfy { (0...2).contains($0) } })
        for point in curves["bicubic"] ?? [] {
            #expect((point["bpp"] as? Double ?? 0) > 0 && (point["psnr"] as? Double ?? 0) > 10)
            #expect(point["ms_ssim"] is NSNull, "images under 161 pixels have no MS-SSIM")
        }
        #expect(object["images"] as? Int == 2)
        let bd = try #require(object["bd"] as? [String: [String: Any]])
        #expect(bd["bicubic"]?["bd_rate_vs_jpeg"] != nil && bd["bicubic-auto"]?["worst_gain_vs_jpeg_db"] != nil)
        let svg = String(decoding: readBytes(plot), as: UTF8.self)
        #expect(svg.hasPrefix("<svg") && svg.contains("bicubic"))
    }

    @Test func evalModesSelectTheCurves() throws {
        let dir = TemporaryDirectory()
        let images = dir.file("images")
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.path("rgb-33x17.png"), toPath: images + "/a.png")
        let result = try CLI.run(["eval", images, "--json", "--jpeg-qualities", "10,50", "--half-qualities", "20,60",
                                  "--profile", "bicubic", "--modes", "half"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(Set((object["curves"] as? [String: Any])?.keys ?? [:].keys) == ["jpeg", "jpeg-tables", "jpeg-scans", "bicubic"])
        // One baseline scan: no scans-alone curve, the same pixels in files never smaller. With the
        // standard's tables as well: no tables-alone curve, other files for the profile. The plain
        // JPEG curve is the same in all three runs.
        func curves(_ extra: [String]) throws -> [String: [[String: Any]]] {
            let run = try CLI.run(["eval", images, "--json", "--jpeg-qualities", "10,50", "--half-qualities", "20,60",
                                   "--profile", "bicubic", "--modes", "half"] + extra)
            #expect(run.status == 0, "\(run.stderr)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            return try #require(object["curves"] as? [String: [[String: Any]]])
        }
        func values(_ curve: [[String: Any]]?, _ key: String) -> [Double] { curve?.compactMap { $0[key] as? Double } ?? [] }
        let smallest = try #require(object["curves"] as? [String: [[String: Any]]])
        let baseline = try curves(["--scans", "baseline"])
        let standard = try curves(["--scans", "baseline", "--tables", "standard"])
        #expect(Set(baseline.keys) == ["jpeg", "jpeg-tables", "bicubic"])
        #expect(Set(standard.keys) == ["jpeg", "bicubic"])
        #expect(values(baseline["jpeg"], "bpp") == values(smallest["jpeg"], "bpp"))
        #expect(values(standard["jpeg"], "bpp") == values(smallest["jpeg"], "bpp"))
        #expect(values(baseline["bicubic"], "psnr") == values(smallest["bicubic"], "psnr"))
        #expect(values(baseline["bicubic"], "psnr").count == 2)
        #expect(zip(values(smallest["bicubic"], "bpp"), values(baseline["bicubic"], "bpp")).allSatisfy { $0 <= $1 })
        #expect(values(standard["bicubic"], "bpp") != values(baseline["bicubic"], "bpp"))
        let bad = try CLI.run(["eval", images, "--modes", "half,quarter"])
        #expect(bad.status == 64 && bad.stderr.contains("--modes"))
    }

    @Test func evalRefusesAFolderWithoutPNGs() throws {
        let dir = TemporaryDirectory()
        let result = try CLI.run(["eval", dir.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("holds no .png files"), "\(result.stderr)")
        let unknown = try CLI.run(["eval", dir.path, "--profile", "nope"])
        #expect(unknown.status == 64)
    }
}
