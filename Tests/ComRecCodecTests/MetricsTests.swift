@testable import ComRecCodec
import Foundation
import Testing

@Suite struct MetricsTests {
    @Test func psnrOfKnownErrors() throws {
        let a = try RGB8Image(width: 4, height: 4, value: 100)
        #expect(Metrics.psnr(a, a) == .infinity)
        let b = try RGB8Image(width: 4, height: 4, value: 101)  // MSE 1
        #expect(abs(Metrics.psnr(a, b) - 48.130803608679) < 1e-9)
        var c = a
        c.pixels[0] = 116  // one sample off by 16 of 48: MSE 256 / 48
        #expect(abs(Metrics.meanSquaredError(a, c) - 256.0 / 48.0) < 1e-12)
    }

    /// The logarithm of Embedded builds agrees with the C library's across the range PSNR uses.
    @Test func portableLogarithmMatchesTheCLibrary() throws {
        for x in [1e-9, 0.001, 0.5, 1, 1.5, 2, 3.999, 10, 1000, 65025, 65025.0 / 7, 1e12] {
            #expect(abs(portableDecimalLogarithm(x) - Foundation.log10(x)) <= 4e-15 * max(1, abs(Foundation.log10(x))), "x = \(x)")
        }
    }

    @Test func bitsPerPixelCountsTheWholeFile() throws {
        #expect(Metrics.bitsPerPixel(fileBytes: 1000, width: 100, height: 80) == 1.0)
    }
}
