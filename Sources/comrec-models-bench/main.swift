// comrec-models-bench: times a model folder's networks and runs whole encodes and decodes with it,
// without compiling the model in (the folder is read at run time, exactly as comrec-compile reads
// it). Benchmarks/onnx_models.py runs it beside ONNX Runtime; docs/performance.md has the figures.
//
//   comrec-models-bench networks MODEL_DIR [--threads N] [--width W] [--height H] [--repeat R]
//       RecCNN (and ComCNN) over a W x H image: best and median seconds, one JSON object per line.
//   comrec-models-bench encode MODEL_DIR INPUT -o OUTPUT [--quality Q]
//   comrec-models-bench decode MODEL_DIR INPUT -o OUTPUT
//       What `comrec encode` / `comrec decode` do, with the folder's model as the profile (threads:
//       COMREC_THREADS, kernels: COMREC_ISA, as the CLI).
import ComRecCodec
import ComRecCompiler
import ComRecIO
import ComRecKernels
import ComRecModels
import ComRecBench
import ComRecRuntime
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("comrec-models-bench: \(message)\n".utf8))
    exit(1)
}

var arguments = Array(CommandLine.arguments.dropFirst())
@MainActor func option(_ name: String, _ fallback: String? = nil) -> String? {
    guard let i = arguments.firstIndex(of: name) else { return fallback }
    guard i + 1 < arguments.count else { fail("\(name) needs a value") }
    let value = arguments[i + 1]
    arguments.removeSubrange(i...(i + 1))
    return value
}
@MainActor func intOption(_ name: String, _ fallback: Int) -> Int {
    guard let text = option(name) else { return fallback }
    guard let v = Int(text), v > 0 else { fail("\(name) must be a positive integer") }
    return v
}

let usage = "usage: comrec-models-bench networks|encode|decode MODEL_DIR ... (see the source's header)"
guard arguments.count >= 2 else { fail(usage) }
let launch = monotonicSeconds()
let command = arguments.removeFirst(), folder = arguments.removeFirst()
let model: LearnedModel
do {
    model = try CompiledModel(folder: folder).learnedModel()
} catch {
    fail("\(error)")
}

/// Best and median of `repeat` timed runs after one warm-up run.
func time(_ repeatCount: Int, _ body: () -> Void) -> (best: Double, median: Double) {
    body()
    var times: [Double] = []
    for _ in 0..<repeatCount {
        let t0 = monotonicSeconds()
        body()
        times.append(monotonicSeconds() - t0)
    }
    times.sort()
    return (times[0], times[times.count / 2])
}

/// Runs `body`; a refused allocation ends the tool with the bytes named.
func orFail(_ body: () throws(AllocationFailure) -> Void) {
    do { try body() } catch { fail("out of memory: the system refused \(error.bytes) bytes") }
}

func printJSON(_ object: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

switch command {
case "networks":
    let threads = intOption("--threads", NetworkRunner.defaultThreadCount())
    let width = intOption("--width", 768), height = intOption("--height", 512), repeatCount = intOption("--repeat", 5)
    let isa: KernelISA
    do { isa = try KernelISA.select() } catch { fail("\(error)") }
    let runner = NetworkRunner.threaded(pool: ThreadPool(threads: threads), isa: isa)
    let cw = (width + 1) / 2, ch = (height + 1) / 2
    let image = (0..<(width * height * 3)).map { UInt8(truncatingIfNeeded: ($0 * 7919) >> 3) }
    var output = [UInt8](repeating: 0, count: width * height * 3)
    var compact = [UInt8](repeating: 0, count: cw * ch * 3)
    var rows: [[String: Any]] = []
    // The RecCNN alone (what ONNX Runtime runs), then the whole reconstruction (upsampling too).
    let recInput = model.rec.role == .reccnnDecoded ? (cw, ch) : (width, height)
    let recTime = time(repeatCount) { orFail { () throws(AllocationFailure) in
        try runner.run(layers: model.rec.packed, input: image, inputWidth: recInput.0, inputHeight: recInput.1,
                       base: image, output: &output, outputWidth: width, outputHeight: height)
    } }
    rows.append(["network": "rec", "input": [recInput.0, recInput.1], "best_s": recTime.best, "median_s": recTime.median])
    let reconstructTime = time(repeatCount) { orFail { () throws(AllocationFailure) in
        try model.reconstruct(compact: image, compactWidth: cw, compactHeight: ch, width: width, height: height,
                              output: &output, runner: runner)
    } }
    rows.append(["network": "reconstruct", "input": [cw, ch], "best_s": reconstructTime.best, "median_s": reconstructTime.median])
    if let com = model.com {
        let comTime = time(repeatCount) { orFail { () throws(AllocationFailure) in
            try runner.run(layers: com.packed, input: image, inputWidth: width, inputHeight: height,
                           base: compact, output: &compact, outputWidth: cw, outputHeight: ch)
        } }
        rows.append(["network": "com", "input": [width, height], "best_s": comTime.best, "median_s": comTime.median])
    }
    for row in rows {
        var r = row
        r["profile"] = model.profile
        r["threads"] = threads
        r["isa"] = isa.rawValue
        r["size"] = [width, height]
        printJSON(r)
    }
case "encode", "decode":
    guard let output = option("-o"), arguments.count >= 1 else { fail(usage) }
    let quality = intOption("--quality", EncodeOptions.defaultQuality)
    let input = arguments[0]
    let runner: NetworkRunner
    do { runner = try NetworkRunner.shared() } catch { fail("\(error)") }
    let profile = Profile.learned(model: model, runner: runner)
    do {
        let t0 = monotonicSeconds()
        if command == "encode" {
            let image = try readImage(path: input)
            let file = try ComRecPipeline(jpeg: LibJPEG(), profiles: [profile]).encode(image, profile: profile, settings: JPEGSettings(quality: quality, tables: .comrec))
            try writeFileAtomically(file, to: output, force: true)
            print("\(input) -> \(output): \(image.width) x \(image.height), \(file.count) bytes, \(String(format: "%.3f", monotonicSeconds() - t0)) s")
        } else {
            // `comrec decode` (ComRecIO.decodeFile) with this profile: read, decode, PNG, write.
            let bytes = try readInputFile(input)
            let t1 = monotonicSeconds()
            let image = try ComRecPipeline(jpeg: LibJPEG(), profiles: [profile]).decode(bytes)
            let t2 = monotonicSeconds()
            let png = try PNG.encode(image)
            let t3 = monotonicSeconds()
            try writeFileAtomically(png, to: output, force: true)
            let t4 = monotonicSeconds()
            func ms(_ a: Double, _ b: Double) -> String { String(format: "%.0f", (b - a) * 1000) }
            print("\(input) -> \(output): \(image.width) x \(image.height), \(String(format: "%.3f", t4 - t0)) s "
                  + "(model load \(ms(launch, t0)) ms, read \(ms(t0, t1)), decode \(ms(t1, t2)), PNG \(ms(t2, t3)), write \(ms(t3, t4)))")
        }
    } catch {
        fail("\(error)")
    }
default:
    fail(usage)
}
