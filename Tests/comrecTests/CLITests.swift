import ComRecCodec
import ComRecIO
import ComRecRuntime
import ComRecTestSupport
import Foundation
import Testing

@Suite struct CLITests {
    @Test func binaryIsBuilt() {
        #expect(FileManager.default.isExecutableFile(atPath: CLI.binary), "\(CLI.binary)")
    }

    @Test func encodeInfoDecode() throws {
        let dir = TemporaryDirectory()
        let jpg = dir.file("demo.jpg"), png = dir.file("demo.png")
        let encode = try CLI.run(["encode", Fixtures.demoImage, "-o", jpg, "--quality", "60", "--mode", "half"])
        #expect(encode.status == 0, "\(encode.stderr)")
        #expect(encode.stdout.contains("768 x 512") && encode.stdout.contains("bpp") && encode.stdout.contains("half mode"))

        let info = try CLI.run(["info", jpg, "--json"])
        #expect(info.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        #expect(object["formatVersion"] as? Int == 2 && object["mode"] as? String == "half")
        let profile = try #require(Profile.named(Profile.defaultName, runner: .portable))
        #expect(object["profile"] as? String == profile.name)
        #expect(object["modelHash"] as? String == profile.modelHash.description)
        #expect(object["modelStatus"] as? String == "available")
        #expect(object["width"] as? Int == 768 && object["height"] as? Int == 512)
        #expect(object["storedWidth"] as? Int == 384 && object["storedHeight"] as? Int == 256)
        #expect(object["storedQuality"] as? Int == 60 && object["decoder"] as? String == "network")
        #expect(object["fileBytes"] as? Int == readBytes(jpg).count)
        #expect((object["bitsPerPixel"] as? Double ?? 0) > 0)

        let text = try CLI.run(["info", jpg])
        #expect(text.status == 0 && text.stdout.contains("quality 60") && text.stdout.contains(profile.name))
        #expect(text.stdout.contains("mode            half"))

        let decode = try CLI.run(["decode", jpg, "-o", png])
        #expect(decode.status == 0, "\(decode.stderr)")
        let image = try readImage(path: png)
        #expect(image.width == 768 && image.height == 512)
        #expect(Set(dir.names) == ["demo.jpg", "demo.png"])
    }

    /// `--mode auto` (the default): at a high quality budget the file is the plain JPEG of the
    /// image in full mode, at one too low for full mode the compact image in half mode; `info`
    /// says which.
    @Test func autoModePicksByTheBudget() throws {
        let dir = TemporaryDirectory()
        let high = dir.file("high.jpg"), low = dir.file("low.jpg")
        let encodeHigh = try CLI.run(["encode", Fixtures.demoImage, "-o", high, "--quality", "90"])
        #expect(encodeHigh.status == 0 && encodeHigh.stdout.contains("full mode"), "\(encodeHigh.stdout)\(encodeHigh.stderr)")
        let encodeLow = try CLI.run(["encode", Fixtures.demoImage, "-o", low, "--bpp", "0.1"])
        #expect(encodeLow.status == 0 && encodeLow.stdout.contains("half mode"), "\(encodeLow.stdout)\(encodeLow.stderr)")
        let info = try CLI.run(["info", high, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        #expect(object["mode"] as? String == "full")
        #expect(object["storedWidth"] as? Int == 768 && object["storedHeight"] as? Int == 512 && object["storedQuality"] as? Int == 90)
        let decode = try CLI.run(["decode", high, low, "-o", dir.file("out")])
        #expect(decode.status == 0, "\(decode.stderr)")
        let effort = try CLI.run(["encode", Fixtures.demoImage, "-o", dir.file("e.jpg"), "--bpp", "0.5", "--effort", "2"])
        #expect(effort.status == 0 && effort.stdout.contains("effort 2"), "\(effort.stdout)\(effort.stderr)")
        let refused = try CLI.run(["encode", Fixtures.demoImage, "-o", dir.file("x.jpg"), "--mode", "half", "--effort", "2"])
        #expect(refused.status != 0 && refused.stderr.contains("--effort 2 tries both modes"))
        let unknown = try CLI.run(["encode", Fixtures.demoImage, "-o", dir.file("x.jpg"), "--mode", "third"])
        #expect(unknown.status != 0 && unknown.stderr.contains("'third' is invalid for '--mode <mode>'"))
        for other in ["baseline", "smallest"] {
            let clash = try CLI.run(["encode", Fixtures.demoImage, "-o", dir.file("x.jpg"), "--progressive", "--scans", other])
            #expect(clash.status == 64 && clash.stderr.contains("--progressive is --scans progressive; it cannot go with --scans \(other)"),
                    "\(clash.stderr)")
        }
        let scans = try CLI.run(["encode", Fixtures.demoImage, "-o", dir.file("x.jpg"), "--scans", "interlaced"])
        #expect(scans.status == 64 && scans.stderr.contains("'interlaced' is invalid for '--scans"), "\(scans.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("x.jpg")))
    }

    /// `comrec enhance` refuses ComRec files and, in a build without any enhancer, says so as a
    /// usage error; with one, it writes a PNG of the JPEG's size.
    @Test func enhanceRestoresPlainJPEGsOnly() throws {
        let dir = TemporaryDirectory()
        let plain = dir.write("plain.jpg", Crafting.plainJPEG())
        let result = try CLI.run(["enhance", plain, "-o", dir.file("plain.png")])
        if Profile.catalogue.allSatisfy({ $0.full.isPlainJPEG }) {
            #expect(result.status == 64 && result.stderr.contains("no profile of this build has a full-resolution enhancer"),
                    "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.file("plain.png")))
        } else {
            #expect(result.status == 0 && result.stdout.contains("libjpeg tables of quality 80"), "\(result.stdout)\(result.stderr)")
            let image = try readImage(path: dir.file("plain.png"))
            #expect(image.width == Crafting.sampleImage.width && image.height == Crafting.sampleImage.height)
            let comrec = dir.write("comrec.jpg", Crafting.comrecFile())
            let refused = try CLI.run(["enhance", comrec, "-o", dir.file("comrec.png")])
            #expect(refused.status == 1 && refused.stderr.contains("is a ComRec file"))
            let plainLow = dir.write("low.jpg", try LibJPEG().encode(Crafting.sampleImage, settings: JPEGSettings(quality: 20), segments: []))
            let ensemble = try CLI.run(["enhance", plainLow, "-o", dir.file("low.png"), "--effort", "2"])
            #expect(ensemble.status == 0 && ensemble.stdout.contains("in 8 orientations"), "\(ensemble.stdout)\(ensemble.stderr)")
            // Effort 3: the second enhancer of the profile that has one; refused for the others.
            for profile in Profile.catalogue.filter({ !$0.rounded.isPlainJPEG }).map(\.name) {
                let out = dir.file("\(profile)-e3.png")
                let twice = try CLI.run(["enhance", plainLow, "-o", out, "--effort", "3", "--profile", profile])
                if let second = Profile.roundedSecondPass(of: profile, runner: .portable) {
                    #expect(twice.status == 0 && twice.stdout.contains("in 8 orientations, two passes"), "\(twice.stdout)\(twice.stderr)")
                    #expect(try readImage(path: out) != readImage(path: dir.file("low.png")), "the second pass changes pixels")
                    // Above the second enhancer's qualities only the first runs; --quality decides.
                    let above = second.maxQuality + 1
                    let high = dir.write("q\(above).jpg", try LibJPEG().encode(
                        Crafting.sampleImage, settings: JPEGSettings(quality: above), segments: []))
                    let once = try CLI.run(["enhance", high, "-o", dir.file("\(profile)-high.png"), "--effort", "3", "--profile", profile])
                    #expect(once.status == 0 && once.stdout.contains(
                        "in 8 orientations, one pass: quality \(above) is above the second enhancer's \(second.maxQuality)"),
                            "\(once.stdout)\(once.stderr)")
                    let given = try CLI.run(["enhance", high, "-o", dir.file("\(profile)-given.png"), "--effort", "3", "--profile", profile,
                                             "--quality", "\(second.maxQuality)"])
                    #expect(given.status == 0 && given.stdout.contains("two passes"), "\(given.stdout)\(given.stderr)")
                    // Effort 3 needs more memory per pixel than effort 2 (WorkingMemory).
                    let pixels = Crafting.sampleImage.width * Crafting.sampleImage.height
                    let budget = "\(pixels * WorkingMemory.enhanceEffort2BytesPerPixel)"
                    #expect(WorkingMemory.enhanceEffort3BytesPerPixel > WorkingMemory.enhanceEffort2BytesPerPixel)
                    let two = try CLI.run(["enhance", plainLow, "-o", dir.file("\(profile)-m2.png"), "--effort", "2",
                                           "--profile", profile, "--max-memory", budget])
                    #expect(two.status == 0, "\(two.stderr)")
                    let three = try CLI.run(["enhance", plainLow, "-o", dir.file("\(profile)-m3.png"), "--effort", "3",
                                             "--profile", profile, "--max-memory", budget])
                    #expect(three.status == 1 && three.stderr.contains("--max-memory"), "\(three.stderr)")
                    #expect(!FileManager.default.fileExists(atPath: dir.file("\(profile)-m3.png")))
                } else {
                    #expect(twice.status == 64 && twice.stderr.contains("--effort 3 needs a second enhancer, which profile \(profile) does not have"),
                            "\(twice.stderr)")
                    #expect(!FileManager.default.fileExists(atPath: out))
                }
            }
        }
        let badEffort = try CLI.run(["enhance", plain, "-o", dir.file("e.png"), "--effort", "4"])
        #expect(badEffort.status == 64 && badEffort.stderr.contains("--effort must be 1, 2 or 3, not 4"), "\(badEffort.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("e.png")))
        let badProfile = try CLI.run(["enhance", plain, "-o", dir.file("b.png"), "--profile", "bicubic"])
        #expect(badProfile.status == 64 && badProfile.stderr.contains("profile bicubic has no full-resolution enhancer"))
    }

    @Test func existingOutputNeedsForce() throws {
        let dir = TemporaryDirectory()
        let out = dir.write("out.jpg", Array("keep me".utf8))
        let refused = try CLI.run(["encode", Fixtures.path("rgb-7x5.png"), "-o", out])
        #expect(refused.status == 1)
        #expect(refused.stderrLines == ["comrec: error: \(out): already exists; pass --force to replace it"])
        #expect(readBytes(out) == Array("keep me".utf8))
        let forced = try CLI.run(["encode", Fixtures.path("rgb-7x5.png"), "-o", out, "--force"])
        #expect(forced.status == 0)
        #expect(try inspectFile(out).segment.width == 7)
        #expect(dir.names == ["out.jpg"])
    }

    @Test(arguments: BadInput.all)
    func badInput(_ bad: BadInput) throws {
        let dir = TemporaryDirectory()
        let input = bad.contents.map { dir.write(bad.fileName, $0) } ?? dir.file(bad.fileName)
        let output = dir.file("out." + (bad.command == .encode ? "jpg" : "png"))
        let before = dir.names
        var arguments = [bad.command.rawValue, input, "-o", output]
        if let limit = bad.maxPixels { arguments += ["--max-pixels", String(limit)] }
        let result = try CLI.run(arguments)
        #expect(result.status == 1)
        #expect(result.stderrLines.count == 1, "\(result.stderr)")
        let line = result.stderrLines.first ?? ""
        #expect(line.hasPrefix("comrec: error: \(input): ") && line.contains(bad.message), "\(line)")
        #expect(result.stdout.isEmpty)
        #expect(dir.names == before)
    }

    @Test func unwritableOutputDirectory() throws {
        let dir = TemporaryDirectory()
        let locked = try #require(unwritableDirectory(in: dir))
        let result = try CLI.run(["encode", Fixtures.path("rgb-7x5.png"), "-o", locked + "/x.jpg"])
        #expect(result.status == 1)
        #expect(result.stderrLines.count == 1)
        #expect(result.stderr.hasPrefix("comrec: error: \(locked)/x.jpg: cannot write to directory \(locked)"))
        let missing = try CLI.run(["decode", dir.write("f.jpg", Crafting.comrecFile()), "-o", dir.file("no/such/dir/x.png")])
        #expect(missing.status == 1 && missing.stderr.contains("does not exist"))
        #expect(dir.names.sorted() == ["f.jpg", "read-only"])
    }

    @Test func batchGoesOnPastABadFileAndSummarises() throws {
        let dir = TemporaryDirectory()
        let bad = dir.write("broken.png", Array("not a png".utf8))
        let out = dir.file("encoded")
        let inputs = [Fixtures.path("rgb-7x5.png"), bad, Fixtures.path("grey-20x12.pgm")]
        let result = try CLI.run(["encode"] + inputs + ["-o", out])
        #expect(result.status == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == ["grey-20x12.jpg", "rgb-7x5.jpg"])
        #expect(result.stderr.contains("comrec: error: \(bad): not a PNG, JPEG or binary PPM/PGM image"))
        #expect(result.stderrLines.last == "comrec: encoded 2 of 3 files; 1 failed: \(bad)")
        #expect(result.stdout.split(separator: "\n").count == 2)

        let decoded = dir.file("decoded")
        let decode = try CLI.run(["decode", out + "/grey-20x12.jpg", out + "/rgb-7x5.jpg", "-o", decoded])
        #expect(decode.status == 0, "\(decode.stderr)")
        #expect(decode.stderrLines.last == "comrec: decoded 2 of 2 files")
        #expect(try readImage(path: decoded + "/rgb-7x5.png").width == 7)
    }

    @Test func batchRefusesTwoInputsWithOneOutputName() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.file("a"), withIntermediateDirectories: false)
        let first = dir.write("rgb-7x5.png", readBytes(Fixtures.path("rgb-7x5.png")))
        let second = dir.write("a/rgb-7x5.ppm", readBytes(Fixtures.path("rgb-7x5.ppm")))
        let result = try CLI.run(["encode", first, second, "-o", dir.file("out"), "--force"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("is also the output of"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("out")) == ["rgb-7x5.jpg"])
    }

    @Test func singleInputIntoADirectory() throws {
        let dir = TemporaryDirectory()
        let result = try CLI.run(["encode", Fixtures.path("rgb-33x17.png"), "-o", dir.path])
        #expect(result.status == 0)
        #expect(dir.names == ["rgb-33x17.jpg"])
    }

    @Test(arguments: [
        ["encode", "x.png", "-o", "y.jpg", "--quality", "0"],
        ["encode", "x.png", "-o", "y.jpg", "--quality", "101"],
        ["encode", "x.png", "-o", "y.jpg", "--profile", "nope"],
        ["encode", "x.png"],
        ["decode", "x.jpg", "-o", "y.png", "--max-pixels", "0"],
        ["decode", "x.jpg", "-o", "y.png", "--png-level", "10"],
        ["decode", "x.jpg", "-o", "y.png", "--png-level", "-1"],
        ["frobnicate"],
    ])
    func usageErrorsExit64(_ arguments: [String]) throws {
        let result = try CLI.run(arguments)
        #expect(result.status == 64, "\(result.stderr)")
    }

    @Test func flattenAlphaOption() throws {
        let dir = TemporaryDirectory()
        let result = try CLI.run(["encode", Fixtures.path("rgba-alpha-12x10.png"), "-o", dir.file("a.jpg"), "--flatten-alpha"])
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func demoPrintsRateAndQuality() throws {
        let dir = TemporaryDirectory()
        let result = try CLI.run(["demo", "--output-dir", dir.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("bits per pixel") && result.stdout.contains("PSNR"))
        #expect(Set(dir.names) == ["demo.jpg", "demo.png"])
        // From another working directory it still finds the bundled image.
        let elsewhere = try CLI.run(["demo"], in: dir.path)
        #expect(elsewhere.status == 0, "\(elsewhere.stderr)")
    }

    /// Interrupted or killed while a file is being encoded: the process dies by that signal and
    /// the output folder stays empty. With SIGKILL no handler runs: only an output file without a
    /// name until it is committed (O_TMPFILE) leaves nothing. A 12-megapixel encode with
    /// --effort 2 works for seconds after its output file is created (about 0.1 s in, once the
    /// input is read), and the signal comes 0.5 s in; the test checks that it was still running.
    @Test func interruptLeavesNoOutputBehind() throws {
        try signalLeavesNoOutputBehind(SIGINT)
    }

    @Test(.enabled(if: unnamedFilesWork(), "this file system has no unnamed files (O_TMPFILE): a killed encode leaves its hidden temporary file"))
    func killLeavesNoOutputBehind() throws {
        try signalLeavesNoOutputBehind(SIGKILL)
    }

    /// Whether AtomicOutput gets an unnamed file in the temporary folder's file system.
    static func unnamedFilesWork() -> Bool {
        let dir = TemporaryDirectory()
        guard let output = try? AtomicOutput(path: dir.file("probe"), force: false) else { return false }
        defer { output.discard() }
        return output.isUnnamed
    }

    func signalLeavesNoOutputBehind(_ signal: Int32) throws {
        let dir = TemporaryDirectory()
        let big = Fixtures.image(width: 4000, height: 3000) { x, y in [UInt8(x & 255), UInt8(y & 255), UInt8((x ^ y) & 255)] }
        let input = dir.write("big.png", try PNG.encode(big))
        let outDir = dir.file("out")
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: false)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["encode", input, "-o", outDir + "/big.jpg", "--bpp", "0.5", "--effort", "2"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        usleep(500_000)
        #expect(process.isRunning, "comrec finished before the signal")
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == signal)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outDir).isEmpty)
    }

    /// `comrec bench --json`: one peak per kernel family and one convolution row per family and
    /// algorithm (direct, Winograd), the network asked for with both algorithms, every figure
    /// measured (positive); no peers with --no-peers. (Structure only: speed is measured by running
    /// the benchmark, never asserted in a test.)
    @Test func benchReportsEveryFamilyAsJSON() throws {
        let result = try CLI.run(["bench", "--json", "--no-peers", "--threads", "1", "--repetitions", "1", "--rounds", "1",
                                  "--width", "32", "--height", "16", "--network", "fast"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let families = KernelISA.supported.map(\.rawValue)
        let peak = try #require(object["peak"] as? [[String: Any]]), conv = try #require(object["conv"] as? [[String: Any]])
        #expect(peak.count == families.count && conv.count == 2 * families.count)
        for row in conv {
            #expect(families.contains(row["isa"] as? String ?? "") && (row["gmacs"] as? Double ?? 0) > 0)
            let kernel = row["kernel"] as? String ?? "", algorithm = row["algorithm"] as? String
            #expect(algorithm == "direct" ? kernel.hasPrefix("conv3x3U7S8_") : algorithm == "winograd" && kernel.hasPrefix("conv3x3WinogradF2x3U7S16_"),
                    "\(algorithm ?? "no algorithm"): \(kernel)")
        }
        let networks = try #require(object["networks"] as? [[String: Any]])
        #expect(networks.map { $0["algorithms"] as? String } == ["direct", "winograd"])
        #expect(networks.allSatisfy { $0["network"] as? String == "fast" && ($0["gmacs"] as? Double ?? 0) > 0 })
        #expect(((object["upsample"] as? [String: Any])?["seconds"] as? Double ?? -1) >= 0)
        #expect((object["peers"] as? [Any])?.isEmpty == true && object["peers_note"] == nil)
        let unknown = try CLI.run(["bench", "--no-peers", "--network", "resnet"])
        #expect(unknown.status == 64 && unknown.stderr.contains("unknown network resnet"))  // refused before measuring
    }

    @Test func helpListsTheSubcommands() throws {
        let result = try CLI.run(["--help"])
        #expect(result.status == 0)
        for name in ["encode", "decode", "info", "demo"] { #expect(result.stdout.contains(name)) }
    }
}
