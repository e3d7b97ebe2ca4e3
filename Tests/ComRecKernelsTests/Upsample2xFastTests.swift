// The fast x2 upsampling must give the reference's bytes for every size, crop and row band.
import ComRecKernels
import Testing

@Suite struct Upsample2xFastTests {
    @Test func matchesReferenceBitForBit() {
        var rng = SplitMix64(seed: 2024)
        let sizes = [(1, 1), (1, 5), (5, 1), (2, 2), (7, 3), (13, 11), (32, 9)]
        for (w, h) in sizes {
            for channels in [1, 3] {
                var src = [UInt8](repeating: 0, count: w * h * channels)
                for i in 0..<src.count { src[i] = UInt8(rng.int(0, 255)) }
                // Extremes where overshoot clamps: alternate 0 and 255.
                if w * h > 4 { for i in stride(from: 0, to: src.count, by: 2) { src[i] = 255 } }
                for dstWidth in Set([2 * w, max(1, 2 * w - 1)]) {
                    let bands = [0..<(2 * h), 0..<1, (2 * h - 1)..<(2 * h), (h / 2)..<(h + 1)]
                    for band in bands where !band.isEmpty {
                        var expected = [UInt8](repeating: 0, count: band.count * dstWidth * channels)
                        var actual = [UInt8](repeating: 7, count: expected.count)
                        upsample2xBicubic(src: src, srcWidth: w, srcHeight: h, channels: channels,
                                          dst: &expected, dstWidth: dstWidth, rows: band)
                        upsample2xBicubicFast(src: src, srcWidth: w, srcHeight: h, channels: channels,
                                              dst: &actual, dstWidth: dstWidth, rows: band)
                        #expect(actual == expected, "\(w)x\(h)x\(channels), width \(dstWidth), rows \(band)")
                    }
                }
            }
        }
    }
}
