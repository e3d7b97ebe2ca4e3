// The quality a JPEG was written with, estimated from its quantisation tables (`comrec enhance`).
//
// libjpeg (and libjpeg-turbo, and most software built on them) scales the example tables of the
// JPEG standard (ITU-T T.81, Annex K) by a factor derived from a quality 1...100. For such files the
// tables identify the quality exactly; for others (cameras, other encoders) the nearest libjpeg
// quality, measured in log scale so that every coefficient counts alike, is the estimate.

public enum JPEGQuality {
    /// Annex K, Table K.1: luminance, natural (row-major) order.
    static let standardLuma: [Int] = [
        16, 11, 10, 16, 24, 40, 51, 61,
        12, 12, 14, 19, 26, 58, 60, 55,
        14, 13, 16, 24, 40, 57, 69, 56,
        14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77,
        24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101,
        72, 92, 95, 98, 112, 100, 103, 99,
    ]

    /// Annex K, Table K.2: chrominance, natural order.
    static let standardChroma: [Int] = [
        17, 18, 24, 47, 99, 99, 99, 99,
        18, 21, 26, 66, 99, 99, 99, 99,
        24, 26, 56, 99, 99, 99, 99, 99,
        47, 66, 99, 99, 99, 99, 99, 99,
    ] + [Int](repeating: 99, count: 32)

    /// ComRec's tables at quality 50 (JPEGTables.comrec), natural order: steps that grow linearly
    /// with the frequency (u + v), 12 (1 + 0.3 (u + v)) for luma and 7.2 (1 + 0.6 (u + v)) for
    /// chroma, rounded. Annex K's tables were fitted to what people see; ComRec's networks and its
    /// figures are judged by squared error, which the standard's steep high-frequency steps and
    /// coarse chroma serve badly. The family was chosen on training images (docs/results.md,
    /// "Quantisation tables"); the luma scale 12 makes a file about as large as libjpeg's at the
    /// same quality.
    static let comrecLuma: [Int] = [
        12, 16, 19, 23, 26, 30, 34, 37,
        16, 19, 23, 26, 30, 34, 37, 41,
        19, 23, 26, 30, 34, 37, 41, 44,
        23, 26, 30, 34, 37, 41, 44, 48,
        26, 30, 34, 37, 41, 44, 48, 52,
        30, 34, 37, 41, 44, 48, 52, 55,
        34, 37, 41, 44, 48, 52, 55, 59,
        37, 41, 44, 48, 52, 55, 59, 62,
    ]

    static let comrecChroma: [Int] = [
         7, 12, 16, 20, 24, 29, 33, 37,
        12, 16, 20, 24, 29, 33, 37, 42,
        16, 20, 24, 29, 33, 37, 42, 46,
        20, 24, 29, 33, 37, 42, 46, 50,
        24, 29, 33, 37, 42, 46, 50, 55,
        29, 33, 37, 42, 46, 50, 55, 59,
        33, 37, 42, 46, 50, 55, 59, 63,
        37, 42, 46, 50, 55, 59, 63, 68,
    ]

    /// The tables at quality 50, luma then chroma (128 values), as libjpeg's jpeg_add_quant_table
    /// takes them; nil for the standard ones, which libjpeg has built in.
    public static func baseTables(_ tables: JPEGTables) -> [UInt32]? {
        switch tables {
        case .standard: return nil
        case .comrec: return (comrecLuma + comrecChroma).map { UInt32($0) }
        }
    }

    /// The table libjpeg writes for `quality` (jpeg_quality_scaling of the tables at quality 50,
    /// with force_baseline: values 1...255).
    public static func table(quality: Int, chroma: Bool, tables: JPEGTables = .standard) -> [UInt16] {
        let q = min(max(quality, 1), 100)
        let scale = q < 50 ? 5000 / q : 200 - 2 * q
        let base: [Int]
        switch tables {
        case .standard: base = chroma ? standardChroma : standardLuma
        case .comrec: base = chroma ? comrecChroma : comrecLuma
        }
        return base.map { UInt16(min(max(($0 * scale + 50) / 100, 1), 255)) }
    }

    /// An estimate and whether the tables are exactly libjpeg's at that quality.
    public struct Estimate: Equatable, Sendable {
        public var quality: Int
        public var exact: Bool

        public init(quality: Int, exact: Bool) {
            self.quality = quality
            self.exact = exact
        }
    }

    /// The libjpeg quality whose tables are nearest to `tables` (luma first, then chroma; extra
    /// tables are ignored); nil when there is no table of 64 values.
    public static func estimate(_ tables: [[UInt16]]) -> Estimate? {
        guard let luma = tables.first, luma.count == 64 else { return nil }
        let chroma = tables.count > 1 && tables[1].count == 64 ? tables[1] : nil
        var best: (quality: Int, distance: Double)?
        for q in 1...100 {
            var distance = logDistance(luma, table(quality: q, chroma: false))
            if let chroma { distance += logDistance(chroma, table(quality: q, chroma: true)) }
            // Ties go to the higher quality: several low qualities share tables clamped at 255.
            if best == nil || distance <= best!.distance { best = (q, distance) }
        }
        return best.map { Estimate(quality: $0.quality, exact: $0.distance == 0) }
    }

    private static func logDistance(_ a: [UInt16], _ b: [UInt16]) -> Double {
        var sum = 0.0
        for i in 0..<64 {
            let d = naturalLogarithm(Double(max(a[i], 1))) - naturalLogarithm(Double(max(b[i], 1)))
            sum += d * d
        }
        return sum
    }
}

/// Natural logarithm without Foundation (Embedded-safe): ln(m * 2^e) = ln(m) + e ln 2, with the
/// mantissa's logarithm from the atanh series (converges fast for m in [1, 2)).
public func naturalLogarithm(_ x: Double) -> Double {
    precondition(x > 0)
    let e = Double(x.exponent)
    let m = x.significand  // [1, 2)
    let t = (m - 1) / (m + 1), t2 = t * t
    var term = t, sum = 0.0, k = 1.0
    for _ in 0..<30 {
        sum += term / k
        term *= t2
        k += 2
    }
    return 2 * sum + e * 0.693_147_180_559_945_3
}
