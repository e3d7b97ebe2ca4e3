import ComRecCodec
import ComRecIO
import Testing

@Suite struct MetricsTests {
    @Test func psnrOfKnownErrors() {
        let a = RGB8Image(width: 4, height: 4, value: 100)
        #expect(Metrics.psnr(a, a) == .infinity)
        let b = RGB8Image(width: 4, height: 4, value: 101)  // MSE 1
        #expect(abs(Metrics.psnr(a, b) - 48.130803608679) < 1e-9)
        var c = a
        c.pixels[0] = 116  // one sample off by 16 of 48: MSE 256 / 48
        #expect(abs(Metrics.meanSquaredError(a, c) - 256.0 / 48.0) < 1e-12)
    }

    @Test func bitsPerPixelCountsTheWholeFile() {
        #expect(Metrics.bitsPerPixel(fileBytes: 1000, width: 100, height: 80) == 1.0)
    }
}
