// Requantisation, the one place where an Int32 accumulator becomes an 8-bit (or residual) value.
// docs/int8.md is the contract; every SIMD kernel reproduces this function bit for bit.
//
//   out = clamp(roundHalfEven(Float32(acc) * m), lo, hi)
//
// Float32(acc) is exact because |acc| < 2^24 (docs/int8.md, "Range"); the product is one IEEE
// multiply rounded to Float32 (never fused with anything), and round-half-to-even is what
// cvtps2dq (default MXCSR), NEON fcvtns and numpy's rint do. Kernels clamp in Float32 before
// converting (rint(clamp(p)) == clamp(rint(p)) because lo and hi are integers), which also keeps
// products beyond Int32 range well defined.

/// Requantises one accumulator: `clamp(roundHalfEven(Float(acc) * m), lo, hi)`.
@inline(__always)
public func requantize(_ acc: Int32, _ m: Float, lo: Int32, hi: Int32) -> Int32 {
    let product = Float(acc) * m
    let clamped = product < Float(lo) ? Float(lo) : (product > Float(hi) ? Float(hi) : product)
    return Int32(clamped.rounded(.toNearestOrEven))
}

/// Bounds of the hidden (ReLU, U7) and residual layers.
public enum RequantRange {
    public static let u7: (lo: Int32, hi: Int32) = (0, 127)
    public static let residual: (lo: Int32, hi: Int32) = (-255, 255)
}
