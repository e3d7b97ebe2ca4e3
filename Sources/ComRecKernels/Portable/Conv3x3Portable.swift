// Portable Swift SIMD kernel: always builds (any CPU, Embedded Swift), always correct; the
// fallback where no ISA kernel applies. One output pixel x 16 output channels per step.
//
// The packed weight dword of output channel c holds input channels 4g...4g+3 (little endian);
// byte k is sign-extended with (w << (24 - 8k)) >> 24 on Int32 lanes, which every vector ISA has,
// instead of a widening conversion (which Swift lowers badly). Products fit Int32 (docs/int8.md).

/// The portable kernel family.
public enum PortableConv3x3: Conv3x3Kernel {
    public static func conv3x3(_ row: Conv3x3Row) { conv3x3U7S8_16x1_portable(row) }
}

@inline(never)
public func conv3x3U7S8_16x1_portable(_ r: Conv3x3Row) {
    // For one input row, the 3 taps kx = 0...2 and the groups of 4 channels are consecutive:
    // step j in 0..<3 * groups reads input bytes 4j...4j+3 and weights at j * weightStep.
    let steps = 3 * (r.inChannels / 4)
    let pixelStep = r.stride * r.inChannels
    let weightStep = r.outChannels * 4
    for x in 0..<r.width {
        var cb = 0
        while cb < r.outChannels {
            var acc = UnsafeRawPointer(r.bias + cb).loadUnaligned(as: SIMD16<Int32>.self)
            var w = UnsafeRawPointer(r.weights) + cb * 4
            for ky in 0..<3 {
                let a = UnsafeRawPointer(r.row(ky)) + x * pixelStep
                for j in 0..<steps {
                    let xv = a.loadUnaligned(fromByteOffset: 4 * j, as: UInt32.self)
                    let wv = w.loadUnaligned(as: SIMD16<Int32>.self)
                    w += weightStep
                    let x0 = Int32(truncatingIfNeeded: xv & 0xFF)
                    let x1 = Int32(truncatingIfNeeded: (xv >> 8) & 0xFF)
                    let x2 = Int32(truncatingIfNeeded: (xv >> 16) & 0xFF)
                    let x3 = Int32(truncatingIfNeeded: xv >> 24)
                    acc &+= ((wv &<< 24) &>> 24) &* x0
                    acc &+= ((wv &<< 16) &>> 24) &* x1
                    acc &+= ((wv &<< 8) &>> 24) &* x2
                    acc &+= (wv &>> 24) &* x3
                }
            }
            if r.requantize {
                let out = r.output.assumingMemoryBound(to: UInt8.self) + x * r.outChannels + cb
                for c in 0..<16 {
                    out[c] = UInt8(truncatingIfNeeded: requantize(acc[c], r.multipliers[cb + c], lo: 0, hi: 127))
                }
            } else {
                (r.output + (x * r.outChannels + cb) * 4).storeBytes(of: acc, as: SIMD16<Int32>.self)
            }
            cb += 16
        }
    }
}

/// Multiply-accumulates per iteration of `peakU7S8_portable`: 8 x SIMD16<Int32> multiply-add.
public let peakMACsPerIteration_portable = 8 * 16

/// The portable kernel's peak: Int32 SIMD multiply-adds on registers only, as the kernel does them.
/// `weight` comes from the caller so that the compiler cannot turn the multiplies into shifts, and
/// each accumulator reads its neighbour so that nothing can be hoisted or folded.
@inline(never)
public func peakU7S8_portable(iterations: Int, weight: Int32) -> Int32 {
    let w = SIMD16<Int32>(repeating: weight)
    var a0 = SIMD16<Int32>(repeating: 1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0
    for _ in 0..<iterations {
        a0 &+= a1 &* w; a1 &+= a2 &* w; a2 &+= a3 &* w; a3 &+= a4 &* w
        a4 &+= a5 &* w; a5 &+= a6 &* w; a6 &+= a7 &* w; a7 &+= a0 &* w
    }
    return (a0 &+ a1 &+ a2 &+ a3 &+ a4 &+ a5 &+ a6 &+ a7).wrappedSum()
}
