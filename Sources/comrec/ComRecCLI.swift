import ArgumentParser
import ComRecIO

/// `comrec`: the root command. It only lists the subcommands; each lives in its own file.
@main
struct ComRecCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "comrec",
        abstract: "ComRec: a learned image codec whose files are ordinary JPEGs.",
        discussion: """
            `comrec encode` stores an image as a JPEG of a half-size compact image plus a small \
            ComRec segment; any JPEG viewer shows the compact image, and `comrec decode` rebuilds \
            the full-size image. Errors go to stderr as one line each; the exit status is 0 on \
            success, 1 when anything failed and 64 for a usage error. See README.md and docs/.
            """,
        subcommands: [
            EncodeCommand.self,
            DecodeCommand.self,
            InfoCommand.self,
            DemoCommand.self,
            BenchCommand.self,
            EvalCommand.self,
            // Add further subcommands here, for example BenchCommand.self (Sources/comrec/BenchCommand.swift).
        ]
    )

    static func main() {
        // Ctrl-C in the middle of a file must not leave its hidden temporary file behind.
        installInterruptCleanup()
        main(nil)
    }
}
