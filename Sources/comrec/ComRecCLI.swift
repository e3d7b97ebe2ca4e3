import ArgumentParser
import ComRecIO

/// `comrec`: the root command. It only lists the subcommands; each lives in its own file.
@main
struct ComRecCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "comrec",
        abstract: "ComRec: a learned image codec whose files are ordinary JPEGs.",
        discussion: """
            `comrec encode` stores an image as an ordinary JPEG plus a small ComRec segment: of a \
            half-size compact image at low rates (half mode), of the image itself at higher ones \
            (full mode). Any JPEG viewer opens the file; `comrec decode` rebuilds the full-size \
            image with the profile's network. `comrec enhance` restores plain JPEGs. Errors go to stderr as one line each; the exit status is 0 on \
            success, 1 when anything failed and 64 for a usage error. See README.md and docs/.
            """,
        subcommands: [
            EncodeCommand.self,
            DecodeCommand.self,
            InfoCommand.self,
            EnhanceCommand.self,
            DemoCommand.self,
            BenchCommand.self,
            EvalCommand.self,
        ]
    )

    static func main() {
        // Ctrl-C in the middle of a file must not leave its hidden temporary file behind.
        installInterruptCleanup()
        main(nil)
    }
}
