import ComRecCodec
import ComRecKernels
@testable import ComRecIO
import ComRecTestSupport
import Foundation
import Testing

@Suite struct FilesTests {
    @Test func readingErrorsNameTheFile() throws {
        let dir = TemporaryDirectory()
        #expect { try readInputFile(dir.file("nope")) } throws: { "\($0)" == dir.file("nope") + ": no such file; check the path" }
        #expect { try readInputFile(dir.path) } throws: { "\($0)".contains("is a directory") }
        let empty = dir.write("empty", [])
        #expect { try readInputFile(empty) } throws: { "\($0)" == empty + ": file is empty" }
        #expect(try readInputFile(dir.write("x", [1, 2, 3])) == [1, 2, 3])
    }

    /// An input over the size limit is refused from its size alone (a 100 GB sparse file reads
    /// nothing), a stream when it passes the limit; memory the system refuses is an error too.
    @Test func oversizedInputsAreRefusedWithTheirSize() throws {
        let dir = TemporaryDirectory()
        let huge = dir.file("huge.jpg")
        FileManager.default.createFile(atPath: huge, contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: huge))
        try handle.truncate(atOffset: 100 << 30)
        try handle.close()
        #expect { try readInputFile(huge) } throws: {
            ($0 as? ComRecIOError)?.reason == .inputTooLarge(bytes: 100 << 30, limit: defaultMaxInputBytes)
                && "\($0)".hasPrefix(huge + ": input is 107374 MB, more than the 2147 MB an input may have")
        }
        let small = dir.write("small.bin", [UInt8](repeating: 7, count: 1000))
        #expect(try readInputFile(small, maxBytes: 1000).count == 1000)
        #expect { try readInputFile(small, maxBytes: 999) } throws: {
            ($0 as? ComRecIOError)?.reason == .inputTooLarge(bytes: 1000, limit: 999)
        }
        // A stream has no size up front: it is cut off where it passes the limit.
        #expect { try readInputFile("/dev/zero", maxBytes: 300_000) } throws: {
            ($0 as? ComRecIOError)?.reason == .inputTooLarge(bytes: nil, limit: 300_000)
                && "\($0)".hasPrefix("/dev/zero: input goes on past the 300000 bytes an input may have")
        }
        #expect {
            try LargeBuffer<UInt8>.failingAbove(999) { try readInputFile(small) }
        } throws: {
            ($0 as? ComRecIOError)?.reason == .inputOutOfMemory(bytes: 1000) && "\($0)".contains("the system refused it")
        }
    }

    /// Given the formats a command reads, a file that starts as none of them is read no further
    /// than its first chunk; one that does is read whole.
    @Test func aFileOfAnotherFormatIsReadNoFurtherThanItsStart() throws {
        let dir = TemporaryDirectory()
        let text = dir.write("notes.txt", [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20))
        let start = try readInputFile(text, formats: [.jpeg])
        #expect(start.count >= ImageFormat.signatureBytes && start.count < 1 << 20)
        #expect(try readInputFile(text).count == 1 << 20)
        let jpeg = dir.write("photo.jpg", [0xFF, 0xD8, 0xFF] + [UInt8](repeating: 0, count: 1 << 20))
        #expect(try readInputFile(jpeg, formats: [.jpeg]).count == 3 + (1 << 20))
        #expect(try readInputFile("/dev/zero", formats: ImageFormat.all).count <= 1 << 16, "an endless stream of zeros is no image")
    }

    /// A hidden temporary file of a comrec that was killed (its process gone, a day old) is swept;
    /// one whose process is alive, a recent one, and files that only look similar are left alone.
    @Test func staleTemporariesOfDeadProcessesAreSwept() throws {
        let dir = TemporaryDirectory()
        var dead: Int32 = 4_194_000
        while kill(dead, 0) == 0 || errno != ESRCH { dead -= 1 }
        let past = Date(timeIntervalSinceNow: -25 * 3600)
        func make(_ name: String, modified: Date = past) {
            let path = dir.write(name, [1, 2, 3])
            try? FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: path)
        }
        let stale = ".photo.jpg.comrec-\(dead)-0-123456.tmp"
        make(stale)
        make(".photo.jpg.comrec-\(getpid())-0-42.tmp")  // this process: alive
        make(".new.jpg.comrec-\(dead)-1-7.tmp", modified: Date(timeIntervalSinceNow: -3600))  // an hour old: may be another machine's
        make("visible.comrec-\(dead)-0-1.tmp")  // not hidden: not ours
        make(".notes.comrec-draft.tmp")  // not a PID-N-RANDOM name
        let before = dir.names
        #expect(AtomicOutput.sweepStaleTemporaries(in: dir.path) == [stale])
        #expect(dir.names == before.filter { $0 != stale })
    }

    @Test func commitReplacesNothingWithoutForce() throws {
        let dir = TemporaryDirectory()
        let target = dir.write("out.bin", [1])
        #expect { try AtomicOutput(path: target, force: false) } throws: { "\($0)".contains("already exists; pass --force") }
        try AtomicOutput(path: target, force: true).commit([2, 3])
        #expect(readBytes(target) == [2, 3])
        #expect(dir.names == ["out.bin"])
    }

    @Test func fileAppearingDuringTheWorkIsNotClobbered() throws {
        let dir = TemporaryDirectory()
        let output = try AtomicOutput(path: dir.file("race.bin"), force: false)
        dir.write("race.bin", [7])
        #expect(throws: ComRecIOError.self) { try output.commit([1, 2]) }
        #expect(readBytes(dir.file("race.bin")) == [7])
        #expect(dir.names == ["race.bin"])
    }

    @Test func discardedOutputLeavesNothing() throws {
        let dir = TemporaryDirectory()
        do {
            let output = try AtomicOutput(path: dir.file("gone.bin"), force: false)
            // An unnamed file (O_TMPFILE) shows nothing; elsewhere, the hidden temporary file.
            #expect(dir.names.count == (output.isUnnamed ? 0 : 1))
            output.discard()
        }
        #expect(dir.names.isEmpty)
        _ = try AtomicOutput(path: dir.file("dropped.bin"), force: false)  // deinit discards
        #expect(dir.names.isEmpty)
    }

    @Test func inputIsNeverTheOutput() throws {
        let dir = TemporaryDirectory()
        let input = dir.write("same.png", [1, 2])
        #expect {
            try AtomicOutput(path: input, force: true, inputs: [input])
        } throws: { "\($0)".contains("is the input file") }
        #expect(readBytes(input) == [1, 2])
    }

    @Test func outputDirectoryMustExistAndBeWritable() throws {
        let dir = TemporaryDirectory()
        #expect {
            try AtomicOutput(path: dir.file("missing/out.png"), force: false)
        } throws: { "\($0)".contains("output directory \(dir.file("missing")) does not exist") }
        let file = dir.write("plain", [1])
        #expect { try AtomicOutput(path: file + "/out.png", force: false) } throws: { "\($0)".contains("is not a directory") }
        #expect { try AtomicOutput(path: dir.path, force: true) } throws: { "\($0)".contains("is a directory") }
        let locked = try #require(unwritableDirectory(in: dir))
        #expect {
            try AtomicOutput(path: locked + "/out.png", force: false)
        } throws: { "\($0)".contains("cannot write to directory \(locked)") }
    }

    @Test func pathsSplit() {
        #expect(splitPath("a.png") == (".", "a.png"))
        #expect(splitPath("/a.png") == ("/", "a.png"))
        #expect(splitPath("x/y/a.png") == ("x/y", "a.png"))
    }
}
