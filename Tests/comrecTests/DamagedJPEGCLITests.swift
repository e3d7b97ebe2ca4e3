// Damaged JPEG data and the JPEG limits through the built binary: refused by default with one
// line and no output, kept with --lenient and a warning that says which rows may be invented.
import ComRecCodec
import ComRecIO
import ComRecTestSupport
import Foundation
import Testing

@Suite struct DamagedJPEGCLITests {
    let image = Fixtures.image(width: 64, height: 48) { x, y in [UInt8(x * 3), UInt8(y * 5), UInt8((x * y) % 251)] }

    /// A plain JPEG of `image` cut after two thirds of its bytes.
    func truncatedJPEG() throws -> [UInt8] {
        let whole = try LibJPEG().encode(image, settings: JPEGSettings(quality: 90), segments: [])
        return Array(whole.prefix(whole.count * 2 / 3))
    }

    @Test func damagedInputIsRefusedUnlessLenient() throws {
        let dir = TemporaryDirectory()
        let input = dir.write("cut.jpg", try truncatedJPEG())
        for command in ["encode", "enhance"] {
            let output = dir.file("strict-\(command).out")
            let strict = try CLI.run([command, input, "-o", output])
            #expect(strict.status == 1)
            #expect(strict.stderrLines.count == 1 && strict.stderr.contains("Premature end of JPEG file"), "\(strict.stderr)")
            #expect(!FileManager.default.fileExists(atPath: output))

            let kept = dir.file("lenient-\(command).out")
            let lenient = try CLI.run([command, input, "-o", kept, "--lenient"])
            #expect(lenient.status == 0, "\(lenient.stderr)")
            #expect(lenient.stderrLines.count == 1)
            #expect(lenient.stderr.hasPrefix("comrec: warning: \(input): damaged JPEG data kept by --lenient: Premature end of JPEG file"))
            #expect(lenient.stderr.contains("may hold pixels that are not in the file"))
            #expect(FileManager.default.fileExists(atPath: kept))
        }
    }

    @Test func damagedComRecFileIsRefusedUnlessLenient() throws {
        let dir = TemporaryDirectory()
        let whole = dir.file("whole.jpg")
        let encode = try CLI.run(["encode", dir.write("in.ppm", PNM.encode(image)), "-o", whole, "--profile", "bicubic", "--mode", "half"])
        #expect(encode.status == 0, "\(encode.stderr)")
        let bytes = readBytes(whole)
        let cut = dir.write("cut.jpg", Array(bytes.prefix(bytes.count - 40)))
        let strict = try CLI.run(["decode", cut, "-o", dir.file("strict.png")])
        #expect(strict.status == 1 && strict.stderr.contains("Premature end of JPEG file"), "\(strict.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("strict.png")))
        let lenient = try CLI.run(["decode", cut, "-o", dir.file("lenient.png"), "--lenient"])
        #expect(lenient.status == 0, "\(lenient.stderr)")
        #expect(lenient.stderr.contains("damaged JPEG data kept by --lenient"))
        #expect(try readImage(path: dir.file("lenient.png")).width == image.width)
    }

    @Test func limitsAreOptions() throws {
        let dir = TemporaryDirectory()
        let marked = try LibJPEG().encode(
            image, settings: JPEGSettings(quality: 80, scans: .progressive),
            segments: [JPEGSegment(marker: 0xE5, payload: Array("note".utf8))])
        let input = dir.write("marked.jpg", marked)
        let segments = try CLI.run(["encode", input, "-o", dir.file("a.jpg"), "--max-segments", "0"])
        #expect(segments.status == 1 && segments.stderr.contains("more than 0 APPn or COM segments"), "\(segments.stderr)")
        let bytes = try CLI.run(["encode", input, "-o", dir.file("b.jpg"), "--max-segment-bytes", "3"])
        #expect(bytes.status == 1 && bytes.stderr.contains("more than 3 bytes of APPn or COM segments"), "\(bytes.stderr)")
        let scans = try CLI.run(["encode", input, "-o", dir.file("c.jpg"), "--max-scans", "2"])
        #expect(scans.status == 1 && scans.stderr.contains("more than 2 scans"), "\(scans.stderr)")
        let fine = try CLI.run(["encode", input, "-o", dir.file("d.jpg"), "--max-scans", "10", "--max-segments", "2"])
        #expect(fine.status == 0, "\(fine.stderr)")
        let bad = try CLI.run(["decode", input, "-o", dir.file("e.png"), "--max-scans", "0"])
        #expect(bad.status != 0 && bad.stderr.contains("--max-scans must be at least 1"))
        #expect(dir.names.sorted() == ["d.jpg", "marked.jpg"])
    }
}

@Suite struct MaxMemoryCLITests {
    /// --max-memory lowers the pixel limit to what fits; sizes take K, M and G.
    @Test func maxMemoryLowersThePixelLimit() throws {
        let dir = TemporaryDirectory()
        let input = Fixtures.path("rgb-33x17.png")  // 561 pixels
        let perPixel = wholeImageEncodeBytesPerPixel(effort: 1)
        let refused = try CLI.run(["encode", input, "-o", dir.file("a.jpg"), "--max-memory", "4K"])
        #expect(refused.status == 1 && refused.stderr.contains("over the limit of \(4096 / perPixel) pixels"), "\(refused.stderr)")
        #expect(refused.stderr.contains("--max-memory"))
        let fits = try CLI.run(["encode", input, "-o", dir.file("b.jpg"), "--max-memory", "\(561 * perPixel / 1024 + 1)k"])
        #expect(fits.status == 0, "\(fits.stderr)")
        for bad in ["0", "-5", "12Q", "1.5G", "99999999999G"] {
            let result = try CLI.run(["encode", input, "-o", dir.file("c.jpg"), "--max-memory", bad])
            #expect(result.status != 0 && result.stderr.contains("--max-memory"), "\(bad): \(result.stderr)")
        }
        #expect(dir.names == ["b.jpg"])
    }
}

/// cjpeg on PATH (Debian: libjpeg-turbo-progs, which scripts/setup.sh installs), or nil.
let cjpegPath: String? = ["/usr/bin/cjpeg", "/usr/local/bin/cjpeg"].first { FileManager.default.isExecutableFile(atPath: $0) }

@Suite struct ArithmeticJPEGCLITests {
    /// An arithmetic-coded JPEG's header is read (info) but its pixels are refused unless
    /// --allow-arithmetic asks for them.
    @Test(.enabled(if: cjpegPath != nil, "cjpeg is not installed (libjpeg-turbo-progs): scripts/setup.sh installs it"))
    func arithmeticCodingIsAnOptIn() throws {
        let dir = TemporaryDirectory()
        let image = Fixtures.image(width: 40, height: 24) { x, y in [UInt8(x * 6), UInt8(y * 9), 77] }
        let ppm = dir.write("in.ppm", PNM.encode(image))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: cjpegPath!)
        process.arguments = ["-arithmetic", "-outfile", dir.file("arith.jpg"), ppm]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let input = dir.file("arith.jpg")
        let refused = try CLI.run(["encode", input, "-o", dir.file("a.jpg")])
        #expect(refused.status == 1 && refused.stderrLines.count == 1 && refused.stderr.contains("arithmetic-coded"), "\(refused.stderr)")
        let allowed = try CLI.run(["encode", input, "-o", dir.file("b.jpg"), "--allow-arithmetic"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        let enhanced = try CLI.run(["enhance", input, "-o", dir.file("c.png"), "--allow-arithmetic"])
        #expect(enhanced.status == 0, "\(enhanced.stderr)")
        #expect(dir.names.sorted() == ["arith.jpg", "b.jpg", "c.png", "in.ppm"])
    }
}
