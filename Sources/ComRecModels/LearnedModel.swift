import ComRecKernels

// Turns the blobs of a generated model (ModelSource.swift) into runnable networks: decode the
// base64 once, check the header against the shapes the generated file states, keep the canonical
// layers (for the reference) and pack them once for the kernels (Packing.swift).

/// Why a blob cannot be used.
public enum ModelBlobError: Error, Sendable, CustomStringConvertible {
    case base64
    case header(String)
    case shape(String)
    case size(expected: Int, actual: Int)
    case weightOutOfRange(layer: Int)

    public var description: String {
        switch self {
        case .base64: return "the base64 text is malformed"
        case .header(let why): return why
        case .shape(let why): return why
        case .size(let expected, let actual): return "\(actual) bytes where \(expected) were expected"
        case .weightOutOfRange(let layer): return "layer \(layer) has a weight of -128 (weights are -127...127)"
        }
    }
}

/// One decoded network: canonical layers over its own copy of the blob, and packed layers.
public final class LearnedNetwork: @unchecked Sendable {
    public let role: NetworkRole
    public let shapes: [LayerShape]
    /// Canonical layers (weights point into `blob`; biases and multipliers are decoded copies).
    public let canonical: [Conv3x3Canonical]
    /// The same layers in the kernels' packing, what the runners execute.
    public let packed: [Conv3x3Packed]
    /// The decoded blob, as hashed into the model hash.
    public let blob: UnsafeRawBufferPointer
    private let parameters: UnsafeMutableRawPointer

    /// Parses a blob (format 1, ModelSource.swift) and checks it for `role`.
    public init(blob bytes: [UInt8], role expectedRole: NetworkRole? = nil) throws(ModelBlobError) {
        guard bytes.count >= 8, bytes[0] == 0x43, bytes[1] == 0x52, bytes[2] == 0x4E, bytes[3] == 0x31 else {
            throw .header("not a ComRec network blob (magic CRN1)")
        }
        guard let role = NetworkRole(rawValue: bytes[4]) else { throw .header("unknown network role \(bytes[4])") }
        if let expectedRole, expectedRole != role { throw .header("network role \(role.rawValue) where \(expectedRole.rawValue) was expected") }
        guard bytes[5] == 1 else { throw .header("integer semantics version \(bytes[5]); this build knows 1") }
        let count = Int(bytes[6]) | Int(bytes[7]) << 8
        let header = NetworkSource.headerBytes(layerCount: count)
        guard bytes.count >= header else { throw .size(expected: header, actual: bytes.count) }
        var shapes: [LayerShape] = []
        for l in 0..<count {
            let p = 8 + 8 * l
            guard let kind = LayerKindCode.kind(bytes[p]) else { throw .header("layer \(l): unknown kind \(bytes[p])") }
            let cin = Int(bytes[p + 2]) | Int(bytes[p + 3]) << 8
            let cout = Int(bytes[p + 4]) | Int(bytes[p + 5]) << 8
            shapes.append(LayerShape(kind, cin, cout, stride: Int(bytes[p + 1])))
        }
        try checkShapes(shapes, role: role)
        var total = header
        for s in shapes { total += s.blobBytes }
        guard bytes.count == total else { throw .size(expected: total, actual: bytes.count) }

        // One allocation: the blob, then each layer's bias and multipliers, 4-byte aligned.
        var parameterCount = 0
        for s in shapes { parameterCount += 2 * s.outChannels }
        let blobStart = 4 * parameterCount
        let storage = UnsafeMutableRawPointer.allocate(byteCount: blobStart + bytes.count, alignment: 64)
        bytes.withUnsafeBytes { (storage + blobStart).copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        let blobBase = UnsafeRawPointer(storage + blobStart)
        var layers: [Conv3x3Canonical] = []
        var offset = header, slot = 0
        for (l, s) in shapes.enumerated() {
            let weights = (blobBase + offset).assumingMemoryBound(to: Int8.self)
            for i in 0..<(s.outChannels * 9 * s.inChannels) where weights[i] == -128 {
                storage.deallocate()
                throw .weightOutOfRange(layer: l)
            }
            offset += s.outChannels * 9 * s.inChannels
            let bias = storage.advanced(by: 4 * slot).bindMemory(to: Int32.self, capacity: s.outChannels)
            let multipliers = storage.advanced(by: 4 * (slot + s.outChannels)).bindMemory(to: Float.self, capacity: s.outChannels)
            for c in 0..<s.outChannels {
                bias[c] = Int32(bitPattern: readUInt32(bytes, offset + 4 * c))
                multipliers[c] = Float(bitPattern: readUInt32(bytes, offset + 4 * (s.outChannels + c)))
            }
            offset += 8 * s.outChannels
            slot += 2 * s.outChannels
            layers.append(Conv3x3Canonical(
                kind: s.kind, inChannels: s.inChannels, outChannels: s.outChannels, stride: s.stride,
                weights: weights, bias: bias, multipliers: multipliers))
        }
        self.role = role
        self.shapes = shapes
        self.canonical = layers
        self.packed = layers.map { Conv3x3Packed.allocate(packing: $0) }
        self.blob = UnsafeRawBufferPointer(start: blobBase, count: bytes.count)
        self.parameters = storage
    }

    deinit {
        for p in packed { p.deallocate() }
        parameters.deallocate()
    }

    /// Decodes a generated network and checks it against the shapes its file states.
    public convenience init(source: NetworkSource) throws(ModelBlobError) {
        guard let bytes = source.base64.withUTF8Buffer({ decodeBase64($0) }) else { throw .base64 }
        guard bytes.count == source.blobBytes else { throw .size(expected: source.blobBytes, actual: bytes.count) }
        try self.init(blob: bytes, role: source.role)
        guard shapes == source.layers else { throw .shape("the blob's layers differ from the generated layer table") }
    }

    /// Multiply-accumulates per pixel of the network's input grid (for reports).
    public var macsPerInputPixel: Double {
        var area = 1.0, total = 0.0
        for s in shapes {
            area /= Double(s.stride * s.stride)
            total += Double(s.macsPerOutputPixel) * area
        }
        return total
    }
}

@inline(__always)
private func readUInt32(_ bytes: [UInt8], _ i: Int) -> UInt32 {
    UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
}

/// The rules every network of a role follows (docs/models.md): what NetworkTilePlan runs, with
/// the wiring of docs/int8.md.
public func checkShapes(_ shapes: [LayerShape], role: NetworkRole) throws(ModelBlobError) {
    guard shapes.count >= 2 else { throw .shape("a network has at least a first and a last layer") }
    guard shapes[0].kind == .firstConv3x3, shapes[0].inChannels == 3 else {
        throw .shape("layer 0 must read the 3 RGB8 channels")
    }
    var downscale = 1
    for (l, s) in shapes.enumerated() {
        guard s.stride == 1 || s.stride == 2 else { throw .shape("layer \(l): stride \(s.stride)") }
        guard s.inChannels >= 1, s.outChannels >= 1, s.inChannels <= 1024, s.outChannels <= 1024 else {
            throw .shape("layer \(l): \(s.inChannels) -> \(s.outChannels) channels")
        }
        downscale *= s.stride
        if l > 0 {
            let previous = shapes[l - 1]
            guard s.inChannels == previous.outChannels else {
                throw .shape("layer \(l) reads \(s.inChannels) channels, layer \(l - 1) writes \(previous.outChannels)")
            }
            // The previous output tensor holds paddedOutChannels channels per pixel; the kernel
            // reads kernelInChannels: they must agree (a multiple of 16 does).
            guard paddedOutChannels(previous.outChannels) == kernelInChannels(kind: s.kind, inChannels: s.inChannels) else {
                throw .shape("layer \(l - 1) has \(previous.outChannels) output channels; hidden widths must be multiples of 16")
            }
        }
        if l > 0 && l < shapes.count - 1 && s.kind != .conv3x3 { throw .shape("layer \(l) must be a hidden conv3x3") }
    }
    let last = shapes[shapes.count - 1]
    switch role {
    case .comcnn:
        guard last.kind == .lastConv3x3Residual, last.outChannels == 3 else { throw .shape("ComCNN ends in a 3-channel residual") }
        guard downscale == 2 else { throw .shape("ComCNN must halve the resolution with one stride-2 layer") }
    case .reccnnUpsampled:
        guard last.kind == .lastConv3x3Residual, last.outChannels == 3 else { throw .shape("paper RecCNN ends in a 3-channel residual") }
        guard downscale == 1 else { throw .shape("RecCNN layers have stride 1") }
    case .reccnnDecoded:
        guard last.kind == .lastConv3x3PixelShuffleResidual, last.outChannels == 12 else {
            throw .shape("fast RecCNN ends in a 12-channel pixel-shuffled residual")
        }
        guard downscale == 1 else { throw .shape("RecCNN layers have stride 1") }
    case .enhancer:
        switch last.kind {
        case .lastConv3x3Residual:
            guard last.outChannels == 3, downscale == 1 else {
                throw .shape("a full-resolution enhancer ends in a 3-channel residual, with stride 1 throughout")
            }
        case .lastConv3x3PixelShuffleResidual:
            guard last.outChannels == 12, downscale == 2 else {
                throw .shape("a pixel-shuffled enhancer halves the resolution once and ends in 12 channels")
            }
        default:
            throw .shape("an enhancer ends in a residual layer")
        }
    }
}

/// The networks of one profile, decoded and packed.
public final class LearnedModel: @unchecked Sendable {
    public let profile: String
    public let summary: String
    public let modelHash: UInt64
    /// ComCNN, or nil when the compact image is the 2x2 average (and for an enhancer).
    public let com: LearnedNetwork?
    /// The decoding network: a RecCNN (half-resolution mode) or an enhancer (full-resolution mode).
    public let rec: LearnedNetwork

    public init(profile: String, summary: String, modelHash: UInt64, com: LearnedNetwork?, rec: LearnedNetwork) {
        precondition(com == nil || com!.role == .comcnn, "the compact network must be a ComCNN")
        precondition(rec.role != .comcnn, "the decoding network must be a RecCNN or an enhancer")
        precondition(rec.role != .enhancer || com == nil, "an enhancer model has no ComCNN")
        self.profile = profile
        self.summary = summary
        self.modelHash = modelHash
        self.com = com
        self.rec = rec
    }

    /// Decodes a generated model. A failure means the generated file was edited or damaged: it
    /// stops the program with the reason (regenerate the file, docs/models.md).
    public convenience init(_ source: ModelSource) {
        do {
            let com = try source.com.map { (s: NetworkSource) throws(ModelBlobError) in try LearnedNetwork(source: s) }
            let rec = try LearnedNetwork(source: source.rec)
            self.init(profile: source.profile, summary: source.summary, modelHash: source.modelHash, com: com, rec: rec)
        } catch {
            fatalError("generated model \(source.profile) is damaged (\(error.description)); regenerate it with comrec-compile")
        }
    }

    /// Whether this is a full-resolution enhancer (`enhance`) rather than a half-resolution pair
    /// (`makeCompact`, `reconstruct`).
    public var isEnhancer: Bool { rec.role == .enhancer }

    /// The bytes the model hash is computed over: ComCNN's blob (if any), then RecCNN's.
    public var hashedBytes: [UInt8] {
        var out: [UInt8] = []
        if let com { out += com.blob }
        out += rec.blob
        return out
    }
}
