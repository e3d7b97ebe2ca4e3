import ComRecCodec
import ComRecIO
import ComRecKernels
import ComRecTestSupport
import Foundation
import Testing

@Suite struct ComRecFilesTests {
    /// A refused allocation ends `encode`, `decode` and `enhance` with one error that names the
    /// input and the bytes, and leaves nothing in the output folder (`enhance` asks for its whole
    /// working memory first, so its refusal comes from that check).
    @Test func refusedMemoryIsAnErrorAndLeavesNoOutput() throws {
        let dir = TemporaryDirectory()
        let jpg = dir.file("demo.jpg")
        try encodeFile(input: Fixtures.demoImage, output: jpg, options: EncodeOptions(profile: .bicubic, mode: .half))
        let before = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        let calls: [(String, () throws -> Void)] = [
            ("encode", { _ = try encodeFile(input: Fixtures.demoImage, output: dir.file("again.jpg"),
                                            options: EncodeOptions(profile: .bicubic, mode: .half)) }),
            ("decode", { _ = try decodeFile(input: jpg, output: dir.file("demo.png")) }),
            ("enhance", { _ = try enhanceFile(input: dir.file("plain.jpg"), output: dir.file("enhanced.png"),
                                              profile: Profile.catalogue.first { !$0.rounded.isPlainJPEG }!) }),
        ]
        let plain = try LibJPEG().encode(try PNG.decode(Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.demoImage)))),
                                         settings: JPEGSettings(quality: 50), segments: [])
        try Data(plain).write(to: URL(fileURLWithPath: dir.file("plain.jpg")))
        for (name, call) in calls {
            #expect("\(name)") {
                try LargeBuffer<UInt8>.failingAbove(100_000) { try call() }
            } throws: { error in
                let text = "\(error)"
                let refused = text.contains("out of memory: the system refused")
                    || (name == "enhance" && text.contains("of working memory and the allocator refused it"))
                return refused && (text.contains(".jpg") || text.contains(".png"))
            }
        }
        #expect(try Set(FileManager.default.contentsOfDirectory(atPath: dir.path)) == Set(before + ["plain.jpg"]),
                "no output and no temporary file is left")
    }

    /// The whole path: a 768x512 PNG -> a JPEG any decoder opens -> a PNG of the
    /// original size, equal to the bicubic profile applied to libjpeg's decode of the compact image.
    @Test func demoImageRoundTrip() throws {
        let dir = TemporaryDirectory()
        let jpg = dir.file("demo.jpg"), png = dir.file("demo.png")
        let report = try encodeFile(input: Fixtures.demoImage, output: jpg, options: EncodeOptions(profile: .bicubic, mode: .half))
        #expect(report.width == 768 && report.height == 512 && report.mode == .half)
        let file = readBytes(jpg)
        #expect(file.count == report.fileBytes && report.bitsPerPixel < 1)
        #expect(file.starts(with: [0xFF, 0xD8]) && file.suffix(2) == [0xFF, 0xD9])

        // An ordinary JPEG decoder sees the compact image.
        let compact = try LibJPEG().decode(file, maxPixels: defaultMaxPixels)
        #expect(compact.width == 384 && compact.height == 256)

        let decodeReport = try decodeFile(input: jpg, output: png)
        let decoded = try readImage(path: png)
        #expect(decodeReport.width == 768 && decodeReport.height == 512 && decodeReport.profile == "bicubic")
        #expect(try decoded == bicubicUpsample2x(compact, width: 768, height: 512))
        let original = try readImage(path: Fixtures.demoImage)
        #expect(Metrics.psnr(original, decoded) > 18)
        #expect(Set(dir.names) == ["demo.jpg", "demo.png"])
    }

    /// The CLI's streamed decode (JPEG rows in, PNG rows out) writes the pixels of the in-memory
    /// decode for every profile and mode, whatever the band height.
    @Test(arguments: ["bicubic", "fast", "paper"])
    func streamedDecodeEqualsTheInMemoryDecode(profileName: String) throws {
        let dir = TemporaryDirectory()
        let profile = try #require(try Profile.hosted(named: profileName))
        for (input, mode) in [(Fixtures.path("rgb-33x17.png"), ModeRequest.half), (Fixtures.path("rgb-33x17.png"), .full),
                              (Fixtures.demoImage, .half), (Fixtures.path("rgb-7x5.png"), .full)] {
            let jpg = dir.file("s.jpg")
            try encodeFile(input: input, output: jpg, options: EncodeOptions(profile: profile, quality: 60, mode: mode, force: true))
            let expected = try decodeComRec(readBytes(jpg), path: jpg)
            // Short tiles on the small images only: a tile of one row recomputes every layer's halo.
            let tiles = input == Fixtures.demoImage ? [StreamedDecoding.defaultTileRows] : [1, 3, StreamedDecoding.defaultTileRows]
            for tileRows in tiles {
                let report = try decodeFile(input: jpg, output: dir.file("s.png"), force: true, tileRows: tileRows)
                #expect(report.width == expected.width && report.height == expected.height)
                #expect(try readImage(path: dir.file("s.png")) == expected, "\(profileName) \(mode) \(input), tiles of \(tileRows)")
            }
        }
    }

    @Test(arguments: [(1, 1), (7, 5), (33, 17)])
    func oddSizesComeBackAtTheirSize(width: Int, height: Int) throws {
        let dir = TemporaryDirectory()
        for mode in [CodecMode.half, .full] {
            let request: ModeRequest = mode == .half ? .half : .full
            try encodeFile(input: Fixtures.path("rgb-\(width)x\(height).png"), output: dir.file("o.jpg"),
                           options: EncodeOptions(mode: request, force: true))
            let info = try inspectFile(dir.file("o.jpg"))
            #expect(info.segment.width == width && info.segment.height == height && info.segment.mode == mode)
            let stored = mode == .half ? ((width + 1) / 2, (height + 1) / 2) : (width, height)
            #expect(info.storedWidth == stored.0 && info.storedHeight == stored.1)
            let image = try decodeFile(input: dir.file("o.jpg"), output: dir.file("o.png"), force: true)
            #expect(image.width == width && image.height == height)
        }
    }

    @Test func infoShowsTheSegment() throws {
        let dir = TemporaryDirectory()
        try encodeFile(input: Fixtures.demoImage, output: dir.file("q.jpg"), options: EncodeOptions(quality: 42, scans: .progressive, mode: .half))
        let info = try inspectFile(dir.file("q.jpg"))
        let profile = try #require(Profile.named(Profile.defaultName, runner: .portable))
        #expect(info.segment.version == 2 && info.segment.mode == .half)
        #expect(info.segment.profile == profile.name && info.segment.quality == 42)
        #expect(info.segment.modelHash == profile.modelHash && info.modelStatus == .available)
        #expect(info.progressive)
    }

    @Test func everyInputFormatEncodes() throws {
        let dir = TemporaryDirectory()
        for name in ["grey-20x12.pgm", "rgb-7x5.ppm", "rgb16-24x16.png", "palette-16x16.png", "interlaced-17x11.png"] {
            try encodeFile(input: Fixtures.path(name), output: dir.file(name + ".jpg"))
        }
        // A plain JPEG is a valid input too.
        let jpegInput = dir.write("input.jpg", Crafting.plainJPEG())
        try encodeFile(input: jpegInput, output: dir.file("from-jpeg.jpg"))
        #expect(try inspectFile(dir.file("from-jpeg.jpg")).segment.width == 40)
        let flattened = EncodeOptions(read: ImageReadOptions(flattenAlpha: true))
        try encodeFile(input: Fixtures.path("rgba-alpha-12x10.png"), output: dir.file("alpha.jpg"), options: flattened)
    }

    @Test func existingOutputIsRefusedWithoutForce() throws {
        let dir = TemporaryDirectory()
        let out = dir.write("taken.jpg", [1, 2, 3])
        #expect { try encodeFile(input: Fixtures.path("rgb-7x5.png"), output: out) } throws: {
            "\($0)" == out + ": already exists; pass --force to replace it"
        }
        #expect(readBytes(out) == [1, 2, 3])
        try encodeFile(input: Fixtures.path("rgb-7x5.png"), output: out, options: EncodeOptions(force: true))
        #expect(try inspectFile(out).segment.width == 7)
    }

    @Test(arguments: BadInput.all)
    func badInputGivesOneLineAndNoOutput(_ bad: BadInput) throws {
        let dir = TemporaryDirectory()
        let input = bad.contents.map { dir.write(bad.fileName, $0) } ?? dir.file(bad.fileName)
        let output = dir.file("out." + (bad.command == .encode ? "jpg" : "png"))
        let before = dir.names
        let limit = bad.maxPixels ?? defaultMaxPixels
        #expect {
            switch bad.command {
            case .encode: try encodeFile(input: input, output: output, options: EncodeOptions(read: ImageReadOptions(maxPixels: limit)))
            case .decode: try decodeFile(input: input, output: output, maxPixels: limit)
            }
        } throws: { error in
            guard let error = error as? ComRecIOError else { return false }
            return error.path == input && bad.reason(error.reason) && !error.description.contains("\n")
        }
        #expect(dir.names == before, "nothing written, nothing left behind")
    }

    @Test func wrongModelMessageNamesBothHashes() throws {
        let dir = TemporaryDirectory()
        let input = dir.write("other.jpg", Crafting.comrecFile { $0[Crafting.hashOffset] ^= 0xFF })
        let fileHash = try inspectFile(input).segment.modelHash
        #expect { try decodeFile(input: input, output: dir.file("o.png")) } throws: { error in
            "\(error)".contains("file: model hash \(fileHash)") && "\(error)".contains("this comrec: model hash \(Profile.bicubic.modelHash)")
        }
    }

    @Test func unwritableOutputDirectoryFailsBeforeTheWork() throws {
        let dir = TemporaryDirectory()
        let locked = try #require(unwritableDirectory(in: dir))
        #expect { try encodeFile(input: Fixtures.demoImage, output: locked + "/x.jpg") } throws: {
            "\($0)".hasPrefix(locked + "/x.jpg: cannot write to directory")
        }
        let comrec = dir.write("ok.jpg", Crafting.comrecFile())
        #expect { try decodeFile(input: comrec, output: locked + "/x.png") } throws: { "\($0)".contains("cannot write to directory") }
    }
}
