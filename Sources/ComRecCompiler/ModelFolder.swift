import ComRecKernels
import ComRecModels
import Foundation

// Reads a model folder (Weights/<profile>/ from export.py + qat.py, or Fixtures/models/<name>/
// from make_test_model.py) and builds the network blobs of ModelSource.swift, checking every
// shape, dtype and range that the runtime relies on.

/// One network ready to emit: its role, layers and blob.
public struct CompiledNetwork {
    public var role: NetworkRole
    public var layers: [LayerShape]
    public var blob: [UInt8]

    /// Multiply-accumulates per pixel of the profile's output image (RecCNN) or input image (ComCNN).
    public var macsPerImagePixel: Double {
        var area = 1.0, total = 0.0
        for s in layers {
            area /= Double(s.stride * s.stride)
            total += Double(s.macsPerOutputPixel) * area
        }
        // The fast RecCNN's grid is the compact image, a quarter of the output's pixels; every
        // other network's grid is its input image.
        return role == .reccnnDecoded ? total / 4 : total
    }
}

/// A whole profile as read from its folder.
public struct CompiledModel {
    public var profile: String
    public var synthetic: Bool
    public var com: CompiledNetwork?
    /// The decoding network: RecCNN, or the enhancer of a full-resolution model.
    public var rec: CompiledNetwork
    /// Whether config.json says `"mode": "full"` (an enhancer).
    public var fullResolution: Bool { rec.role == .enhancer }
    /// SHA-256 (hex) of config.json and int8.safetensors, recorded in the generated file.
    public var configSHA256: String
    public var weightsSHA256: String
    /// For an enhancer that restores another enhancer's output (config.json's "second_pass_of"),
    /// that enhancer's folder name; nil otherwise.
    public var secondPassOf: String?

    /// The model hash: SHA-256 over the blobs (ComCNN's first), first 8 bytes.
    public var modelHash: ModelHash { ModelHash(hashing: (com?.blob ?? []) + rec.blob) }

    public var summary: String {
        if fullResolution {
            let width = rec.layers.dropFirst().first?.inChannels ?? 0
            let wiring = rec.role == .enhancer && rec.layers.last?.kind == .lastConv3x3PixelShuffleResidual
                ? "at half resolution + pixel shuffle" : "at full resolution"
            let macs = String(format: "%.0fk", rec.macsPerImagePixel / 1000)
            let input = secondPassOf.map { "\($0)'s output" } ?? "full-resolution JPEG"
            let text = "\(input) + \(secondPassOf == nil ? "" : "second ")enhancer \(rec.layers.count) x \(width) \(wiring), int8 (\(macs) MAC/pixel)"
            return synthetic ? "synthetic test model, random weights: " + text : text
        }
        let compact = com == nil ? "2x2 average" : "ComCNN"
        let width = rec.layers.dropFirst().first?.inChannels ?? 0
        let wiring = rec.role == .reccnnDecoded ? "at compact resolution + pixel shuffle" : "at full resolution"
        let macs = String(format: "%.0fk", rec.macsPerImagePixel / 1000)
        let text = "\(compact) + JPEG + RecCNN \(rec.layers.count) x \(width) \(wiring), int8 (\(macs) MAC/pixel)"
        return synthetic ? "synthetic test model, random weights: " + text : text
    }

    /// Reads `folder` (named `displayFolder` in messages). `profile` overrides config.json's name.
    public init(folder: String, displayFolder: String? = nil, profile: String? = nil) throws {
        let shown = displayFolder ?? folder
        let configPath = (shown as NSString).appendingPathComponent("config.json")
        let weightsPath = (shown as NSString).appendingPathComponent("int8.safetensors")
        let configFile = (folder as NSString).appendingPathComponent("config.json")
        let weightsFile = (folder as NSString).appendingPathComponent("int8.safetensors")
        guard let configData = FileManager.default.contents(atPath: configFile) else {
            throw CompileError("\(configPath): cannot read it; a model folder holds config.json (export.py) and int8.safetensors (qat.py)")
        }
        guard let weightsData = FileManager.default.contents(atPath: weightsFile) else {
            throw CompileError("\(weightsPath): missing; run `python -m comrec_train.qat --weights \(shown)` first (docs/training.md)")
        }
        let file = try SafeTensorsFile(bytes: [UInt8](weightsData), path: weightsPath)
        guard let config = try? JSONSerialization.jsonObject(with: configData) as? [String: Any] else {
            throw CompileError("\(configPath): not a JSON object")
        }
        func fail(_ why: String) -> CompileError { CompileError("\(configPath): \(why)") }
        guard config["format"] as? String == "comrec-float-weights", config["version"] as? Int == 1 else {
            throw fail("not comrec-float-weights version 1 (export.py's config.json)")
        }
        guard let name = profile ?? config["profile"] as? String else { throw fail("no profile name") }
        let nameBytes = Array(name.utf8)
        guard !nameBytes.isEmpty, nameBytes.count <= 16,
              nameBytes.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D || $0 == 0x5F })
        else { throw fail("profile name '\(name)' must be 1...16 of [a-z0-9_-]") }
        guard let networks = config["networks"] as? [String: Any] else { throw fail("no networks") }
        let source = config["source"] as? [String: Any]
        self.profile = name
        self.synthetic = source?["synthetic"] != nil
        self.configSHA256 = hex(sha256([UInt8](configData)))
        self.weightsSHA256 = hex(sha256([UInt8](weightsData)))
        self.secondPassOf = nil
        switch config["mode"] as? String {
        case "full":
            // A full-resolution enhancer (Training/comrec_train/export.py).
            guard config["compact"] as? String == "none", networks.count == 1,
                  let enhance = networks["enhance"] as? [String: Any]
            else { throw fail("a full-resolution model has compact \"none\" and one network, networks.enhance") }
            guard enhance["reads"] as? String == "image", enhance["residual_added_to"] as? String == "image" else {
                throw fail("networks.enhance must read the image and add its residual to it")
            }
            let shuffle = enhance["pixel_shuffle"] as? Int
            guard shuffle == 1 || shuffle == 2 else { throw fail("networks.enhance.pixel_shuffle must be 1 or 2") }
            if let first = config["second_pass_of"] {
                guard let first = first as? String, !first.isEmpty else { throw fail("second_pass_of must name a model folder") }
                self.secondPassOf = first
            }
            self.com = nil
            self.rec = try Self.network("enhance", enhance, role: .enhancer, pixelShuffle: shuffle == 2, file: file,
                                        configPath: configPath, weightsPath: weightsPath)
            return
        case nil, "half":
            break
        case let other?:
            throw fail("mode must be half or full, not \(other)")
        }
        guard let recConfig = networks["rec"] as? [String: Any] else { throw fail("no networks.rec") }
        let compact = config["compact"] as? String
        var com: CompiledNetwork?
        switch compact {
        case "comcnn":
            guard let comConfig = networks["com"] as? [String: Any] else { throw fail("compact is comcnn but there is no networks.com") }
            guard comConfig["reads"] as? String == "image", comConfig["residual_added_to"] as? String == "average2x2",
                  comConfig["pixel_shuffle"] as? Int == 1
            else { throw fail("networks.com must read the image and add its residual to average2x2") }
            com = try Self.network("com", comConfig, role: .comcnn, pixelShuffle: false, file: file, configPath: configPath, weightsPath: weightsPath)
        case "average2x2":
            guard networks["com"] == nil else { throw fail("compact is average2x2 but networks.com exists") }
        default:
            throw fail("compact must be comcnn or average2x2, not \(compact ?? "missing")")
        }
        let role: NetworkRole
        switch (recConfig["reads"] as? String, recConfig["pixel_shuffle"] as? Int) {
        case ("upsampled", 1): role = .reccnnUpsampled
        case ("decoded", 2): role = .reccnnDecoded
        default: throw fail("networks.rec must read upsampled with pixel_shuffle 1 (paper) or decoded with pixel_shuffle 2 (fast)")
        }
        guard recConfig["residual_added_to"] as? String == "upsampled" else { throw fail("networks.rec must add its residual to upsampled") }
        let rec = try Self.network("rec", recConfig, role: role, pixelShuffle: role == .reccnnDecoded, file: file,
                                   configPath: configPath, weightsPath: weightsPath)
        self.com = com
        self.rec = rec
    }

    /// One network's layers from config.json and its tensors from int8.safetensors, as a blob.
    static func network(
        _ prefix: String, _ config: [String: Any], role: NetworkRole, pixelShuffle: Bool, file: SafeTensorsFile,
        configPath: String, weightsPath: String
    ) throws -> CompiledNetwork {
        guard let layers = config["layers"] as? [[String: Any]], !layers.isEmpty else {
            throw CompileError("\(configPath): networks.\(prefix).layers is missing or empty")
        }
        var shapes: [LayerShape] = []
        var payload: [UInt8] = []
        for (i, layer) in layers.enumerated() {
            func fail(_ why: String) -> CompileError { CompileError("\(configPath): networks.\(prefix).layers[\(i)]: \(why)") }
            let last = i == layers.count - 1
            guard layer["name"] as? String == "\(prefix).\(i)" else { throw fail("name must be \(prefix).\(i)") }
            guard layer["kind"] as? String == "conv3x3", layer["padding"] as? Int == 1 else { throw fail("only conv3x3 with padding 1 is supported") }
            guard layer["activation"] as? String == (last ? "none" : "relu") else {
                throw fail(last ? "the last layer has no activation" : "hidden layers end in relu")
            }
            guard let cin = layer["cin"] as? Int, let cout = layer["cout"] as? Int, let stride = layer["stride"] as? Int else {
                throw fail("cin, cout and stride are required")
            }
            let kind: ConvLayerKind = i == 0 ? .firstConv3x3
                : (last ? (pixelShuffle ? .lastConv3x3PixelShuffleResidual : .lastConv3x3Residual) : .conv3x3)
            shapes.append(LayerShape(kind, cin, cout, stride: stride))
            payload += try tensors("\(prefix).\(i)", cin: cin, cout: cout, inputMax: i == 0 ? 255 : 127, file: file, path: weightsPath)
        }
        do {
            try checkShapes(shapes, role: role)
        } catch {
            throw CompileError("\(configPath): networks.\(prefix): \(error.description)")
        }
        var blob: [UInt8] = [0x43, 0x52, 0x4E, 0x31, role.rawValue, 1]
        blob += le16(shapes.count)
        for s in shapes {
            blob += [LayerKindCode.code(s.kind), UInt8(s.stride)] + le16(s.inChannels) + le16(s.outChannels) + [0, 0]
        }
        return CompiledNetwork(role: role, layers: shapes, blob: blob + payload)
    }

    /// A layer's weights, bias and multipliers as blob bytes, after checking dtypes, shapes and
    /// the ranges of docs/int8.md.
    static func tensors(_ name: String, cin: Int, cout: Int, inputMax: Int, file: SafeTensorsFile, path: String) throws -> [UInt8] {
        func get(_ key: String, _ dtype: String, _ shape: [Int]) throws -> [UInt8] {
            guard let t = file.tensors["\(name).\(key)"] else { throw CompileError("\(path): no tensor \(name).\(key)") }
            guard t.dtype == dtype, t.shape == shape else {
                throw CompileError("\(path): \(name).\(key) is \(t.dtype) \(t.shape), expected \(dtype) \(shape)")
            }
            return t.bytes
        }
        let weights = try get("weight", "I8", [cout, 3, 3, cin])
        let bias = try get("bias", "I32", [cout])
        let multipliers = try get("multiplier", "F32", [cout])
        for c in 0..<cout {
            var sum = 0
            for i in 0..<(9 * cin) {
                let w = Int(Int8(bitPattern: weights[c * 9 * cin + i]))
                guard w >= -127 else { throw CompileError("\(path): \(name).weight holds -128 (weights are -127...127)") }
                sum += abs(w)
            }
            let b = Int(Int32(bitPattern: le32(bias, 4 * c)))
            // docs/int8.md: every accumulator, bias included, stays below 2^24 in magnitude, so
            // it converts to Float32 exactly.
            guard sum * inputMax + abs(b) < 1 << 24 else {
                throw CompileError("\(path): \(name), output channel \(c): |acc| can reach \(sum * inputMax + abs(b)) >= 2^24 (docs/int8.md, Range)")
            }
            let m = Float(bitPattern: le32(multipliers, 4 * c))
            guard m.isFinite, m >= 0 else { throw CompileError("\(path): \(name).multiplier[\(c)] = \(m) is not a finite non-negative number") }
        }
        return weights + bias + multipliers
    }
}

func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }

func le32(_ bytes: [UInt8], _ i: Int) -> UInt32 {
    UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

extension CompiledModel {
    /// The model ready to run, built at run time from the folder's blobs: what the generated file
    /// would decode to, without compiling it (benchmarks of models that are not compiled in).
    public func learnedModel() throws -> LearnedModel {
        do {
            return LearnedModel(
                profile: profile, summary: summary, modelHash: modelHash.value,
                com: try com.map { (n: CompiledNetwork) throws(ModelBlobError) in try LearnedNetwork(blob: n.blob, role: .comcnn) },
                rec: try LearnedNetwork(blob: rec.blob, role: rec.role))  // RecCNN or enhancer
        } catch {
            throw CompileError("\(profile): \(error.description)")
        }
    }
}
