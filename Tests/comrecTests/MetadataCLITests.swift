import ComRecCodec
import ComRecIO
import ComRecTestSupport
import Foundation
import Testing

/// `comrec encode` and `decode` carry EXIF, XMP and ICC profiles (docs/format.md, "Metadata");
/// the refusals are in BadInput.all (CLITests.badInput).
@Suite struct MetadataCLITests {
    typealias M = MetadataCrafting

    /// A portrait camera JPEG (EXIF orientation 6, an ICC profile), in half and full mode: the
    /// orientation tag and the profile reach the ComRec file and the decoded PNG unchanged.
    @Test(arguments: ["half", "full"])
    func cameraJPEGRoundTrips(_ mode: String) throws {
        let dir = TemporaryDirectory()
        let input = dir.write("camera.jpg", M.cameraJPEG())
        let comrec = dir.file("c.jpg"), png = dir.file("c.png")
        let encode = try CLI.run(["encode", input, "-o", comrec, "--mode", mode])
        #expect(encode.status == 0 && encode.stdout.contains("\(mode) mode"), "\(encode.stderr)")
        #expect(M.exifBlocks(readBytes(comrec)) == [M.exifOrientation6])
        #expect(M.iccChunks(readBytes(comrec)) == [[1, 1] + M.fakeICCProfile()])
        let decode = try CLI.run(["decode", comrec, "-o", png])
        #expect(decode.status == 0, "\(decode.stderr)")
        let chunks = M.pngChunks(readBytes(png))
        #expect(chunks.first { $0.type == "eXIf" }?.data == M.exifOrientation6)
        #expect(M.inflatedICCP(try #require(chunks.first { $0.type == "iCCP" }).data) == M.fakeICCProfile())
    }

    @Test func pngInputAndStripMetadata() throws {
        let dir = TemporaryDirectory()
        let input = dir.write("in.png", M.pngWithMetadata())
        for (name, extra) in [("all", [String]()), ("stripped", ["--strip-metadata"])] {
            let comrec = dir.file(name + ".jpg"), png = dir.file(name + ".png")
            let encode = try CLI.run(["encode", input, "-o", comrec] + extra)
            #expect(encode.status == 0, "\(encode.stderr)")
            #expect(try CLI.run(["decode", comrec, "-o", png]).status == 0)
            let types = M.pngChunks(readBytes(png)).map(\.type).filter { $0 != "IDAT" }
            #expect(types == (extra.isEmpty ? ["IHDR", "iCCP", "eXIf", "iTXt", "IEND"] : ["IHDR", "iCCP", "IEND"]), "\(types)")
        }
    }

    /// Every metadata refusal names the file and says what to do.
    @Test func refusalsSuggestStripMetadata() throws {
        let dir = TemporaryDirectory()
        for bad in BadInput.all where bad.fileName.contains("exif") || bad.fileName.contains("xmp") || bad.fileName.contains("iccp") {
            let input = dir.write(bad.fileName, bad.contents!)
            let result = try CLI.run(["encode", input, "-o", dir.file("out.jpg")])
            let suggests = result.stderr.hasSuffix("pass --strip-metadata to encode without EXIF and XMP\n")
                || result.stderr.hasSuffix("pass --strip-metadata to encode without it\n")
            #expect(result.status == 1 && suggests, "\(result.stderr)")
            let stripped = try CLI.run(["encode", input, "-o", dir.file(bad.fileName + ".jpg"), "--strip-metadata"])
            #expect(stripped.status == 0, "\(bad.name): \(stripped.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("out.jpg")))
        let help = try CLI.run(["encode", "--help"])
        #expect(help.stdout.contains("--strip-metadata"))
    }

    /// `comrec enhance` (plain JPEG -> PNG) carries them too.
    @Test func enhanceCarriesMetadata() throws {
        guard Profile.catalogue.contains(where: { !$0.full.isPlainJPEG }) else { return }
        let dir = TemporaryDirectory()
        let input = dir.write("camera.jpg", M.cameraJPEG())
        let result = try CLI.run(["enhance", input, "-o", dir.file("e.png")])
        #expect(result.status == 0, "\(result.stderr)")
        let chunks = M.pngChunks(readBytes(dir.file("e.png")))
        #expect(chunks.first { $0.type == "eXIf" }?.data == M.exifOrientation6)
        #expect(M.inflatedICCP(try #require(chunks.first { $0.type == "iCCP" }).data) == M.fakeICCProfile())
    }
}
