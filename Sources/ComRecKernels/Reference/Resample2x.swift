// Integer x2 resampling shared by the `bicubic` profile, the RecCNN input and training.
//
// Both filters are the Keys cubic (a = -0.5, as in PIL's BICUBIC) on half-pixel centres. At a
// factor of two every tap is an exact multiple of 1/128 (upsampling) or 1/256 (downsampling), so
// the filters are exact small integers and the result is defined bit for bit:
//
//   upsample, output 2i   reads source i-2 ... i+1 with taps [-3, 29, 111, -9] / 128
//             output 2i+1 reads source i-1 ... i+2 with taps [-9, 111, 29, -3] / 128
//   downsample, output j  reads source 2j-3 ... 2j+4 with taps [-3, -9, 29, 111, 111, 29, -9, -3] / 256
//
// Source indices outside the image are clamped to the edge (replicate padding). Rows are filtered
// first (horizontal pass, exact Int32), then columns; the combined sum is rounded once:
//   out = clamp((sum + half) >> bits, 0, 255), with >> an arithmetic (flooring) shift,
// bits = 14 for upsampling (128 * 128) and 16 for downsampling (256 * 256).
// Training/comrec_train/resample.py implements the same arithmetic in numpy; golden tests tie them.
//
// Range: a horizontal sum is at most 140 * 255 (up) or 280 * 255 (down) in magnitude, the vertical
// sum at most 280 * 280 * 255 < 2^25, far inside Int32.

/// Upsampling taps for output phase 0 (even index) and 1 (odd index), over 4 source samples
/// starting at `i - 2 + phase`.
@usableFromInline let upsampleTaps: (SIMD4<Int32>, SIMD4<Int32>) = (
    SIMD4(-3, 29, 111, -9), SIMD4(-9, 111, 29, -3)
)

/// Downsampling taps over source samples 2j-3 ... 2j+4.
@usableFromInline let downsampleTaps: SIMD8<Int32> = SIMD8(-3, -9, 29, 111, 111, 29, -9, -3)

@inline(__always) @usableFromInline
func clampIndex(_ i: Int, _ n: Int) -> Int { i < 0 ? 0 : (i >= n ? n - 1 : i) }

@inline(__always) @usableFromInline
func roundShiftClampU8(_ v: Int32, _ bits: Int32) -> UInt8 {
    let r = (v + (1 << (bits - 1))) >> bits
    return UInt8(r < 0 ? 0 : (r > 255 ? 255 : r))
}

/// Bicubic x2 upsampling of an interleaved 8-bit image (`channels` per pixel, rows packed with no
/// padding), writing the output rows `rows` of the (2*srcHeight) x (2*srcWidth) result, cropped
/// to `dstWidth` columns (`dstWidth <= 2 * srcWidth`). `dst` points at output row `rows.lowerBound`.
/// Works on row ranges so that a tiled decoder can produce a band at a time.
public func upsample2xBicubic(
    src: UnsafePointer<UInt8>, srcWidth: Int, srcHeight: Int, channels: Int,
    dst: UnsafeMutablePointer<UInt8>, dstWidth: Int, rows: Range<Int>
) {
    precondition(srcWidth > 0 && srcHeight > 0 && channels > 0)
    precondition(dstWidth <= 2 * srcWidth && rows.upperBound <= 2 * srcHeight && rows.lowerBound >= 0)
    let srcStride = srcWidth * channels
    let rowCount = dstWidth * channels
    // The 4 horizontally filtered source rows that one output row needs. This reference filters
    // them anew for every output row: clear rather than fast (kernels may cache them).
    let horizontal = UnsafeMutablePointer<Int32>.allocate(capacity: 4 * rowCount)
    defer { horizontal.deallocate() }
    var out = dst
    for y in rows {
        let taps = (y & 1) == 0 ? upsampleTaps.0 : upsampleTaps.1
        let firstRow = (y >> 1) - 2 + (y & 1)
        for k in 0..<4 {
            let row = src + clampIndex(firstRow + k, srcHeight) * srcStride
            let filtered = horizontal + k * rowCount
            for x in 0..<dstWidth {
                let xTaps = (x & 1) == 0 ? upsampleTaps.0 : upsampleTaps.1
                let firstColumn = (x >> 1) - 2 + (x & 1)
                for c in 0..<channels {
                    var s: Int32 = 0
                    for t in 0..<4 {
                        s += xTaps[t] * Int32(row[clampIndex(firstColumn + t, srcWidth) * channels + c])
                    }
                    filtered[x * channels + c] = s
                }
            }
        }
        for j in 0..<rowCount {
            var v: Int32 = 0
            for k in 0..<4 { v += taps[k] * horizontal[k * rowCount + j] }
            out[j] = roundShiftClampU8(v, 14)
        }
        out += rowCount
    }
}

/// Bicubic (antialiased) /2 downsampling of an interleaved 8-bit image to
/// ceil(srcHeight / 2) x ceil(srcWidth / 2), rows packed with no padding.
public func downsample2xBicubic(
    src: UnsafePointer<UInt8>, srcWidth: Int, srcHeight: Int, channels: Int,
    dst: UnsafeMutablePointer<UInt8>
) throws(AllocationFailure) {
    precondition(srcWidth > 0 && srcHeight > 0 && channels > 0)
    let dstWidth = (srcWidth + 1) / 2, dstHeight = (srcHeight + 1) / 2
    let srcStride = srcWidth * channels, tmpCount = dstWidth * channels
    // Horizontal pass for all source rows first: simple, and the image is already in memory.
    let horizontal = try allocateLarge(Int32.self, count: srcHeight * tmpCount)
    defer { releaseLarge(horizontal) }
    for sy in 0..<srcHeight {
        let row = src + sy * srcStride, out = horizontal + sy * tmpCount
        for j in 0..<dstWidth {
            for c in 0..<channels {
                var s: Int32 = 0
                for k in 0..<8 {
                    s += downsampleTaps[k] * Int32(row[clampIndex(2 * j - 3 + k, srcWidth) * channels + c])
                }
                out[j * channels + c] = s
            }
        }
    }
    for j in 0..<dstHeight {
        let out = dst + j * tmpCount
        for x in 0..<tmpCount {
            var s: Int32 = 0
            for k in 0..<8 {
                s += downsampleTaps[k] * horizontal[clampIndex(2 * j - 3 + k, srcHeight) * tmpCount + x]
            }
            out[x] = roundShiftClampU8(s, 16)
        }
    }
}

/// 2x2 box average to ceil(srcHeight / 2) x ceil(srcWidth / 2): out = (a + b + c + d + 2) >> 2,
/// with the last row or column replicated when a size is odd. This is the base that ComCNN adds
/// its learned residual to, and the compact image of the RecCNN-only ablation. Writes output rows
/// `rows` (by default all), the first at `dst`, from `src`, which holds source rows `srcRows` (by
/// default all).
public func average2x2(
    src: UnsafePointer<UInt8>, srcWidth: Int, srcHeight: Int, channels: Int,
    dst: UnsafeMutablePointer<UInt8>, rows: Range<Int>? = nil, srcRows: Range<Int>? = nil
) {
    precondition(srcWidth > 0 && srcHeight > 0 && channels > 0)
    let dstWidth = (srcWidth + 1) / 2, dstHeight = (srcHeight + 1) / 2
    let rows = rows ?? 0..<dstHeight, held = srcRows ?? 0..<srcHeight
    precondition(rows.lowerBound >= 0 && rows.upperBound <= dstHeight)
    let srcStride = srcWidth * channels
    for j in rows {
        let y0 = 2 * j, y1 = clampIndex(2 * j + 1, srcHeight)
        precondition(held.contains(y0) && held.contains(y1), "source row outside the rows the caller gave")
        let r0 = src + (y0 - held.lowerBound) * srcStride
        let r1 = src + (y1 - held.lowerBound) * srcStride
        let out = dst + (j - rows.lowerBound) * dstWidth * channels
        for i in 0..<dstWidth {
            let x0 = 2 * i * channels, x1 = clampIndex(2 * i + 1, srcWidth) * channels
            for c in 0..<channels {
                let s = Int(r0[x0 + c]) + Int(r0[x1 + c]) + Int(r1[x0 + c]) + Int(r1[x1 + c])
                out[i * channels + c] = UInt8((s + 2) >> 2)
            }
        }
    }
}
