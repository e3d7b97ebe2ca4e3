// comrec-compile: turns a model folder into a generated Swift file (docs/models.md).
//   swift run comrec-compile Weights/paper
//   swift run comrec-compile Fixtures/models/test-fast --output Tests/ComRecTestModels/TestFastModel.swift
import ComRecCompiler
import Foundation

do {
    let (request, check) = try GeneratorRequest.parse(Array(CommandLine.arguments.dropFirst()))
    let (path, text) = try generate(request)
    if check {
        let existing = FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
        guard existing == text else {
            FileHandle.standardError.write(Data("comrec-compile: \(path) differs from what \(request.folder) generates; rerun without --check\n".utf8))
            exit(1)
        }
        print("\(path) is up to date")
    } else {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        print("wrote \(path)")
    }
} catch let error as CompileError {
    FileHandle.standardError.write(Data("comrec-compile: \(error.message)\n".utf8))
    exit(error.message.hasPrefix("usage:") ? 0 : 1)
} catch {
    FileHandle.standardError.write(Data("comrec-compile: \(error)\n".utf8))
    exit(1)
}
