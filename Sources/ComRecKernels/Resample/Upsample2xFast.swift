// A faster bicubic x2 upsampling with exactly the bytes of `upsample2xBicubic`
// (Reference/Resample2x.swift, whose arithmetic is shared with training). The reference filters
// the 4 source rows of every output row anew; here each source row is filtered horizontally once,
// from an edge-replicated copy (no index clamping in the loop), into a ring of 4 Int32 rows, and
// consecutive output rows reuse them. The sums are the same exact Int32 sums with the same single
// rounding, so the result is identical (tested against the reference).

/// Same contract and output as `upsample2xBicubic`, plus:
/// - srcRows: the source rows `src` holds (by default all); a row outside it is a precondition
///   failure. Output rows `rows` read source rows `upsample2xSourceRows(rows, srcHeight)`.
/// - scratch: `upsample2xScratchBytes(srcWidth:dstWidth:channels:)` bytes (4-byte aligned) to
///   work in; nil allocates them.
public func upsample2xBicubicFast(
    src: UnsafePointer<UInt8>, srcWidth: Int, srcHeight: Int, channels: Int,
    dst: UnsafeMutablePointer<UInt8>, dstWidth: Int, rows: Range<Int>,
    srcRows: Range<Int>? = nil, scratch: UnsafeMutableRawPointer? = nil
) {
    precondition(srcWidth > 0 && srcHeight > 0 && channels > 0)
    precondition(dstWidth <= 2 * srcWidth && rows.upperBound <= 2 * srcHeight && rows.lowerBound >= 0)
    if rows.isEmpty || dstWidth <= 0 { return }
    let held = srcRows ?? 0..<srcHeight
    let c = channels, rowCount = dstWidth * c
    let work = scratch ?? UnsafeMutableRawPointer.allocate(
        byteCount: upsample2xScratchBytes(srcWidth: srcWidth, dstWidth: dstWidth, channels: channels), alignment: 64)
    defer { if scratch == nil { work.deallocate() } }
    // Source row with 2 replicated pixels on each side: padded[(i + 2) * c] is source pixel i.
    let padded = work.bindMemory(to: Int32.self, capacity: (srcWidth + 4) * c)
    let ring = (work + (srcWidth + 4) * c * 4).bindMemory(to: Int32.self, capacity: 4 * rowCount)
    var keys = (Int.min, Int.min, Int.min, Int.min)  // unclamped source row held by each slot

    func filterRow(_ sy: Int, into out: UnsafeMutablePointer<Int32>) {
        let clamped = clampIndex(sy, srcHeight)
        precondition(held.contains(clamped), "source row outside the rows the caller gave")
        let row = src + (clamped - held.lowerBound) * srcWidth * c
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

/// Bytes of scratch `upsample2xBicubicFast` works in.
public func upsample2xScratchBytes(srcWidth: Int, dstWidth: Int, channels: Int) -> Int {
    ((srcWidth + 4) * channels + 4 * dstWidth * channels) * 4
}

/// The source rows (clamped to the image) that output rows `rows` of a x2 upsampling read.
public func upsample2xSourceRows(_ rows: Range<Int>, srcHeight: Int) -> Range<Int> {
    precondition(!rows.isEmpty)
    let first = (rows.lowerBound >> 1) - 2 + (rows.lowerBound & 1)
    let last = ((rows.upperBound - 1) >> 1) + 1 + ((rows.upperBound - 1) & 1)
    return max(0, first)..<min(srcHeight, last + 1)
}
