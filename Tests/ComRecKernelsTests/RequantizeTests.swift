// The rounding and clamping rules of docs/int8.md, checked on hand-picked values.
import ComRecKernels
import Testing

@Suite struct RequantizeTests {
    @Test func roundHalfToEven() {
        #expect(requantize(3, 0.5, lo: 0, hi: 127) == 2)  // 1.5 -> 2
        #expect(requantize(5, 0.5, lo: 0, hi: 127) == 2)  // 2.5 -> 2
        #expect(requantize(7, 0.5, lo: 0, hi: 127) == 4)  // 3.5 -> 4
        #expect(requantize(-5, 0.5, lo: -255, hi: 255) == -2)  // -2.5 -> -2
        #expect(requantize(-3, 0.5, lo: -255, hi: 255) == -2)  // -1.5 -> -2
    }

    @Test func clamps() {
        #expect(requantize(-1000, 1, lo: 0, hi: 127) == 0)  // ReLU
        #expect(requantize(1000, 1, lo: 0, hi: 127) == 127)
        #expect(requantize(Int32.max, 1e9, lo: 0, hi: 127) == 127)  // far beyond Int32: still clamps
        #expect(requantize(-1000, 1, lo: -255, hi: 255) == -255)
        #expect(addResidual(10, -255) == 0)
        #expect(addResidual(250, 255) == 255)
        #expect(addResidual(100, -7) == 93)
    }

    @Test func productIsRoundedToFloatBeforeRounding() {
        // 16777215 * (1/3 as Float) is 5592404.5 exactly in reals-with-Float-m but rounds to a
        // Float first; the reference must use that Float product.
        let m: Float = 1.0 / 3.0
        let acc: Int32 = 16_777_215
        let product = Float(acc) * m
        #expect(requantize(acc, m, lo: -Int32.max, hi: Int32.max) == Int32(product.rounded(.toNearestOrEven)))
    }

    @Test func firstLayerExpansionIsExact() {
        // w*x == w*(x>>1) + w*(x>>1) + w*(x&1) with every part in 0...127.
        let rgb: [UInt8] = [0, 1, 254, 255, 127, 128]
        var out = [UInt8](repeating: 9, count: 24)
        rgb.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { expandRGB8Row(s.baseAddress!, width: 2, into: $0.baseAddress!) } }
        #expect(Array(out[0..<12]) == [0, 0, 127, 0, 0, 0, 127, 0, 0, 1, 0, 0])
        #expect(Array(out[12..<24]) == [127, 63, 64, 0, 127, 63, 64, 0, 1, 1, 0, 0])
        for v in out { #expect(v <= 127) }
    }
}
