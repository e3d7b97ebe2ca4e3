import ArgumentParser
import ComRecIO
import Foundation

/// Runs `body`; an error other than an exit code is printed on stderr as the one line
/// "comrec: error: ..." and the command exits with status 1. Every subcommand's failures go through
/// here or through `runBatch`, which reports per file.
func reportingFailure<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        Terminal.standardError.error("\(error)")
        throw ExitCode.failure
    }
}

/// Runs one operation over one or several inputs. One input with an output that is not an existing
/// directory: the output is that file (`-` for standard input or output, with one input only; the
/// result line then goes to stderr). Otherwise the output is a directory (created if missing)
/// and each input's output is named after it with `outputExtension`. A failure is reported on
/// stderr as one line and the batch goes on; at the end a summary, and exit status 1 if anything
/// failed. `work` does one file and returns the line to print on stdout.
func runBatch(
    inputs: [String], output: String, outputExtension: String, verb: String,
    work: (_ input: String, _ output: String) throws -> String
) throws {
    let terminal = Terminal.standardError
    let toStandardOutput = output == standardStreamPath
    if toStandardOutput || inputs.contains(standardStreamPath) {
        guard inputs.count == 1 else {
            terminal.error("- (standard input or output) works with one input only; give files and a directory for several")
            throw ExitCode.failure
        }
        if toStandardOutput && isatty(STDOUT_FILENO) != 0 {
            terminal.error("standard output is a terminal; redirect it to a file or a pipe, or give -o FILE")
            throw ExitCode.failure
        }
    }
    let single = inputs.count == 1 && !isDirectory(output)
    if !single {
        if !isDirectory(output) {
            if FileManager.default.fileExists(atPath: output) {
                terminal.error("\(output): is not a directory; with several inputs, -o must name a directory")
                throw ExitCode.failure
            }
            do {
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: false)
            } catch {
                terminal.error("\(output): cannot create the output directory (\((error as NSError).localizedDescription)); create it first")
                throw ExitCode.failure
            }
        }
    }
    let plan = single ? [(inputs[0], output)] : inputs.map { ($0, outputPath(for: $0, in: output, extension: outputExtension)) }

    var failed: [String] = []
    var claimed: [String: String] = [:]
    // With the image on standard output, the result line goes to stderr.
    let progress = ProgressLine(total: plan.count, terminal: terminal, enabled: !single, resultsToStandardError: toStandardOutput)
    for (index, (input, target)) in plan.enumerated() {
        progress.show(done: index, current: input)
        if let first = claimed[target] {
            progress.log(error: "\(input): its output \(target) is also the output of \(first); rename one of the inputs")
            failed.append(input)
            continue
        }
        claimed[target] = input
        do {
            let line = try work(input, target)
            progress.log(result: line)
        } catch {
            progress.log(error: "\(error)")
            failed.append(input)
        }
    }
    progress.finish()
    if !single {
        let succeeded = plan.count - failed.count
        if failed.isEmpty {
            terminal.line("comrec: \(verb) \(succeeded) of \(plan.count) files")
        } else {
            terminal.line("comrec: \(verb) \(succeeded) of \(plan.count) files; \(failed.count) failed: \(failed.joined(separator: ", "))")
        }
    }
    if !failed.isEmpty { throw ExitCode.failure }
}

/// `directory/<input's name without extension>.<extension>`.
func outputPath(for input: String, in directory: String, extension ext: String) -> String {
    let name = (input as NSString).lastPathComponent
    let stem = (name as NSString).deletingPathExtension
    let base = directory.hasSuffix("/") ? directory : directory + "/"
    return base + (stem.isEmpty ? name : stem) + "." + ext
}

/// A one-line progress bar on stderr, redrawn in place when stderr is a terminal (and silent
/// otherwise); result lines go to stdout and error lines to stderr without garbling it.
final class ProgressLine {
    let total: Int
    let terminal: Terminal
    let drawing: Bool
    let resultsToStandardError: Bool
    private var visible = false

    init(total: Int, terminal: Terminal, enabled: Bool, resultsToStandardError: Bool = false) {
        self.total = total
        self.terminal = terminal
        self.drawing = enabled && terminal.isInteractive
        self.resultsToStandardError = resultsToStandardError
    }

    func show(done: Int, current: String) {
        guard drawing else { return }
        let width = 24
        let filled = total == 0 ? width : done * width / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let name = (current as NSString).lastPathComponent
        terminal.write("\r\u{1B}[2K[\(bar)] \(done)/\(total) \(name.prefix(40))")
        visible = true
    }

    func log(result: String) {
        clear()
        if resultsToStandardError {
            terminal.line(result)
        } else {
            FileHandle.standardOutput.write(Data((result + "\n").utf8))
        }
    }

    func log(error: String) {
        clear()
        terminal.error(error)
    }

    func finish() { clear() }

    private func clear() {
        if visible {
            terminal.write("\r\u{1B}[2K")
            visible = false
        }
    }
}

/// Writing to stderr.
struct Terminal {
    static let standardError = Terminal()

    var isInteractive: Bool { isatty(STDERR_FILENO) != 0 }

    func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    func line(_ text: String) { write(text + "\n") }

    /// One line: "comrec: error: <message>".
    func error(_ message: String) { line("comrec: error: " + message) }
}
