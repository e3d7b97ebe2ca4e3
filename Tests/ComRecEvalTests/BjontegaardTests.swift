// BD-rate and BD-PSNR against numbers computed by Training/comrec_train/metrics.py (scipy's
// PchipInterpolator) on fixed curves.
import ComRecEval
import ComRecIO
import Testing

private func curve(_ points: [(Double, Double)]) -> [RDPair] { points.map { RDPair(bpp: $0.0, psnr: $0.1) } }

@Suite struct BjontegaardTests {
    let jpeg = curve([(0.12, 26.1), (0.2, 28.0), (0.31, 29.6), (0.45, 31.0), (0.62, 32.4), (0.9, 34.0)])
    let test = curve([(0.09, 27.0), (0.15, 28.6), (0.26, 30.1), (0.41, 31.2), (0.58, 32.0), (0.85, 32.6)])

    func assertClose(_ value: Double?, _ python: Double, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let value else {
            Issue.record("nil, Python gives \(python)", sourceLocation: sourceLocation)
            return
        }
        #expect(abs(value - python) <= 1e-10 * max(1, abs(python)), "\(value), Python gives \(python)", sourceLocation: sourceLocation)
    }

    @Test func matchesPython() {
        // metrics.bd_rate(jpeg, test), metrics.bd_psnr(jpeg, test)
        assertClose(Bjontegaard.bdRate(anchor: jpeg, test: test), -0.27240201972545774)
        assertClose(Bjontegaard.bdPSNR(anchor: jpeg, test: test), 1.0246779887339874)
        // Other ranges: metrics.bd_rate(jpeg, test, 0.2, 0.5), metrics.bd_psnr(jpeg, test, 0.05, 1.0)
        assertClose(Bjontegaard.bdRate(anchor: jpeg, test: test, lo: 0.2, hi: 0.5), -0.2282554236699209)
        assertClose(Bjontegaard.bdPSNR(anchor: jpeg, test: test, lo: 0.05, hi: 1.0), 0.7240304971398221)
    }

    @Test func nonMonotonePointsAreDroppedAsInPython() {
        let dup = curve([(0.1, 27.0), (0.1, 27.5), (0.2, 27.4), (0.3, 29.0), (0.5, 30.0)])
        assertClose(Bjontegaard.bdRate(anchor: jpeg, test: dup), 0.1680853159460447)
        assertClose(Bjontegaard.bdPSNR(anchor: jpeg, test: dup), -0.4274535702692833)
    }

    @Test func twoPointCurveIsLinear() {
        let two = curve([(0.15, 27.0), (0.5, 31.0)])
        assertClose(Bjontegaard.bdRate(anchor: jpeg, test: two), 0.041675599619271475)
        assertClose(Bjontegaard.bdPSNR(anchor: jpeg, test: two), -0.1544797907672233)
    }

    @Test func noOverlapGivesNil() {
        #expect(Bjontegaard.bdRate(anchor: jpeg, test: curve([(0.7, 33), (0.8, 34)])) == nil)
        #expect(Bjontegaard.bdRate(anchor: jpeg, test: curve([(0.2, 30)])) == nil)
        #expect(Bjontegaard.bdPSNR(anchor: jpeg, test: []) == nil)
    }

    @Test func identicalCurvesGiveZero() throws {
        let rate = try #require(Bjontegaard.bdRate(anchor: jpeg, test: jpeg))
        #expect(abs(rate - 0) <= 1e-12)
        let psnr = try #require(Bjontegaard.bdPSNR(anchor: jpeg, test: jpeg))
        #expect(abs(psnr - 0) <= 1e-12)
    }

    @Test func pchipInterpolatesKnotsAndStaysMonotone() {
        let f = PCHIP(x: [0, 1, 2, 4, 5], y: [0, 1, 1.5, 1.6, 3])
        for (x, y) in zip(f.x, f.y) { #expect(abs(f(x) - y) <= 1e-12) }
        var previous = -1.0
        for i in 0...500 {
            let v = f(Double(i) / 100)
            #expect(v >= previous - 1e-12)
            previous = v
        }
    }
}
