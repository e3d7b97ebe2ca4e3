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
    /// The measurements behind the default choice. A family missing here runs direct: avx512vnni
    /// has no measurement (the machine these were taken on has no AVX-512; its vpdpbusd does 64
    /// int8 MACs per instruction against vpdpwssd's 32 Int16 ones, so Winograd's 2.25 times fewer
    /// products leave at most 1.125 times before the transforms).
    public static let measurements: [ConvAlgorithmMeasurement] = [
        ConvAlgorithmMeasurement(
            family: "avx2", inChannels: 64, outChannels: 64, direct: 158.3, winograd: 264.5,
            source: "GMAC/s, AMD EPYC Zen 3 (family 25), 2 threads, 768x512: comrec bench --isa avx2 --rounds 5"),
        ConvAlgorithmMeasurement(
            family: "avx2", inChannels: 32, outChannels: 32, direct: 145.5, winograd: 155.0,
            source: "GMAC/s, AMD EPYC Zen 3 (family 25), 2 threads, 768x512: comrec bench --channels 32"),
        ConvAlgorithmMeasurement(
            family: "avx2", inChannels: 16, outChannels: 16, direct: 134.4, winograd: 123.3,
            source: "GMAC/s, AMD EPYC Zen 3 (family 25), 2 threads, 768x512: comrec bench --channels 16"),
        ConvAlgorithmMeasurement(
            family: "portable", inChannels: 64, outChannels: 64, direct: 14.1, winograd: 28.0,
            source: "GMAC/s, AMD EPYC Zen 3 (family 25), 2 threads, 768x512: comrec bench --isa portable"),
        ConvAlgorithmMeasurement(
            family: "neon", inChannels: 64, outChannels: 64, direct: 6.72, winograd: 8.99,
            source: "MAC/cycle modelled by llvm-mca 16 for cortex-a72 (cortex-a53: 2.06 and 4.28): scripts/mca-kernels.py"),
        ConvAlgorithmMeasurement(
            family: "neondot", inChannels: 64, outChannels: 64, direct: 19.67, winograd: 8.99,
            source: "MAC/cycle modelled by llvm-mca 16 for cortex-a76: scripts/mca-kernels.py"),
    ]

    /// Winograd where the layer admits it and the family's measurement at the nearest channel count
    /// is faster than direct; direct otherwise.
    public static func choice(family: String, layer: Conv3x3Packed) -> ConvAlgorithm {
        guard layer.winogradWeights != nil else { return .direct }
        var best: ConvAlgorithmMeasurement? = nil
        for m in measurements where sameName(m.family, family) {
            if let b = best, abs(b.inChannels - layer.kernelIn) <= abs(m.inChannels - layer.kernelIn) { continue }
            best = m
        }
        guard let best, best.winogradSpeedup > 1 else { return .direct }
        return .winogradF2x3
    }
}

/// Byte comparison (String's == normalises Unicode, which Embedded Swift would have to link in).
func sameName(_ a: StaticString, _ b: String) -> Bool {
    a.withUTF8Buffer { $0.elementsEqual(b.utf8) }
}

/// How a runner picks each layer's algorithm.
public enum ConvAlgorithmPolicy: CaseIterable, Sendable {
    /// `ConvAlgorithmTable.choice`: the measured faster one per family and layer.
    case measured
    /// Direct everywhere.
    case direct
    /// Winograd on every layer that admits it (direct on the others).
    case winograd

    /// "measured", "direct" or "winograd", as COMREC_CONV spells it.
    public var name: String {
        switch self {
        case .measured: return "measured"
        case .direct: return "direct"
        case .winograd: return "winograd"
        }
    }

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
