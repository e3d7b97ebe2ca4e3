#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Bjontegaard deltas restricted to a bits-per-pixel range, exactly as
// Training/comrec_train/metrics.py computes them (scipy's PchipInterpolator, ported below):
//   BD-rate over [lo, hi] bpp: each curve is cut to the PSNR interval it spans inside [lo, hi]
//   (PCHIP of PSNR against log10 bpp); over the intersection, log10 bpp is interpolated against
//   PSNR (PCHIP) for both curves at 200 evenly spaced PSNRs, and
//   BD-rate = 10^mean(log10 bpp_test - log10 bpp_anchor) - 1 (negative: fewer bits).
//   BD-PSNR: mean PSNR difference at 200 geometrically spaced bpp where both curves exist.

/// A monotone piecewise cubic Hermite interpolant (Fritsch-Carlson slopes with the one-sided
/// three-point end slopes of Moler's pchiptx), as scipy.interpolate.PchipInterpolator builds it;
/// outside the knots it extends the first or last piece. `x` strictly increasing, 2+ knots.
public struct PCHIP {
    public let x: [Double]
    public let y: [Double]
    public let slopes: [Double]

    public init(x: [Double], y: [Double]) {
        precondition(x.count == y.count && x.count >= 2)
        self.x = x
        self.y = y
        let n = x.count
        var h = [Double](), m = [Double]()
        for k in 0..<(n - 1) {
            h.append(x[k + 1] - x[k])
            m.append((y[k + 1] - y[k]) / h[k])
        }
        var d = [Double](repeating: 0, count: n)
        if n == 2 {
            d = [m[0], m[0]]
        } else {
            for k in 1..<(n - 1) {
                let same = m[k - 1].sign == m[k].sign && m[k - 1] != 0 && m[k] != 0
                if same {
                    let w1 = 2 * h[k] + h[k - 1], w2 = h[k] + 2 * h[k - 1]
                    d[k] = 1 / ((w1 / m[k - 1] + w2 / m[k]) / (w1 + w2))
                }
            }
            d[0] = PCHIP.edge(h[0], h[1], m[0], m[1])
            d[n - 1] = PCHIP.edge(h[n - 2], h[n - 3], m[n - 2], m[n - 3])
        }
        slopes = d
    }

    static func edge(_ h0: Double, _ h1: Double, _ m0: Double, _ m1: Double) -> Double {
        let d = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
        if sign(d) != sign(m0) { return 0 }
        if sign(m0) != sign(m1) && abs(d) > 3 * abs(m0) { return 3 * m0 }
        return d
    }

    /// numpy's sign: -1, 0 or 1.
    static func sign(_ v: Double) -> Double { v > 0 ? 1 : (v < 0 ? -1 : 0) }

    public func callAsFunction(_ t: Double) -> Double {
        // The piece: the last knot not above t (the first piece below x[0], the last above).
        var lo = 0, hi = x.count - 2
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if x[mid] <= t { lo = mid } else { hi = mid - 1 }
        }
        let i = lo, h = x[i + 1] - x[i], s = t - x[i]
        // scipy's CubicHermiteSpline coefficients, in its order of operations.
        let m = (y[i + 1] - y[i]) / h
        let t3 = (slopes[i] + slopes[i + 1] - 2 * m) / h
        let c3 = t3 / h
        let c2 = (m - slopes[i]) / h - t3
        return ((c3 * s + c2) * s + slopes[i]) * s + y[i]
    }
}

/// One rate-distortion sample.
public struct RDPair: Equatable, Sendable {
    public var bpp: Double
    public var psnr: Double
    public init(bpp: Double, psnr: Double) {
        self.bpp = bpp
        self.psnr = psnr
    }
}

public enum Bjontegaard {
    /// Sorted by bpp, keeping a chain where bpp and PSNR both strictly increase.
    static func monotone(_ points: [RDPair]) -> [RDPair] {
        var out: [RDPair] = []
        for p in points.sorted(by: { ($0.bpp, $0.psnr) < ($1.bpp, $1.psnr) })
        where out.isEmpty || (p.bpp > out[out.count - 1].bpp && p.psnr > out[out.count - 1].psnr) {
            out.append(p)
        }
        return out
    }

    static func psnrAt(_ curve: [RDPair], _ bpp: [Double]) -> [Double] {
        let f = PCHIP(x: curve.map { log10($0.bpp) }, y: curve.map { $0.psnr })
        return bpp.map { f(log10($0)) }
    }

    /// PSNR of `test` minus the anchor's PSNR at the same bits per pixel (the anchor interpolated
    /// as in the BD figures: PCHIP in log rate), at each test point within [lo, hi] bpp that the
    /// anchor covers; empty when none is. The smallest is "never worse than the anchor" measured.
    public static func gainsOverAnchor(anchor: [RDPair], test: [RDPair], lo: Double, hi: Double) -> [(bpp: Double, gain: Double)] {
        let a = monotone(anchor)
        guard a.count >= 2 else { return [] }
        let covered = test.filter { $0.bpp >= max(lo, a[0].bpp) && $0.bpp <= min(hi, a[a.count - 1].bpp) }
        let anchorPSNR = psnrAt(a, covered.map(\.bpp))
        return zip(covered, anchorPSNR).map { (bpp: $0.bpp, gain: $0.psnr - $1) }
    }

    /// numpy.linspace(a, b, n).
    static func linspace(_ a: Double, _ b: Double, _ n: Int) -> [Double] {
        let step = (b - a) / Double(n - 1)
        return (0..<n).map { $0 == n - 1 ? b : a + Double($0) * step }
    }

    /// BD-rate of `test` against `anchor` over [lo, hi] bpp, as a fraction (-0.2: 20% fewer
    /// bits), or nil when the curves do not overlap there.
    public static func bdRate(anchor: [RDPair], test: [RDPair], lo: Double = 0.1, hi: Double = 0.6, samples: Int = 200) -> Double? {
        let a = monotone(anchor), t = monotone(test)
        guard a.count >= 2, t.count >= 2 else { return nil }
        var intervals: [(Double, Double)] = []
        for c in [a, t] {
            let b0 = max(lo, c[0].bpp), b1 = min(hi, c[c.count - 1].bpp)
            guard b0 < b1 else { return nil }
            let p = psnrAt(c, [b0, b1])
            intervals.append((p[0], p[1]))
        }
        let p0 = max(intervals[0].0, intervals[1].0), p1 = min(intervals[0].1, intervals[1].1)
        guard p0 < p1 else { return nil }
        let la = PCHIP(x: a.map { $0.psnr }, y: a.map { log10($0.bpp) })
        let lt = PCHIP(x: t.map { $0.psnr }, y: t.map { log10($0.bpp) })
        let ps = linspace(p0, p1, samples)
        let mean = ps.map { lt($0) - la($0) }.reduce(0, +) / Double(samples)
        return pow(10, mean) - 1
    }

    /// BD-PSNR of `test` against `anchor` in dB over the bpp range both cover inside [lo, hi].
    public static func bdPSNR(anchor: [RDPair], test: [RDPair], lo: Double = 0.1, hi: Double = 0.6, samples: Int = 200) -> Double? {
        let a = monotone(anchor), t = monotone(test)
        guard a.count >= 2, t.count >= 2 else { return nil }
        let b0 = max(lo, a[0].bpp, t[0].bpp), b1 = min(hi, a[a.count - 1].bpp, t[t.count - 1].bpp)
        guard b0 < b1 else { return nil }
        // numpy.geomspace: evenly spaced logarithms, ends exact.
        let bs = linspace(log10(b0), log10(b1), samples).enumerated().map { i, v in
            i == 0 ? b0 : (i == samples - 1 ? b1 : pow(10, v))
        }
        let pt = psnrAt(t, bs), pa = psnrAt(a, bs)
        return zip(pt, pa).map { $0 - $1 }.reduce(0, +) / Double(samples)
    }
}
