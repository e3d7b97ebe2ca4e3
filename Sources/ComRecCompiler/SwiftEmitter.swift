import ComRecKernels
import ComRecModels
import Foundation

// The text of a generated model file. Small on purpose: a few structs and one base64 StaticString
// per network, so that it compiles in a fraction of a second whatever the model size (an [Int8]
// array literal of 100k elements took 19 s with swiftc -O) and stays Embedded-safe.

/// Characters per base64 line (a multiple of 4: every line is whole groups).
let base64LineLength = 100

func emitSwift(_ model: CompiledModel, typeName: String, request: GeneratorRequest) -> String {
    let variable = typeName.prefix(1).lowercased() + typeName.dropFirst()
    var s = "\(GeneratorRequest.firstLinePrefix)\(request.folder) — do not edit; regenerate with: "
        + "swift run comrec-compile \(request.arguments.joined(separator: " "))\n"
    s += "//\n"
    s += "// Profile \(model.profile), model hash \(model.modelHash) (the first 8 bytes of SHA-256 over the\n"
    s += "// network blobs below, ComCNN's first; blob format in Sources/ComRecModels/ModelSource.swift).\n"
    s += "// From config.json (SHA-256 \(model.configSHA256))\n"
    s += "// and int8.safetensors (SHA-256 \(model.weightsSHA256)).\n"
    if model.synthetic { s += "// A synthetic test model: random weights, not trained (Training/comrec_train/make_test_model.py).\n" }
    s += "//\n"
    if model.fullResolution {
        if let first = model.secondPassOf {
            s += "// A second pass: its input (\"the decoded JPEG\" below) is the output of the enhancer of \(first).\n"
        }
        s += model.rec.layers.last?.kind == .lastConv3x3PixelShuffleResidual
            ? "// Enhancer (full-resolution mode, fast wiring): reads the decoded JPEG padded to even sizes, stride-2 first layer; 12-channel residual pixel-shuffled onto the decoded JPEG.\n"
            : "// Enhancer (full-resolution mode, paper wiring): reads the decoded JPEG; residual onto it.\n"
    } else if let com = model.com {
        s += "// ComCNN: reads the image replicate-padded to even sizes; residual onto its 2x2 average.\n"
        s += layerTable(com)
    } else {
        s += "// Compact image: the integer 2x2 average (no ComCNN).\n"
    }
    if !model.fullResolution {
        s += model.rec.role == .reccnnDecoded
        ? "// RecCNN (fast wiring): reads the decoded compact image; 12-channel residual pixel-shuffled onto its x2 upsampling.\n"
        : "// RecCNN (paper wiring): reads the x2 upsampling of the decoded compact image; residual onto it.\n"
    }
    s += layerTable(model.rec)
    s += """
        //
        // Schedule (NetworkTilePlan): the output is cut into tiles of rows; a tile streams rows through
        // the layers, each layer keeping a ring of its last 5 output rows, so memory depends on the
        // width and the depth, not the height. The last layer adds its residual to the base row by
        // row. A NetworkRunner chooses the threads and the kernel family; the bytes never depend on it.
        import ComRecKernels
        import ComRecModels

        """
    s += "\n"
    s += "/// Profile `\(model.profile)`: \(model.summary).\n"
    s += "public enum \(typeName): GeneratedModel {\n"
    s += "    public static let source = ModelSource(\n"
    s += "        profile: \(literal(model.profile)),\n"
    s += "        summary: \(literal(model.summary)),\n"
    s += "        modelHash: 0x\(model.modelHash),\n"
    s += "        com: \(model.com.map { networkSource($0, blob: "\(variable)ComBase64") } ?? "nil"),\n"
    s += "        rec: \(networkSource(model.rec, blob: "\(variable)RecBase64")))\n"
    s += "\n"
    s += "    /// Decoded and packed on first use.\n"
    s += "    public static let model = LearnedModel(source)\n"
    s += "}\n"
    if let com = model.com { s += base64Literal("\(variable)ComBase64", com.blob) }
    s += base64Literal("\(variable)RecBase64", model.rec.blob)
    return s
}

private func networkSource(_ network: CompiledNetwork, blob: String) -> String {
    let role: String
    switch network.role {
    case .comcnn: role = ".comcnn"
    case .reccnnUpsampled: role = ".reccnnUpsampled"
    case .reccnnDecoded: role = ".reccnnDecoded"
    case .enhancer: role = ".enhancer"
    }
    var s = "NetworkSource(\n"
    s += "            role: \(role),\n"
    s += "            layers: [\n"
    for l in network.layers {
        let stride = l.stride == 1 ? "" : ", stride: \(l.stride)"
        s += "                LayerShape(.\(kindName(l.kind)), \(l.inChannels), \(l.outChannels)\(stride)),\n"
    }
    s += "            ],\n"
    s += "            base64: \(blob), blobBytes: \(network.blob.count))"
    return s
}

private func kindName(_ kind: ConvLayerKind) -> String {
    switch kind {
    case .firstConv3x3: return "firstConv3x3"
    case .conv3x3: return "conv3x3"
    case .lastConv3x3Residual: return "lastConv3x3Residual"
    case .lastConv3x3PixelShuffleResidual: return "lastConv3x3PixelShuffleResidual"
    }
}

/// The layer table of a header comment.
private func layerTable(_ network: CompiledNetwork) -> String {
    func row(_ cells: [String]) -> String {
        "//   " + [pad(cells[0], 5), pad(cells[1], 31), pad(cells[2], 3, right: true), pad(cells[3], 4, right: true),
                   pad(cells[4], 6, right: true), pad(cells[5], 8, right: true)]
            .joined(separator: " ") + "\n"
    }
    var s = row(["layer", "kind", "in", "out", "stride", "weights"])
    for (i, l) in network.layers.enumerated() {
        s += row(["\(i)", kindName(l.kind), "\(l.inChannels)", "\(l.outChannels)", "\(l.stride)",
                  "\(9 * l.inChannels * l.outChannels)"])
    }
    s += "//   \(String(format: "%.0f", network.macsPerImagePixel)) multiply-accumulates per "
        + (network.role == .comcnn ? "input" : "output") + " pixel.\n"
    return s
}

private func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - text.count))
    return right ? fill + text : text + fill
}

private func literal(_ text: String) -> String {
    "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}

private func base64Literal(_ name: String, _ bytes: [UInt8]) -> String {
    let text = Data(bytes).base64EncodedString()
    var s = "\nprivate let \(name): StaticString = \"\"\"\n"
    var start = text.startIndex
    while start < text.endIndex {
        let end = text.index(start, offsetBy: base64LineLength, limitedBy: text.endIndex) ?? text.endIndex
        s += text[start..<end] + "\n"
        start = end
    }
    s += "\"\"\"\n"
    return s
}
