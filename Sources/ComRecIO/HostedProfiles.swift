import ComRecCodec
import ComRecKernels
import ComRecRuntime

// The profiles as a hosted program (the CLI, tools, tests) uses them: every network runs on the
// process's shared runner, whose threads and kernel family come from COMREC_THREADS and
// COMREC_ISA (ComRecRuntime). Embedded builds inject their own runner instead
// (`Profile.registered(runner:)` with `NetworkRunner.serial`).

extension Profile {
    /// Every registered profile on the shared runner. Throws `ComRecIOError` with reason
    /// `.kernelFamily` when COMREC_ISA names a family that is unknown or that this CPU cannot run.
    public static func hosted() throws -> [Profile] {
        registered(runner: try sharedRunner())
    }

    /// The registered profile called `name` on the shared runner, if any.
    public static func hosted(named name: String) throws -> Profile? {
        named(name, runner: try sharedRunner())
    }

    private static func sharedRunner() throws -> NetworkRunner {
        do { return try NetworkRunner.shared() } catch { throw ComRecIOError(.kernelFamily(error)) }
    }

    /// The second enhancer of `comrec enhance --effort 3` for the profile called `name`
    /// (`roundedSecondPass(of:runner:)`) on the shared runner; nil when it has none.
    public static func hostedSecondPass(of name: String) throws -> FullResolutionModel? {
        roundedSecondPass(of: name, runner: try sharedRunner())
    }

    /// The profile `comrec encode` uses without `--profile`, on the shared runner.
    public static func hostedDefault() throws -> Profile {
        try hosted(named: defaultName)!
    }

    /// The registered profiles for work that runs no network (listing names and hashes, reading a
    /// file's segment): no threads are started.
    public static var catalogue: [Profile] { registered(runner: .portable) }
}
