import ComRecRuntime
import XCTest

final class KernelISATests: XCTestCase {
    func testPortableIsAlwaysSupportedAndLast() {
        XCTAssertEqual(KernelISA.supported.last, .portable)
        XCTAssertEqual(KernelISA.best, KernelISA.supported[0])
    }

    func testOverrideSelectsOrRefuses() throws {
        XCTAssertEqual(try KernelISA.select(override: .portable), .portable)
        for isa in KernelISA.allCases where !KernelISA.supported.contains(isa) {
            XCTAssertThrowsError(try KernelISA.select(override: isa))
        }
    }

    #if arch(x86_64)
    func testX86BuildHasNoNeon() {
        XCTAssertFalse(KernelISA.supported.contains(.neon))
        XCTAssertFalse(KernelISA.supported.contains(.neondot))
    }
    #endif
}
