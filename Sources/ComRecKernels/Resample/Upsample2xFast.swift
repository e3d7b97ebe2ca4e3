// A faster bicubic x2 upsampling with exactly the bytes of `upsample2xBicubic`
// (Reference/Resample2x.swift, whose arithmetic is shared with training). The reference filters
// the 4 source rows of every output row anew; here each source row is filtered horizontally once,
// from an edge-replicated copy (no index clamping in the loop), into a ring of 4 Int32 rows, and
// consecutive output rows reuse them. The sums are the same exact Int32 sums with the same single
// rounding, so the result is identical (tested against the reference).

/// Same contract and output as `upsample2xBicubic`.
public func upsample2xBicubicFast(
    src: UnsafePointer<UInt8>, srcWidth: Int, srcHeight: Int, channels: Int,
    dst: UnsafeMutablePointer<UInt8>, dstWidth: Int, rows: Range<Int>
) {
    precondition(srcWidth > 0 && srcHeight > 0 && channels > 0)
    precondition(dstWidth <= 2 * srcWidth && rows.upperBound <= 2 * srcHeight && rows.lowerBound >= 0)
    if rows.isEmpty || dstWidth <= 0 { return }
    let c = channels, rowCount = dstWidth * c
    // Source row with 2 replicated pixels on each side: padded[(i + 2) * c] is source pixel i.
    let padded = UnsafeMutablePointer<Int32>.allocate(capacity: (srcWidth + 4) * c)
    let ring = UnsafeMutablePointer<Int32>.allocate(capacity: 4 * rowCount)
    defer {
        padded.deallocate()
        ring.deallocate()
    }
    var keys = (Int.min, Int.min, Int.min, Int.min)  // unclamped source row held by each slot

    func filterRow(_ sy: Int, into out: UnsafeMutablePointer<Int32>) {
        let row = src + clampIndex(sy, srcHeight) * srcWidth * c
        for i in 0..<(srcWidth + 4) {
            let s = row + clampIndex(i - 2, srcWidth) * c
            for ch in 0..<c { padded[i * c + ch] = Int32(s[ch]) }
        }
        // Output column x reads source columns (x >> 1) - 2 + (x & 1) ... + 3, i.e. padded
        // columns (x >> 1) + (x & 1) ... + 3.
        let (t0, t1) = upsampleTaps
        var x = 0
        while x < dstWidth {
            let even = padded + (x >> 1) * c
            for ch in 0..<c {
                out[x * c + ch] = t0[0] &* even[ch] &+ t0[1] &* even[c + ch] &+ t0[2] &* even[2 * c + ch]
                    &+ t0[3] &* even[3 * c + ch]
            }
            if x + 1 < dstWidth {
                let odd = even + c
                for ch in 0..<c {
                    out[(x + 1) * c + ch] = t1[0] &* odd[ch] &+ t1[1] &* odd[c + ch] &+ t1[2] &* odd[2 * c + ch]
                        &+ t1[3] &* odd[3 * c + ch]
                }
            }
            x += 2
        }
    }

    func slot(_ k: Int) -> UnsafeMutablePointer<Int32> {
        let s = ((k % 4) + 4) % 4
        let held = s == 0 ? keys.0 : (s == 1 ? keys.1 : (s == 2 ? keys.2 : keys.3))
        let buffer = ring + s * rowCount
        if held != k {
            filterRow(k, into: buffer)
            switch s {
            case 0: keys.0 = k
            case 1: keys.1 = k
            case 2: keys.2 = k
            default: keys.3 = k
            }
        }
        return buffer
    }

    var out = dst
    for y in rows {
        let taps = (y & 1) == 0 ? upsampleTaps.0 : upsampleTaps.1
        let first = (y >> 1) - 2 + (y & 1)
        let h0 = slot(first), h1 = slot(first + 1), h2 = slot(first + 2), h3 = slot(first + 3)
        for j in 0..<rowCount {
            let v = taps[0] &* h0[j] &+ taps[1] &* h1[j] &+ taps[2] &* h2[j] &+ taps[3] &* h3[j]
            out[j] = roundShiftClampU8(v, 14)
        }
        out += rowCount
    }
}
