// Standard input and output (`-`) and decode output by extension, through the built binary in a
// real shell pipeline.
import ComRecIO
import ComRecTestSupport
import Foundation
import Testing

@Suite struct StreamsCLITests {
    /// Runs `script` with bash (`$COMREC` is the binary) in `directory`.
    func shell(_ script: String, in directory: String) throws -> CLI.Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ProcessInfo.processInfo.environment.merging(["COMREC": CLI.binary]) { $1 }
        let scratch = TemporaryDirectory()
        let errPath = scratch.write("stderr", [])
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try err.close()
        return CLI.Result(status: process.terminationStatus, stdout: "",
                          stderr: String(decoding: readBytes(errPath), as: UTF8.self))
    }

    @Test func encodeAndDecodeThroughAPipeGiveTheFilesBytes() throws {
        let dir = TemporaryDirectory()
        #expect(try CLI.run(["encode", Fixtures.demoImage, "-o", dir.file("file.jpg"), "--quality", "40"]).status == 0)
        #expect(try CLI.run(["decode", dir.file("file.jpg"), "-o", dir.file("file.png")]).status == 0)
        let piped = try shell("""
            set -o pipefail
            cat '\(Fixtures.demoImage)' | "$COMREC" encode - -o - --quality 40 | tee piped.jpg | "$COMREC" decode - -o piped.png
            """, in: dir.path)
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(readBytes(dir.file("piped.jpg")) == readBytes(dir.file("file.jpg")))
        #expect(readBytes(dir.file("piped.png")) == readBytes(dir.file("file.png")))
        // With the image on stdout, encode's result line goes to stderr (decode's, to a file, to stdout).
        #expect(piped.stderr.contains("- -> -: 768 x 512") && !piped.stderr.contains("piped.png"), "\(piped.stderr)")
    }

    @Test func aFailureWritesNothingToStandardOutput() throws {
        let dir = TemporaryDirectory()
        let bad = dir.write("bad.png", Array(readBytes(Fixtures.demoImage).prefix(20_000)))
        let result = try shell("\"$COMREC\" encode '\(bad)' -o - > out.jpg", in: dir.path)
        #expect(result.status == 1)
        #expect(readBytes(dir.file("out.jpg")).isEmpty)
        #expect(result.stderrLines.count == 1 && result.stderr.contains("comrec: error: "), "\(result.stderr)")
    }

    @Test func aReaderThatClosesThePipeEarlyIsAnError() throws {
        let dir = TemporaryDirectory()
        #expect(try CLI.run(["encode", Fixtures.demoImage, "-o", dir.file("in.jpg")]).status == 0)
        let result = try shell("\"$COMREC\" decode in.jpg -o - | head -c 10 > /dev/null; exit ${PIPESTATUS[0]}", in: dir.path)
        #expect(result.status == 1)
        #expect(result.stderr.contains("-: cannot write: Broken pipe"), "\(result.stderr)")
    }

    @Test func standardStreamsTakeOneInputOnly() throws {
        let dir = TemporaryDirectory()
        let result = try CLI.run(["encode", Fixtures.demoImage, Fixtures.demoImage, "-o", "-"], in: dir.path)
        #expect(result.status == 1)
        #expect(result.stderr.contains("works with one input only"), "\(result.stderr)")
    }

    @Test func decodeAndEnhanceWritePPMByExtension() throws {
        let dir = TemporaryDirectory()
        #expect(try CLI.run(["encode", Fixtures.demoImage, "-o", dir.file("in.jpg"), "--mode", "half"]).status == 0)
        #expect(try CLI.run(["decode", dir.file("in.jpg"), "-o", dir.file("out.png")]).status == 0)
        let ppm = try CLI.run(["decode", dir.file("in.jpg"), "-o", dir.file("out.ppm")])
        #expect(ppm.status == 0, "\(ppm.stderr)")
        let bytes = readBytes(dir.file("out.ppm"))
        let header = Array("P6\n768 512\n255\n".utf8)
        #expect(Array(bytes.prefix(header.count)) == header && bytes.count == header.count + 768 * 512 * 3)
        #expect(try readImage(path: dir.file("out.ppm")) == readImage(path: dir.file("out.png")))

        let plain = dir.write("plain.jpg", Crafting.plainJPEG())
        #expect(try CLI.run(["enhance", plain, "-o", dir.file("plain.png")]).status == 0)
        #expect(try CLI.run(["enhance", plain, "-o", dir.file("plain.pnm")]).status == 0)
        #expect(try readImage(path: dir.file("plain.pnm")) == readImage(path: dir.file("plain.png")))

        let grey = try CLI.run(["decode", dir.file("in.jpg"), "-o", dir.file("out.pgm")])
        #expect(grey.status == 1 && grey.stderr.contains("name the output .ppm or .png"), "\(grey.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("out.pgm")))
    }
}
