// One table-driven harness: every kernel family the CPU supports against the scalar reference,
// bit for bit, on the cases in Shared/KernelCases.swift (random shapes, odd sizes, stride 2, the
// RGB8 first layer, the padded last layers, all-127 / all -127 extremes, rounding ties).
// A family the CPU or build cannot run is skipped, and the test says why.
import ComRecKernels
import ComRecRuntime
import Foundation
import Testing

@Suite struct Conv3x3KernelTests {
    /// Whether this CPU and build run `isa`'s kernels (the condition of each family's test).
    static func supports(_ isa: KernelISA) -> Bool { KernelISA.supported.contains(isa) }

    @Test(.enabled(if: supports(.portable), "portable is not supported on this CPU or build"))
    func portableKernels() throws { try check(.portable) }

    @Test(.enabled(if: supports(.avx2), "avx2 is not supported on this CPU or build"))
    func avx2Kernels() throws { try check(.avx2) }

    @Test(.enabled(if: supports(.avx512vnni), "avx512vnni is not supported on this CPU or build"))
    func avx512VNNIKernels() throws { try check(.avx512vnni) }

    @Test(.enabled(if: supports(.neon), "neon is not supported on this CPU or build"))
    func neonKernels() throws { try check(.neon) }

    @Test(.enabled(if: supports(.neondot), "neondot is not supported on this CPU or build"))
    func neonDotKernels() throws { try check(.neondot) }

    private func check(_ isa: KernelISA, sourceLocation: SourceLocation = #_sourceLocation) throws {
        // The test's trait has skipped an unsupported family already; running its kernels anyway
        // would stop the process with an illegal instruction.
        try #require(Self.supports(isa), "\(isa.rawValue) is not supported on this CPU or build", sourceLocation: sourceLocation)
        for (i, c) in kernelCases.enumerated() {
            let data = makeCaseData(c)
            let expected = referenceOutput(c, data)
            let actual = kernelOutput(c, data, conv: isa.conv3x3)
            if actual != expected {
                let first = (0..<min(actual.count, expected.count)).first { actual[$0] != expected[$0] } ?? actual.count
                let message = "\(isa.kernelNames.joined(separator: ", ")): case \(i) \(c.name) (\(c.inChannels)->\(c.outChannels), "
                    + "stride \(c.stride), \(c.width)x\(c.height)) differs from the reference at byte \(first)"
                Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
            }
        }
    }

    @Test(.enabled(if: supports(.portable), "portable is not supported on this CPU or build"))
    func portableWinogradKernel() throws { try checkWinograd(.portable) }

    @Test(.enabled(if: supports(.avx2), "avx2 is not supported on this CPU or build"))
    func avx2WinogradKernel() throws { try checkWinograd(.avx2) }

    @Test(.enabled(if: supports(.neon), "neon is not supported on this CPU or build"))
    func neonWinogradKernel() throws { try checkWinograd(.neon) }

    /// The family's Winograd kernel on every case it applies to (stride-1 hidden layers), against
    /// the same reference bytes as the direct kernels.
    private func checkWinograd(_ isa: KernelISA, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try #require(Self.supports(isa), "\(isa.rawValue) is not supported on this CPU or build", sourceLocation: sourceLocation)
        var checked = 0
        for (i, c) in kernelCases.enumerated() where winogradApplies(c) {
            let data = makeCaseData(c)
            let actual = winogradKernelOutput(c, data, conv: isa.conv3x3WinogradF2x3)
            checked += 1
            if actual != referenceOutput(c, data) {
                Issue.record(Comment(rawValue: "\(isa.winogradKernelName): case \(i) \(c.name) (\(c.inChannels)->\(c.outChannels), "
                    + "\(c.width)x\(c.height)) differs from the reference"), sourceLocation: sourceLocation)
            }
        }
        #expect(checked >= 15, "the Winograd cases must cover the shapes above", sourceLocation: sourceLocation)
    }

    /// The committed fixture holds the reference hashes; the Embedded aarch64 driver prints the
    /// same lines, and scripts/embedded-aarch64.sh compares them. Regenerate with
    /// COMREC_WRITE_FIXTURES=1 swift test --filter referenceHashesMatchFixture.
    @Test func referenceHashesMatchFixture() throws {
        var lines: [String] = []
        for (i, c) in kernelCases.enumerated() {
            lines.append("\(i) \(c.name) \(hex16(fnv1a(referenceOutput(c, makeCaseData(c)))))")
        }
        let text = lines.joined(separator: "\n") + "\n"
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/kernels/conv3x3-hashes.txt")
        if ProcessInfo.processInfo.environment["COMREC_WRITE_FIXTURES"] == "1" {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        #expect(try String(contentsOf: url, encoding: .utf8) == text, "reference hashes changed: \(url.path)")
    }

    @Test func kernelNamesFollowTheConvention() {
        for isa in KernelISA.allCases {
            for name in isa.kernelNames {
                #expect(name.hasPrefix("conv3x3U7S8_") && name.hasSuffix("_" + isa.rawValue), "\(name)")
            }
        }
    }
}
