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
