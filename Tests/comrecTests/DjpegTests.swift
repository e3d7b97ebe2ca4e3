// Every file `comrec encode` writes is an ordinary JPEG: libjpeg-turbo's own djpeg reads it with
// exit status 0 and prints nothing (a warning would say the file bends the format).
import ComRecCodec
import ComRecTestSupport
import Foundation
import Testing

/// djpeg on PATH (Debian: libjpeg-turbo-progs, which scripts/setup.sh installs), or nil.
let djpegPath: String? = ["/usr/bin/djpeg", "/usr/local/bin/djpeg"].first { FileManager.default.isExecutableFile(atPath: $0) }

@Suite struct DjpegTests {
    @Test(.enabled(if: djpegPath != nil, "djpeg is not installed (libjpeg-turbo-progs): scripts/setup.sh installs it"))
    func djpegReadsEveryProfileModeAndGreyWithoutAWarning() throws {
        let dir = TemporaryDirectory()
        var files: [String] = []
        for profile in Profile.names {
            for mode in ["half", "full"] {
                for extra in [[], ["--scans", "baseline"], ["--progressive"]] {
                    let file = dir.file("\(profile)-\(mode)\(extra.joined()).jpg")
                    let result = try CLI.run(["encode", Fixtures.path("rgb-33x17.png"), "-o", file, "--profile", profile,
                                              "--mode", mode, "--quality", "30"] + extra)
                    #expect(result.status == 0, "\(result.stderr)")
                    files.append(file)
                }
            }
        }
        let grey = dir.file("grey.jpg")
        #expect(try CLI.run(["encode", Fixtures.path("grey-20x12.png"), "-o", grey]).status == 0)
        let budget = dir.file("budget.jpg")
        #expect(try CLI.run(["encode", Fixtures.demoImage, "-o", budget, "--bpp", "0.3"]).status == 0)
        files += [grey, budget]
        // The default layout of scans is the smallest of baseline and three progressive scripts;
        // on the demo image progressive scripts win at some of these qualities (counted by their
        // SOS markers: a baseline file has one), so djpeg reads those too.
        var layouts: Set<Int> = []
        for quality in ["10", "40", "70", "95"] {
            let file = dir.file("demo-\(quality).jpg")
            let result = try CLI.run(["encode", Fixtures.demoImage, "-o", file, "--quality", quality])
            #expect(result.status == 0, "\(result.stderr)")
            layouts.insert(scanCount(readBytes(file)))
            files.append(file)
        }
        #expect(layouts.contains { $0 > 1 }, "scans per file: \(layouts)")
        for file in files {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: djpegPath!)
            process.arguments = ["-outfile", "/dev/null", file]
            let errPath = dir.write("djpeg-stderr", [])
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
            try process.run()
            process.waitUntilExit()
            let stderr = String(decoding: readBytes(errPath), as: UTF8.self)
            #expect(process.terminationStatus == 0 && stderr.isEmpty, "\(file): djpeg said \(stderr)")
        }
    }
}
