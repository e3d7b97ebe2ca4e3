import ArgumentParser
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
            microkernel, and a 3x3 64->64 convolution on a 768x512 image (GMAC/s, fraction of that \
            peak, time), with each thread count. Then the same layer in ONNX Runtime int8, ncnn \
            int8 and fp32 and PyTorch fp32 with the same thread counts, run by Benchmarks/peers.py \
            in Benchmarks/.venv (create it with `bash Benchmarks/setup-venv.sh`; without it the \
            peers are skipped with a note). Build with `swift build -c release` for real figures. \
            --json prints {"peak": [...], "conv": [...], "peers": [...]}.
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

    @Option(help: "Rounds of (our best family, ONNX Runtime int8) per thread count; each keeps its best.")
    var rounds = 3

    @Option(help: "Image width.") var width = 768
    @Option(help: "Image height.") var height = 512

    @Option(name: .customLong("network"), parsing: .upToNextOption,
            help: "Whole networks to time with the threaded runner, best kernel family (paper, fast, comcnn; none by default).")
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
    }

    func run() throws {
        var isas: [KernelISA] = []
        for name in isaNames {
            guard let isa = KernelISA(rawValue: name) else {
                throw ValidationError("unknown kernel family \(name); use one of \(KernelISA.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            isas.append(try KernelISA.select(override: isa))
        }
        if isas.isEmpty { isas = KernelISA.supported }
        let log = FileHandle.standardError
        let layer = "conv3x3 64->64 \(width)x\(height)"

        // Ours and the peers are measured per thread count, back to back, so that both see the
        // same machine. On a shared machine the load changes within seconds, so `--rounds` repeats
        // the pair that matters (our best family and ONNX Runtime int8) and each keeps its best.
        var peaks: [[String: Any]] = [], convs: [[String: Any]] = []
        var peers: [[String: Any]] = []
        var peerNote: String?
        for threads in threadCounts {
            let pool = ThreadPool(threads: threads)
            for round in 0..<rounds {
                for isa in (round == 0 ? isas : [isas[0]]) {
                    log.write("measuring \(isa.rawValue), \(threads) thread(s), round \(round + 1)...\n".data(using: .utf8)!)
                    // The peak is measured before and after the layer and the higher one kept, so a
                    // burst of load from other processes does not make the fraction look better.
                    let before = Benchmark.peakGMACs(isa: isa, pool: pool)
                    let conv = Benchmark.conv3x3(isa: isa, pool: pool, width: width, height: height, repetitions: repetitions)
                    let after = Benchmark.peakGMACs(isa: isa, pool: pool)
                    let index = peaks.firstIndex { $0["isa"] as! String == isa.rawValue && $0["threads"] as! Int == threads }
                    let peak = max(before, after, index.map { peaks[$0]["gmacs"] as! Double } ?? 0)
                    let best = index.map { convs[$0]["gmacs"] as! Double } ?? 0
                    let row: [String: Any] = [
                        "isa": isa.rawValue, "threads": threads, "layer": layer, "kernel": isa.kernelNames[0],
                        "gmacs": conv.gmacs, "seconds": conv.bestSeconds, "median_seconds": conv.medianSeconds,
                    ]
                    if let i = index {
                        peaks[i]["gmacs"] = peak
                        if conv.gmacs > best { convs[i] = row }
                    } else {
                        peaks.append(["isa": isa.rawValue, "threads": threads, "gmacs": peak])
                        convs.append(row)
                    }
                }
                if !noPeers && peerNote == nil {
                    let (rows, note) = runPeers(threads: threads, only: round == 0 ? nil : "onnxruntime-int8")
                    peerNote = note
                    for r in rows {
                        let i = peers.firstIndex { $0["name"] as? String == r["name"] as? String && $0["threads"] as? Int == threads }
                        if let i = i {
                            if (r["gmacs"] as? Double ?? 0) > (peers[i]["gmacs"] as? Double ?? 0) { peers[i] = r }
                        } else {
                            peers.append(r)
                        }
                    }
                }
            }
        }
        for i in convs.indices {
            convs[i]["fraction_of_peak"] = (convs[i]["gmacs"] as! Double) / (peaks[i]["gmacs"] as! Double)
        }
        var networks: [[String: Any]] = []
        if !networkNames.isEmpty {
            let (reference, fast) = Benchmark.upsample(width: width, height: height)
            networks.append(["network": "upsample2x-bicubic", "isa": "scalar", "threads": 1,
                             "image": "\(width)x\(height)", "seconds": fast, "reference_seconds": reference])
        }
        for name in networkNames {
            guard let shape = Benchmark.NetworkShape(rawValue: name) else {
                throw ValidationError("unknown network \(name); use paper, fast or comcnn")
            }
            for threads in threadCounts {
                log.write("timing network \(name), \(threads) thread(s)...\n".data(using: .utf8)!)
                let t = Benchmark.network(shape, isa: isas[0], pool: ThreadPool(threads: threads), width: width,
                                          height: height, tileHeight: tileHeight)
                networks.append([
                    "network": name, "isa": isas[0].rawValue, "threads": threads, "tile_height": tileHeight,
                    "image": "\(width)x\(height)", "gmacs": t.gmacs, "seconds": t.bestSeconds,
                    "median_seconds": t.medianSeconds,
                ])
            }
        }

        if json {
            var object: [String: Any] = ["peak": peaks, "conv": convs, "peers": peers]
            if !networks.isEmpty { object["networks"] = networks }
            if let note = peerNote { object["peers_note"] = note }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("int8 peak (register-only microkernel per kernel family)")
        print(pad("isa", 12) + pad("threads", 9) + "GMAC/s")
        for p in peaks {
            print(pad(p["isa"] as! String, 12) + pad("\(p["threads"]!)", 9) + fixed(p["gmacs"] as! Double, 1))
        }
        for isa in isas {
            let one = peaks.first { $0["isa"] as! String == isa.rawValue && $0["threads"] as! Int == 1 }
            for p in peaks where p["isa"] as! String == isa.rawValue && (p["threads"] as! Int) > 1 {
                guard let one = one else { continue }
                let scaling = (p["gmacs"] as! Double) / (one["gmacs"] as! Double)
                print("  \(isa.rawValue): the peak with \(p["threads"]!) threads is \(fixed(scaling, 2))x the 1-thread peak"
                    + (scaling < 0.9 * Double(p["threads"] as! Int) ? " (this machine does not give each thread a full core now)" : ""))
            }
        }
        print("\n\(layer), U7 x S8 -> U7, best of \(repetitions) (median)")
        print(pad("isa", 12) + pad("threads", 9) + pad("GMAC/s", 9) + pad("of peak", 9) + pad("ms", 17) + "vs 1 thread")
        for c in convs {
            let isa = c["isa"] as! String, threads = c["threads"] as! Int, seconds = c["seconds"] as! Double
            let one = convs.first { $0["isa"] as! String == isa && $0["threads"] as! Int == 1 }
            let speedup = one.map { fixed(($0["seconds"] as! Double) / seconds, 2) + "x" } ?? "-"
            print(pad(isa, 12) + pad("\(threads)", 9) + pad(fixed(c["gmacs"] as! Double, 1), 9)
                + pad(fixed(100 * (c["fraction_of_peak"] as! Double), 1) + "%", 9)
                + pad(fixed(1e3 * seconds, 2) + " (" + fixed(1e3 * (c["median_seconds"] as! Double), 2) + ")", 17) + speedup)
        }
        if !networks.isEmpty {
            let tiles = tileHeight == 0 ? "one tile per thread" : "\(tileHeight)-row tiles"
            print("\nwhole networks, tiled executor (\(tiles)), useful GMAC/s (halo recomputation not counted)")
            print(pad("network", 10) + pad("isa", 12) + pad("threads", 9) + pad("GMAC/s", 9) + "ms (median)")
            for n in networks where n["gmacs"] != nil {
                print(pad(n["network"] as! String, 10) + pad(n["isa"] as! String, 12) + pad("\(n["threads"]!)", 9)
                    + pad(fixed(n["gmacs"] as! Double, 1), 9)
                    + fixed(1e3 * (n["seconds"] as! Double), 1) + " (" + fixed(1e3 * (n["median_seconds"] as! Double), 1) + ")")
            }
        }
        if let up = networks.first(where: { $0["network"] as! String == "upsample2x-bicubic" }) {
            print("bicubic x2 upsampling to \(width)x\(height): " + fixed(1e3 * (up["seconds"] as! Double), 1)
                + " ms (reference implementation " + fixed(1e3 * (up["reference_seconds"] as! Double), 1) + " ms, same bytes)")
        }
        if !peers.isEmpty {
            print("\npeers, same layer (Benchmarks/peers.py, a stack of 8 layers, best of 5; ONNX Runtime int8 best of \(rounds) rounds)")
            print(pad("runtime", 20) + pad("threads", 9) + "GMAC/s")
            for p in peers {
                let g = (p["gmacs"] as? Double).map { fixed($0, 1) } ?? "failed: \(p["error"] ?? "")"
                print(pad(p["name"] as! String, 20) + pad("\(p["threads"]!)", 9) + g)
            }
        }
        if let note = peerNote { print("\n" + note) }
    }

    /// Runs Benchmarks/peers.py with `threads`; returns its rows, or a note saying why not.
    private func runPeers(threads: Int, only: String?) -> ([[String: Any]], String?) {
        guard let script = findPeersScript() else {
            return ([], "peers skipped: Benchmarks/peers.py not found (run comrec bench from the repository)")
        }
        let benchmarks = (script as NSString).deletingLastPathComponent
        let interpreter = python ?? benchmarks + "/.venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: interpreter) else {
            return ([], "peers skipped: \(interpreter) does not exist; create it with `bash \(benchmarks)/setup-venv.sh`")
        }
        var rows: [[String: Any]] = []
        do {
            FileHandle.standardError.write("measuring peers, \(threads) thread(s)...\n".data(using: .utf8)!)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: interpreter)
            process.arguments = [script, "--json", "--threads", "\(threads)", "--width", "\(width)", "--height", "\(height)"]
                + (only.map { ["--only", $0] } ?? [])
            let pipe = Pipe()
            process.standardOutput = pipe
            do {
                try process.run()
            } catch {
                return (rows, "peers failed: cannot run \(interpreter): \(error)")
            }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0,
                  let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
                return (rows, "peers failed: \(script) exited with status \(process.terminationStatus)")
            }
            rows += list
        }
        return (rows, nil)
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

private func fixed(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }
