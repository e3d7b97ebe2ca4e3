// One table-driven harness: every kernel family the CPU supports against the scalar reference,
// bit for bit, on the cases in Shared/KernelCases.swift (random shapes, odd sizes, stride 2, the
// RGB8 first layer, the padded last layers, all-127 / all -127 extremes, rounding ties).
import ComRecKernels
import ComRecRuntime
import Foundation
import XCTest

final class Conv3x3KernelTests: XCTestCase {
    func testPortableKernels() throws { try check(.portable) }
    func testAVX2Kernels() throws { try check(.avx2) }
    func testAVX512VNNIKernels() throws { try check(.avx512vnni) }
    func testNeonKernels() throws { try check(.neon) }
    func testNeonDotKernels() throws { try check(.neondot) }

    private func check(_ isa: KernelISA, file: StaticString = #filePath, line: UInt = #line) throws {
        try XCTSkipUnless(KernelISA.supported.contains(isa), "\(isa.rawValue) is not supported on this CPU or build")
        for (i, c) in kernelCases.enumerated() {
            let data = makeCaseData(c)
            let expected = referenceOutput(c, data)
            let actual = kernelOutput(c, data, conv: isa.conv3x3)
            if actual != expected {
                let first = (0..<min(actual.count, expected.count)).first { actual[$0] != expected[$0] } ?? actual.count
                XCTFail("\(isa.kernelNames.joined(separator: ", ")): case \(i) \(c.name) (\(c.inChannels)->\(c.outChannels), "
                    + "stride \(c.stride), \(c.width)x\(c.height)) differs from the reference at byte \(first)",
                    file: file, line: line)
            }
        }
    }

    /// The committed fixture holds the reference hashes; the Embedded aarch64 driver prints the
    /// same lines, and scripts/embedded-aarch64.sh compares them. Regenerate with
    /// COMREC_WRITE_FIXTURES=1 swift test --filter testReferenceHashesMatchFixture.
    func testReferenceHashesMatchFixture() throws {
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
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), text, "reference hashes changed: \(url.path)")
    }

    func testKernelNamesFollowTheConvention() {
        for isa in KernelISA.allCases {
            for name in isa.kernelNames {
                XCTAssertTrue(name.hasPrefix("conv3x3U7S8_") && name.hasSuffix("_" + isa.rawValue), name)
            }
        }
    }
}
