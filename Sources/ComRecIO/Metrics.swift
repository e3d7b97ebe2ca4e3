#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import ComRecCodec

/// Quality figures shared by `comrec demo` and (later) `comrec eval`.
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
        let mse = meanSquaredError(a, b)
        return mse == 0 ? .infinity : 10 * log10(255.0 * 255.0 / mse)
    }

    /// Whole-file bits per pixel of the original image.
    public static func bitsPerPixel(fileBytes: Int, width: Int, height: Int) -> Double {
        Double(fileBytes * 8) / Double(width * height)
    }
}
