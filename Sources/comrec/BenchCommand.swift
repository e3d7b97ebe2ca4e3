import ArgumentParser
import ComRecCodec
import ComRecBench
import ComRecKernels
import ComRecRuntime
import Foundation

/// `comrec bench`: the int8 kernels against the machine's measured peak and against the runtimes
/// a user would pick instead (Benchmarks/peers.py), in one run. docs/performance.md explains the
/// figures.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the int8 convolution kernels against the CPU's peak and peer runtimes.",
        discussion: """
            For every kernel family this CPU supports (or --isa): the int8 peak of a register-only \
            microkernel, and a 3x3 64->64 convolution (--channels) on a --width x --height image (default \
            768x512; GMAC/s, fraction of that peak, time), with each thread count, computed directly and \
            with Winograd F(2x2, 3x3) (effective GMAC/s: the direct convolution's MACs over the time). Then the same layer in ONNX Runtime int8, ncnn \
            int8 and fp32 and PyTorch fp32 with the same thread counts, run by Benchmarks/peers.py \
            in Benchmarks/.venv (create it with `bash Benchmarks/setup-venv.sh`; without it the \
            peers are skipped with a note). Build with `swift build -c release` for real figures. \
            --json prints {"peak": [...], "conv": [...], "peers": [...]}, with "peers_note" when the \
            peers were skipped and, with --network, "networks": [...] and "upsample": {...}.
            """)

    @Flag(help: "Print one JSON object instead of tables.")
    var json = false

    @Option(name: .customLong("threads"), parsing: .upToNextOption, help: "Thread counts to measure.")
    var threadCounts: [Int] = [1, 2]

    @Option(name: .customLong("isa"), parsing: .upToNextOption,
            help: "Kernel families (default: all this CPU supports): \(KernelISA.allCases.map(\.rawValue).joined(separator: ", ")).")
    var isaNames: [String] = []

    @Option(help: "Timed runs of the convolution (best and median are reported).")
    var repetitions = 10

    @Option(help: "Rounds of (the first family, ONNX Runtime int8) per thread count; each keeps its best. The first family is the best the CPU has, or the first of --isa.")
    var rounds = 3

    @Option(help: "Input and output channels of the convolution layer (a multiple of 16; the peers always run 64).")
    var channels = 64

    @Option(help: "Image width.") var width = 768
    @Option(help: "Image height.") var height = 512

    @Option(name: .customLong("network"), parsing: .upToNextOption,
            help: "Whole networks to time with the threaded runner and the first family, direct and Winograd (paper, fast, comcnn, fast-full; none by default).")
    var networkNames: [String] = []

    @Option(help: "Output rows per tile for --network (0: one tile per thread).")
    var tileHeight = 0

    @Flag(help: "Do not run Benchmarks/peers.py.")
    var noPeers = false

    @Option(help: "Python for the peers (default: Benchmarks/.venv/bin/python).")
    var python: String?

    func validate() throws {
        if threadCounts.isEmpty || threadCounts.contains(where: { $0 < 1 || $0 > 256 }) {
            throw ValidationError("--threads takes counts from 1 to 256, for example --threads 1 2")
        }
        if repetitions < 1 { throw ValidationError("--repetitions must be at least 1") }
        if rounds < 1 { throw ValidationError("--rounds must be at least 1") }
        if width < 1 || height < 1 { throw ValidationError("--width and --height must be positive") }
        if channels < 16 || channels > 256 || channels % 16 != 0 {
            throw ValidationError("--channels takes a multiple of 16 from 16 to 256")
        }
        for name in networkNames where Benchmark.NetworkShape(rawValue: name) == nil {
            throw ValidationError("unknown network \(name); use paper, fast, comcnn or fast-full")
        }
        _ = try chosenFamilies()
    }

    /// The --isa families, each checked against this CPU, or every family it supports.
    private func chosenFamilies() throws -> [KernelISA] {
        var isas: [KernelISA] = []
        for name in isaNames {
            guard let isa = KernelISA(rawValue: name) else {
                throw ValidationError("unknown kernel family \(name); use one of \(KernelISA.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            do { isas.append(try KernelISA.select(override: isa)) } catch { throw ValidationError("\(error)") }
        }
        return isas.isEmpty ? KernelISA.supported : isas
    }

    func run() throws {
        let isas = try chosenFamilies()
        var report = BenchReport()
        try measureKernels(isas: isas, into: &report)
        try measureNetworks(isa: isas[0], into: &report)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            printTables(report, isas: isas)
        }
    }

    private var layer: String { "conv3x3 \(channels)->\(channels) \(width)x\(height)" }

    private func progress(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

    /// Ours and the peers, per thread count, back to back, so that both see the same machine. On a
    /// shared machine the load changes within seconds, so `--rounds` repeats the pair that matters
    /// (our best family and ONNX Runtime int8) and each keeps its best.
    private func measureKernels(isas: [KernelISA], into report: inout BenchReport) throws {
        for threads in threadCounts {
            let pool = ThreadPool(threads: threads)
            for round in 0..<rounds {
                for isa in (round == 0 ? isas : [isas[0]]) {
                    progress("measuring \(isa.rawValue), \(threads) thread(s), round \(round + 1)...")
                    // The peak is measured before and after the layer and the higher one kept, so a
                    // burst of load from other processes does not make the fraction look better.
                    let before = Benchmark.peakGMACs(isa: isa, pool: pool)
                    for algorithm in ConvAlgorithm.allCases {
                        let conv = Benchmark.conv3x3(isa: isa, pool: pool, width: width, height: height,
                                                     inChannels: channels, outChannels: channels,
                                                     repetitions: repetitions, algorithm: algorithm)
                        let kernel = algorithm == .direct ? isa.kernelNames[0] : isa.winogradKernelName
                        let row = BenchReport.Conv(
                            isa: isa.rawValue, algorithm: algorithm.name, threads: threads, layer: layer, kernel: kernel,
                            gmacs: conv.gmacs, seconds: conv.bestSeconds, medianSeconds: conv.medianSeconds, fractionOfPeak: 0)
                        if let i = report.conv.firstIndex(where: { $0.isa == isa.rawValue && $0.algorithm == row.algorithm && $0.threads == threads }) {
                            if conv.gmacs > report.conv[i].gmacs { report.conv[i] = row }
                        } else {
                            report.conv.append(row)
                        }
                    }
                    let after = Benchmark.peakGMACs(isa: isa, pool: pool)
                    if let i = report.peak.firstIndex(where: { $0.isa == isa.rawValue && $0.threads == threads }) {
                        report.peak[i].gmacs = max(report.peak[i].gmacs, before, after)
                    } else {
                        report.peak.append(BenchReport.Peak(isa: isa.rawValue, threads: threads, gmacs: max(before, after)))
                    }
                }
                if !noPeers && report.peersNote == nil {
                    let (rows, note) = runPeers(threads: threads, only: round == 0 ? nil : "onnxruntime-int8")
                    report.peersNote = note
                    for r in rows {
                        if let i = report.peers.firstIndex(where: { $0.name == r.name && $0.threads == threads }) {
                            if (r.gmacs ?? 0) > (report.peers[i].gmacs ?? 0) { report.peers[i] = r }
                        } else {
                            report.peers.append(r)
                        }
                    }
                }
            }
        }
        for i in report.conv.indices {
            let peak = report.peak.first { $0.isa == report.conv[i].isa && $0.threads == report.conv[i].threads }!
            report.conv[i].fractionOfPeak = report.conv[i].gmacs / peak.gmacs
        }
    }

    /// `--network`: whole networks with the threaded runner, and the x2 upsampling beside them.
    private func measureNetworks(isa: KernelISA, into report: inout BenchReport) throws {
        guard !networkNames.isEmpty else { return }
        let image = "\(width)x\(height)"
        let (reference, fast) = Benchmark.upsample(width: width, height: height)
        report.upsample = BenchReport.Upsample(image: image, seconds: fast, referenceSeconds: reference)
        for name in networkNames {
            let shape = Benchmark.NetworkShape(rawValue: name)!  // checked in validate()
            for threads in threadCounts {
                let pool = ThreadPool(threads: threads)
                for algorithms in [ConvAlgorithmPolicy.direct, .winograd] {
                    progress("timing network \(name), \(algorithms.name), \(threads) thread(s)...")
                    let t = try ComRecError.allocating { () throws(AllocationFailure) in
                        try Benchmark.network(shape, isa: isa, pool: pool, width: width, height: height,
                                              tileHeight: tileHeight, algorithms: algorithms)
                    }
                    report.networks.append(BenchReport.Network(
                        network: name, isa: isa.rawValue, algorithms: algorithms.name, threads: threads,
                        tileHeight: tileHeight, image: image, gmacs: t.gmacs, seconds: t.bestSeconds,
                        medianSeconds: t.medianSeconds))
                }
            }
        }
    }

    private func printTables(_ report: BenchReport, isas: [KernelISA]) {
        print("int8 peak (register-only microkernel per kernel family)")
        print(pad("isa", 12) + pad("threads", 9) + "GMAC/s")
        for p in report.peak { print(pad(p.isa, 12) + pad("\(p.threads)", 9) + fixed(p.gmacs, 1)) }
        for isa in isas {
            guard let one = report.peak.first(where: { $0.isa == isa.rawValue && $0.threads == 1 }) else { continue }
            for p in report.peak where p.isa == isa.rawValue && p.threads > 1 {
                let scaling = p.gmacs / one.gmacs
                print("  \(isa.rawValue): the peak with \(p.threads) threads is \(fixed(scaling, 2))x the 1-thread peak"
                    + (scaling < 0.9 * Double(p.threads) ? " (this machine does not give each thread a full core now)" : ""))
            }
        }
        print("\n\(layer), U7 x S8 -> U7, best of \(repetitions) (median); effective GMAC/s: the direct")
        print("convolution's multiply-accumulates over the time, for both algorithms")
        print(pad("isa", 12) + pad("algorithm", 10) + pad("threads", 9) + pad("GMAC/s", 9) + pad("of peak", 9)
            + pad("ms", 17) + pad("vs 1 thread", 13) + "vs direct")
        for c in report.conv {
            let one = report.conv.first { $0.isa == c.isa && $0.algorithm == c.algorithm && $0.threads == 1 }
            let speedup = one.map { fixed($0.seconds / c.seconds, 2) + "x" } ?? "-"
            let direct = report.conv.first { $0.isa == c.isa && $0.algorithm == "direct" && $0.threads == c.threads }
            let versusDirect = direct.map { fixed($0.seconds / c.seconds, 2) + "x" } ?? "-"
            print(pad(c.isa, 12) + pad(c.algorithm, 10) + pad("\(c.threads)", 9) + pad(fixed(c.gmacs, 1), 9)
                + pad(fixed(100 * c.fractionOfPeak, 1) + "%", 9)
                + pad(fixed(1e3 * c.seconds, 2) + " (" + fixed(1e3 * c.medianSeconds, 2) + ")", 17) + pad(speedup, 13) + versusDirect)
        }
        for c in report.conv where c.algorithm == "direct" && channels == 64 {  // the peers run 64 channels
            for p in report.peers where p.threads == c.threads {
                guard let g = p.gmacs, c.isa == report.conv.first?.isa else { continue }
                let best = report.conv.filter { $0.isa == c.isa && $0.threads == c.threads }.max { $0.gmacs < $1.gmacs }!
                print("  \(c.threads) thread(s): \(best.isa) \(best.algorithm) is \(fixed(best.gmacs / g, 2))x \(p.name)")
            }
        }
        if !report.networks.isEmpty {
            let tiles = tileHeight == 0 ? "one tile per thread" : "\(tileHeight)-row tiles"
            print("\nwhole networks, threaded runner (\(tiles)), useful GMAC/s (halo recomputation not counted)")
            print(pad("network", 10) + pad("isa", 12) + pad("layers", 10) + pad("threads", 9) + pad("GMAC/s", 9)
                + pad("ms (median)", 18) + "vs direct")
            for n in report.networks {
                let direct = report.networks.first { $0.network == n.network && $0.threads == n.threads && $0.algorithms == "direct" }
                print(pad(n.network, 10) + pad(n.isa, 12) + pad(n.algorithms, 10) + pad("\(n.threads)", 9) + pad(fixed(n.gmacs, 1), 9)
                    + pad(fixed(1e3 * n.seconds, 1) + " (" + fixed(1e3 * n.medianSeconds, 1) + ")", 18)
                    + (direct.map { fixed($0.seconds / n.seconds, 2) + "x" } ?? "-"))
            }
        }
        if let up = report.upsample {
            print("bicubic x2 upsampling to \(up.image): " + fixed(1e3 * up.seconds, 1)
                + " ms (reference implementation " + fixed(1e3 * up.referenceSeconds, 1) + " ms, same bytes)")
        }
        if !report.peers.isEmpty {
            print("\npeers, same layer (Benchmarks/peers.py, a stack of 8 layers, best of 5; ONNX Runtime int8 best of \(rounds) rounds)")
            print(pad("runtime", 20) + pad("threads", 9) + "GMAC/s")
            for p in report.peers {
                print(pad(p.name, 20) + pad("\(p.threads)", 9) + (p.gmacs.map { fixed($0, 1) } ?? "failed: \(p.error ?? "")"))
            }
        }
        if let note = report.peersNote { print("\n" + note) }
    }

    /// Runs Benchmarks/peers.py with `threads`; returns its rows, or a note saying why not.
    private func runPeers(threads: Int, only: String?) -> ([BenchReport.Peer], String?) {
        guard let script = findPeersScript() else {
            return ([], "peers skipped: Benchmarks/peers.py not found (run comrec bench from the repository)")
        }
        let benchmarks = (script as NSString).deletingLastPathComponent
        let interpreter = python ?? benchmarks + "/.venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: interpreter) else {
            return ([], "peers skipped: \(interpreter) does not exist; create it with `bash \(benchmarks)/setup-venv.sh`")
        }
        do {
            progress("measuring peers, \(threads) thread(s)...")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: interpreter)
            process.arguments = [script, "--json", "--threads", "\(threads)", "--width", "\(width)", "--height", "\(height)"]
                + (only.map { ["--only", $0] } ?? [])
            let pipe = Pipe()
            process.standardOutput = pipe
            do {
                try process.run()
            } catch {
                return ([], "peers failed: cannot run \(interpreter): \(error)")
            }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0, let rows = try? JSONDecoder().decode([BenchReport.Peer].self, from: data) else {
                return ([], "peers failed: \(script) exited with status \(process.terminationStatus)")
            }
            return (rows, nil)
        }
    }

    private func findPeersScript() -> String? {
        var directory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for _ in 0..<6 {
            let candidate = directory.appendingPathComponent("Benchmarks/peers.py").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        // The source tree this binary was built from.
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Benchmarks/peers.py").path
        return FileManager.default.fileExists(atPath: source) ? source : nil
    }
}

private func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
}

private func fixed(_ v: Double, _ digits: Int) -> String { decimalString(v, digits) }

/// What `comrec bench` measured; `--json` prints it (keys in snake_case, sorted).
struct BenchReport: Encodable {
    struct Peak: Encodable {
        var isa: String
        var threads: Int
        var gmacs: Double
    }

    /// One kernel on the layer; `gmacs` is effective: the direct convolution's MAC count over the
    /// time, whichever algorithm ran.
    struct Conv: Encodable {
        var isa: String
        var algorithm: String
        var threads: Int
        var layer: String
        var kernel: String
        var gmacs: Double
        var seconds: Double
        var medianSeconds: Double
        var fractionOfPeak: Double

        enum CodingKeys: String, CodingKey {
            case isa, algorithm, threads, layer, kernel, gmacs, seconds
            case medianSeconds = "median_seconds", fractionOfPeak = "fraction_of_peak"
        }
    }

    /// A row of Benchmarks/peers.py (`gmacs` null and `error` set when a peer failed).
    struct Peer: Codable {
        var name: String
        var threads: Int
        var gmacs: Double?
        var error: String?
        var secondsPerLayer: Double?
        var medianSecondsPerLayer: Double?

        enum CodingKeys: String, CodingKey {
            case name, threads, gmacs, error
            case secondsPerLayer = "seconds_per_layer", medianSecondsPerLayer = "median_seconds_per_layer"
        }
    }

    struct Network: Encodable {
        var network: String
        var isa: String
        /// "direct" everywhere, or "winograd" on every stride-1 hidden layer.
        var algorithms: String
        var threads: Int
        var tileHeight: Int
        var image: String
        var gmacs: Double
        var seconds: Double
        var medianSeconds: Double

        enum CodingKeys: String, CodingKey {
            case network, isa, algorithms, threads, image, gmacs, seconds
            case tileHeight = "tile_height", medianSeconds = "median_seconds"
        }
    }

    struct Upsample: Encodable {
        var image: String
        var seconds: Double
        var referenceSeconds: Double

        enum CodingKeys: String, CodingKey {
            case image, seconds
            case referenceSeconds = "reference_seconds"
        }
    }

    var peak: [Peak] = []
    var conv: [Conv] = []
    var peers: [Peer] = []
    var peersNote: String?
    var networks: [Network] = []
    var upsample: Upsample?

    enum CodingKeys: String, CodingKey {
        case peak, conv, peers, networks, upsample
        case peersNote = "peers_note"
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(peak, forKey: .peak)
        try c.encode(conv, forKey: .conv)
        try c.encode(peers, forKey: .peers)
        try c.encodeIfPresent(peersNote, forKey: .peersNote)
        if !networks.isEmpty { try c.encode(networks, forKey: .networks) }
        try c.encodeIfPresent(upsample, forKey: .upsample)
    }
}
