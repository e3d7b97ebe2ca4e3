import ComRecRuntime
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

    func testEnvironmentVariableSelectsOrNamesTheChoices() throws {
        defer { unsetenv("COMREC_ISA") }
        setenv("COMREC_ISA", "portable", 1)
        XCTAssertEqual(try KernelISA.select(), .portable)
        XCTAssertEqual(try KernelISA.select(override: KernelISA.best), KernelISA.best)  // the argument wins
        setenv("COMREC_ISA", "sse9", 1)
        XCTAssertThrowsError(try KernelISA.select()) { error in
            XCTAssertTrue("\(error)".contains("avx512vnni, avx2, neondot, neon, portable"), "\(error)")
        }
        unsetenv("COMREC_ISA")
        XCTAssertEqual(try KernelISA.select(), KernelISA.best)
    }

    #if arch(x86_64)
    func testX86BuildHasNoNeon() {
        XCTAssertFalse(KernelISA.supported.contains(.neon))
        XCTAssertFalse(KernelISA.supported.contains(.neondot))
    }
    #endif
}
