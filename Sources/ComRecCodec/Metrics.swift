import ComRecKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Quality figures: mode choice at effort 2 (ModeChoice.swift), `comrec demo` and `comrec eval`.
public enum Metrics {
    /// Mean squared error over all R, G and B samples. The images must have the same size.
    public static func meanSquaredError(_ a: RGB8Image, _ b: RGB8Image) -> Double {
        precondition(a.width == b.width && a.height == b.height, "images differ in size")
        precondition(a.pixelCount > 0)
        var sum: UInt64 = 0
        for i in a.pixels.indices {
            let d = Int(a.pixels[i]) - Int(b.pixels[i])
            sum += UInt64(d * d)
        }
        return Double(sum) / Double(a.pixels.count)
    }

    /// RGB PSNR in dB: 10 log10(255^2 / MSE) with the MSE over all three channels together.
    /// Identical images give +infinity.
    public static func psnr(_ a: RGB8Image, _ b: RGB8Image) -> Double {
        psnr(meanSquaredError: meanSquaredError(a, b))
    }

    /// PSNR in dB of a mean squared error already computed (+infinity for 0).
    public static func psnr(meanSquaredError mse: Double) -> Double {
        mse == 0 ? .infinity : 10 * decimalLogarithm(255.0 * 255.0 / mse)
    }

    /// Whole-file bits per pixel of the original image.
    public static func bitsPerPixel(fileBytes: Int, width: Int, height: Int) -> Double {
        Double(fileBytes * 8) / Double(width * height)
    }
}

/// log10(x) for x > 0: the C library's where there is one, else `portableDecimalLogarithm`
/// (Embedded builds have no C library in this layer; only reports use it there: decisions compare
/// squared errors, never logarithms).
func decimalLogarithm(_ x: Double) -> Double {
    #if canImport(Glibc) || canImport(Musl) || canImport(Darwin)
    return log10(x)
    #else
    return portableDecimalLogarithm(x)
    #endif
}

/// log10(x) for finite x > 0 in plain Swift: x = m * 2^e with m in [1, 2), and
/// ln m = 2 atanh(t) = 2 (t + t^3/3 + t^5/5 + ...) with t = (m - 1) / (m + 1) <= 1/3, summed until
/// the terms are far below Double's precision (t^61 / 61 < 1e-30).
func portableDecimalLogarithm(_ x: Double) -> Double {
    let e = Double(x.exponent), m = x.significand
    let t = (m - 1) / (m + 1), t2 = t * t
    var term = t, sum = 0.0, k = 1.0
    while k < 62 {
        sum += term / k
        term *= t2
        k += 2
    }
    let ln2 = 0.693_147_180_559_945_3, ln10 = 2.302_585_092_994_045_7
    return (2 * sum + e * ln2) / ln10
}
