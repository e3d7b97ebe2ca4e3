// Which algorithm computes a layer, direct or Winograd F(2x2, 3x3), chosen per kernel family and
// layer shape from measurements recorded here, not from hope. Both give the same bytes, so the
// choice is only about speed. docs/performance.md explains each figure; `comrec bench` reproduces
// the x86 ones and scripts/mca-kernels.py the Arm estimates.

/// One measurement of a layer shape with both algorithms, in effective multiply-accumulates (the
/// direct convolution's MAC count over the time) per second or per cycle.
public struct ConvAlgorithmMeasurement: Sendable {
    /// Kernel family (`KernelISA` raw value).
    public var family: StaticString
    public var inChannels: Int
    public var outChannels: Int
    public var direct: Double
    public var winograd: Double
    /// What was measured where: the CPU (or llvm-mca model), threads, the unit.
    public var source: StaticString

    public var winogradSpeedup: Double { winograd / direct }
}

public enum ConvAlgorithmTable {
    /// The measurements behind the default choice. A family and shape missing here runs direct.
    public static let measurements: [ConvAlgorithmMeasurement] = []

    /// Winograd where the layer admits it and the family's measurement at the nearest channel count
    /// is faster than direct; direct otherwise.
    public static func choice(family: String, layer: Conv3x3Packed) -> ConvAlgorithm {
        guard layer.winogradWeights != nil else { return .direct }
        var best: ConvAlgorithmMeasurement? = nil
        for m in measurements where m.family.description == family {
            if let b = best, abs(b.inChannels - layer.kernelIn) <= abs(m.inChannels - layer.kernelIn) { continue }
            best = m
        }
        guard let best, best.winogradSpeedup > 1 else { return .direct }
        return .winogradF2x3
    }
}

/// How a runner picks each layer's algorithm.
public enum ConvAlgorithmPolicy: String, CaseIterable, Sendable {
    /// `ConvAlgorithmTable.choice`: the measured faster one per family and layer.
    case measured
    /// Direct everywhere.
    case direct
    /// Winograd on every layer that admits it (direct on the others).
    case winograd

    /// One algorithm per layer for kernel family `family`.
    public func algorithms(for layers: [Conv3x3Packed], family: String) -> [ConvAlgorithm] {
        layers.map { layer in
            switch self {
            case .measured: return ConvAlgorithmTable.choice(family: family, layer: layer)
            case .direct: return .direct
            case .winograd: return layer.winogradWeights != nil ? .winogradF2x3 : .direct
            }
        }
    }
}
