// Which kernel family runs: chosen once at start from cpuid (x86) or the build (ARM), and
// overridable so that tests and the bench can run every variant the machine supports:
//   COMREC_ISA=avx512vnni|avx2|neondot|neon|portable   (or the `override` argument)
import CComRecCPU
import ComRecKernels

#if arch(x86_64)
import ComRecKernelsAVX2
import ComRecKernelsAVX512
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A kernel family: one per instruction set.
public enum KernelISA: String, CaseIterable, Sendable {
    case avx512vnni, avx2, neondot, neon, portable

    /// Families this CPU (and this build) can run, best first; `portable` always.
    public static let supported: [KernelISA] = {
        var isas: [KernelISA] = []
        #if arch(x86_64)
        let features = ccomrec_x86_features()
        if features & UInt32(CCOMREC_X86_AVX512VNNI) != 0 { isas.append(.avx512vnni) }
        if features & UInt32(CCOMREC_X86_AVX2) != 0 { isas.append(.avx2) }
        #elseif arch(arm64)
        #if COMREC_NEON_DOT
        isas.append(.neondot)
        #endif
        isas.append(.neon)
        #endif
        isas.append(.portable)
        return isas
    }()

    /// The best supported family.
    public static var best: KernelISA { supported[0] }

    /// `override`, else `COMREC_ISA` from the environment, else the best supported family.
    /// Throws when the name is unknown or the CPU cannot run it.
    public static func select(override: KernelISA? = nil) throws(KernelISAError) -> KernelISA {
        var choice = override
        if choice == nil, let raw = getenv("COMREC_ISA") {
            let name = String(cString: raw)
            if !name.isEmpty {
                guard let isa = KernelISA(rawValue: name) else {
                    throw KernelISAError.unknownFamily(name)
                }
                choice = isa
            }
        }
        guard let isa = choice else { return best }
        guard supported.contains(isa) else {
            throw KernelISAError.unsupported(isa, supported: supported)
        }
        return isa
    }

    /// The kernels of this family, by their names (op, types, tile, ISA).
    public var kernelNames: [String] {
        switch self {
        case .avx512vnni: return ["conv3x3U7S8_64x6_avx512vnni", "conv3x3U7S8_16x8_avx512vnni"]
        case .avx2: return ["conv3x3U7S8_16x4_avx2"]
        case .neondot: return ["conv3x3U7S8_16x4_neondot"]
        case .neon: return ["conv3x3U7S8_16x1_neon"]
        case .portable: return ["conv3x3U7S8_16x1_portable"]
        }
    }

    /// Computes one output row with this family (see `Conv3x3Row`). The caller checked support.
    public func conv3x3(_ row: Conv3x3Row) {
        switch self {
        #if arch(x86_64)
        case .avx512vnni: AVX512VNNIConv3x3.conv3x3(row)
        case .avx2: AVX2Conv3x3.conv3x3(row)
        #endif
        #if arch(arm64)
        #if COMREC_NEON_DOT
        case .neondot: NeonDotConv3x3.conv3x3(row)
        #endif
        case .neon: NeonConv3x3.conv3x3(row)
        #endif
        default: PortableConv3x3.conv3x3(row)
        }
    }

    /// The Winograd F(2x2, 3x3) kernel of this family (the portable one where the family has
    /// none of its own).
    public var winogradKernelName: String {
        switch self {
        case .avx2: return "conv3x3WinogradF2x3U7S16_16x6_avx2"
        case .neon, .neondot: return "conv3x3WinogradF2x3U7S16_16x3_neon"
        default: return "conv3x3WinogradF2x3U7S16_16x1_portable"
        }
    }

    /// Computes two output rows with this family's Winograd kernel (see `Conv3x3RowPair`).
    public func conv3x3WinogradF2x3(_ pair: Conv3x3RowPair) {
        switch self {
        #if arch(x86_64)
        case .avx512vnni: AVX512VNNIConv3x3.conv3x3WinogradF2x3(pair)
        case .avx2: AVX2Conv3x3.conv3x3WinogradF2x3(pair)
        #endif
        #if arch(arm64)
        #if COMREC_NEON_DOT
        case .neondot: NeonDotConv3x3.conv3x3WinogradF2x3(pair)
        #endif
        case .neon: NeonConv3x3.conv3x3WinogradF2x3(pair)
        #endif
        default: PortableConv3x3.conv3x3WinogradF2x3(pair)
        }
    }

    /// Runs one tile of `run` with this family.
    public func runTile(_ run: NetworkTilePlan, _ tile: Int, scratch: UnsafeMutableRawPointer) {
        switch self {
        #if arch(x86_64)
        case .avx512vnni: run.runTile(tile, scratch: scratch, kernel: AVX512VNNIConv3x3.self)
        case .avx2: run.runTile(tile, scratch: scratch, kernel: AVX2Conv3x3.self)
        #endif
        #if arch(arm64)
        #if COMREC_NEON_DOT
        case .neondot: run.runTile(tile, scratch: scratch, kernel: NeonDotConv3x3.self)
        #endif
        case .neon: run.runTile(tile, scratch: scratch, kernel: NeonConv3x3.self)
        #endif
        default: run.runTile(tile, scratch: scratch, kernel: PortableConv3x3.self)
        }
    }
}

extension ConvAlgorithmPolicy {
    /// `override`, else `COMREC_CONV` from the environment (measured, direct, winograd), else
    /// `.measured`. Throws when the name is unknown.
    public static func select(override: ConvAlgorithmPolicy? = nil) throws(KernelISAError) -> ConvAlgorithmPolicy {
        if let override { return override }
        guard let raw = getenv("COMREC_CONV") else { return .measured }
        let name = String(cString: raw)
        if name.isEmpty { return .measured }
        guard let policy = ConvAlgorithmPolicy.allCases.first(where: { $0.name == name }) else { throw KernelISAError.unknownAlgorithm(name) }
        return policy
    }
}

/// An unknown or unsupported kernel family (or algorithm policy) was asked for.
public enum KernelISAError: Error, Equatable, Sendable, CustomStringConvertible {
    /// COMREC_ISA names no kernel family.
    case unknownFamily(String)
    /// COMREC_CONV names no algorithm policy.
    case unknownAlgorithm(String)
    /// This CPU or build cannot run the family asked for.
    case unsupported(KernelISA, supported: [KernelISA])

    public var description: String {
        switch self {
        case .unknownFamily(let name):
            return "COMREC_ISA=\(name) is not a kernel family; use one of "
                + KernelISA.allCases.map(\.rawValue).joined(separator: ", ")
        case .unknownAlgorithm(let name):
            return "COMREC_CONV=\(name) is not an algorithm choice; use one of "
                + ConvAlgorithmPolicy.allCases.map(\.name).joined(separator: ", ")
        case .unsupported(let isa, let supported):
            return "this CPU or build cannot run the \(isa.rawValue) kernels; it supports "
                + supported.map(\.rawValue).joined(separator: ", ")
        }
    }
}
