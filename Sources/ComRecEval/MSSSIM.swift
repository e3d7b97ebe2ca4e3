#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ComRecCodec

// MS-SSIM as Training/comrec_train/msssim.py defines it (its header has the full definition):
// per RGB channel, 11 x 11 Gaussian window (sigma 1.5) with 'valid' filtering, C1 = (0.01 L)^2,
// C2 = (0.03 L)^2, L = 255, 2 x 2 averaging between scales with an odd edge replicated, and the
// five weights [0.0448, 0.2856, 0.3001, 0.2363, 0.1333] (fewer scales: the first ones,
// renormalised); negative terms clamp to 0. The mean over the three channels is the result.

public enum MSSSIM {
    public static let weights: [Double] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
    static let window = 11

    /// The smallest side for which `scales` scales keep one 11 x 11 window: 161 for 5.
    public static func minSide(scales: Int = 5) -> Int { (window - 1) << (scales - 1) + 1 }

    static let gaussian: [Double] = {
        let g = (0..<window).map { i -> Double in
            let x = Double(i) - Double(window - 1) / 2
            return exp(-(x * x) / (2 * 1.5 * 1.5))
        }
        let sum = g.reduce(0, +)
        return g.map { $0 / sum }
    }()

    /// Mean MS-SSIM over R, G and B. Nil when a side is shorter than `minSide(scales:)`.
    public static func msSSIM(_ a: RGB8Image, _ b: RGB8Image, scales: Int = 5) -> Double? {
        precondition(a.width == b.width && a.height == b.height, "images differ in size")
        precondition((1...weights.count).contains(scales))
        guard min(a.width, a.height) >= minSide(scales: scales) else { return nil }
        var total = 0.0
        for c in 0..<3 {
            let x = Plane(a, channel: c), y = Plane(b, channel: c)
            total += plane(x, y, scales: scales)
        }
        return total / 3
    }

    struct Plane {
        var width: Int
        var height: Int
        var v: [Double]

        init(width: Int, height: Int, v: [Double]) {
            self.width = width
            self.height = height
            self.v = v
        }

        init(_ image: RGB8Image, channel: Int) {
            width = image.width
            height = image.height
            v = (0..<(width * height)).map { Double(image.pixels[3 * $0 + channel]) }
        }

        func map2(_ o: Plane, _ f: (Double, Double) -> Double) -> Plane {
            Plane(width: width, height: height, v: zip(v, o.v).map(f))
        }

        /// Separable 'valid' Gaussian filtering: columns first (axis 0), then rows.
        func filtered() -> Plane {
            let g = MSSSIM.gaussian, n = g.count
            let h2 = height - n + 1, w2 = width - n + 1
            var t = [Double](repeating: 0, count: h2 * width)
            for y in 0..<h2 {
                for k in 0..<n {
                    let gk = g[k], row = (y + k) * width
                    for x in 0..<width { t[y * width + x] += gk * v[row + x] }
                }
            }
            var out = [Double](repeating: 0, count: h2 * w2)
            for y in 0..<h2 {
                for x in 0..<w2 {
                    var s = 0.0
                    for k in 0..<n { s += g[k] * t[y * width + x + k] }
                    out[y * w2 + x] = s
                }
            }
            return Plane(width: w2, height: h2, v: out)
        }

        /// 2 x 2 average keeping every other pixel; an odd last row or column is replicated.
        func downsampled() -> Plane {
            let w2 = (width + 1) / 2, h2 = (height + 1) / 2
            var out = [Double](repeating: 0, count: w2 * h2)
            for y in 0..<h2 {
                let r0 = 2 * y * width, r1 = min(2 * y + 1, height - 1) * width
                for x in 0..<w2 {
                    let c0 = 2 * x, c1 = min(2 * x + 1, width - 1)
                    out[y * w2 + x] = 0.25 * (v[r0 + c0] + v[r1 + c0] + v[r0 + c1] + v[r1 + c1])
                }
            }
            return Plane(width: w2, height: h2, v: out)
        }
    }

    /// Mean SSIM and mean contrast-structure term.
    static func ssimCS(_ x: Plane, _ y: Plane) -> (ssim: Double, cs: Double) {
        let c1 = (0.01 * 255.0) * (0.01 * 255.0), c2 = (0.03 * 255.0) * (0.03 * 255.0)
        let mx = x.filtered(), my = y.filtered()
        let xx = x.map2(x, *).filtered(), yy = y.map2(y, *).filtered(), xy = x.map2(y, *).filtered()
        var ssim = 0.0, cs = 0.0
        for i in 0..<mx.v.count {
            let sxx = xx.v[i] - mx.v[i] * mx.v[i], syy = yy.v[i] - my.v[i] * my.v[i], sxy = xy.v[i] - mx.v[i] * my.v[i]
            let csv = (2 * sxy + c2) / (sxx + syy + c2)
            cs += csv
            ssim += (2 * mx.v[i] * my.v[i] + c1) / (mx.v[i] * mx.v[i] + my.v[i] * my.v[i] + c1) * csv
        }
        let n = Double(mx.v.count)
        return (ssim / n, cs / n)
    }

    static func plane(_ x0: Plane, _ y0: Plane, scales: Int) -> Double {
        var w = Array(weights.prefix(scales))
        if scales != weights.count {
            let sum = w.reduce(0, +)
            w = w.map { $0 / sum }
        }
        var x = x0, y = y0, value = 1.0
        for level in 0..<scales {
            let (ssim, cs) = ssimCS(x, y)
            if level == scales - 1 {
                value *= pow(max(ssim, 0), w[level])
            } else {
                value *= pow(max(cs, 0), w[level])
                x = x.downsampled()
                y = y.downsampled()
            }
        }
        return value
    }
}
