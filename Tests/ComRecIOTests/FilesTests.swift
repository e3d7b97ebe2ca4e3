import ComRecCodec
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
