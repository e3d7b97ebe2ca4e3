// An SVG line chart of rate-distortion curves (bits per pixel against PSNR), for `comrec eval
// --plot`. Plain SVG 1.1 text, no scripts or external fonts; one colour per curve.

public enum RDPlot {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]

    /// The chart of `curves` (in legend order); points without a PSNR are left out.
    public static func svg(curves: [(name: String, points: [RDPoint])], title: String) -> String {
        let width = 720.0, height = 480.0, left = 64.0, right = 20.0, top = 40.0, bottom = 52.0
        let all = curves.flatMap { c in c.points.compactMap { p in p.psnr.map { (p.bpp, $0) } } }
        let maxBPP = niceCeil(all.map { $0.0 }.max() ?? 1, step: 0.1)
        let lowPSNR = ((all.map { $0.1 }.min() ?? 20) - 0.5).rounded(.down)
        let highPSNR = ((all.map { $0.1 }.max() ?? 40) + 0.5).rounded(.up)
        let plotW = width - left - right, plotH = height - top - bottom
        func x(_ bpp: Double) -> Double { left + bpp / maxBPP * plotW }
        func y(_ psnr: Double) -> Double { top + (highPSNR - psnr) / max(highPSNR - lowPSNR, 1) * plotH }

        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(fmt(width, 0))\" height=\"\(fmt(height, 0))\" "
            + "viewBox=\"0 0 \(fmt(width, 0)) \(fmt(height, 0))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(fmt(width / 2, 1))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">\(escape(title))</text>\n"
        // Grid and ticks: every 0.1 bpp (labels every 0.2 when crowded), every 1 or 2 dB.
        let xStep = maxBPP > 1.2 ? 0.2 : 0.1
        var tick = 0.0
        while tick <= maxBPP + 1e-9 {
            s += "<line x1=\"\(fmt(x(tick), 1))\" y1=\"\(fmt(top, 1))\" x2=\"\(fmt(x(tick), 1))\" y2=\"\(fmt(top + plotH, 1))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(fmt(x(tick), 1))\" y=\"\(fmt(top + plotH + 16, 1))\" text-anchor=\"middle\">\(fmt(tick, 1))</text>\n"
            tick += xStep
        }
        let yStep = highPSNR - lowPSNR > 12 ? 2.0 : 1.0
        var level = lowPSNR
        while level <= highPSNR + 1e-9 {
            s += "<line x1=\"\(fmt(left, 1))\" y1=\"\(fmt(y(level), 1))\" x2=\"\(fmt(left + plotW, 1))\" y2=\"\(fmt(y(level), 1))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(fmt(left - 6, 1))\" y=\"\(fmt(y(level) + 4, 1))\" text-anchor=\"end\">\(fmt(level, 0))</text>\n"
            level += yStep
        }
        s += "<rect x=\"\(fmt(left, 1))\" y=\"\(fmt(top, 1))\" width=\"\(fmt(plotW, 1))\" height=\"\(fmt(plotH, 1))\" fill=\"none\" stroke=\"#444\"/>\n"
        s += "<text x=\"\(fmt(left + plotW / 2, 1))\" y=\"\(fmt(height - 12, 1))\" text-anchor=\"middle\">bits per pixel (whole file)</text>\n"
        s += "<text transform=\"translate(16 \(fmt(top + plotH / 2, 1))) rotate(-90)\" text-anchor=\"middle\">RGB PSNR (dB)</text>\n"
        for (i, curve) in curves.enumerated() {
            let colour = palette[i % palette.count]
            let points = curve.points.compactMap { p in p.psnr.map { (p.bpp, $0) } }.sorted { $0.0 < $1.0 }
            let path = points.map { "\(fmt(x($0.0), 2)),\(fmt(y($0.1), 2))" }.joined(separator: " ")
            s += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            for p in points {
                s += "<circle cx=\"\(fmt(x(p.0), 2))\" cy=\"\(fmt(y(p.1), 2))\" r=\"3\" fill=\"\(colour)\"/>\n"
            }
            let ly = top + 16 + Double(i) * 18
            s += "<line x1=\"\(fmt(left + plotW - 130, 1))\" y1=\"\(fmt(ly - 4, 1))\" x2=\"\(fmt(left + plotW - 106, 1))\" y2=\"\(fmt(ly - 4, 1))\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            s += "<text x=\"\(fmt(left + plotW - 100, 1))\" y=\"\(fmt(ly, 1))\">\(escape(curve.name))</text>\n"
        }
        s += "</svg>\n"
        return s
    }

    static func niceCeil(_ v: Double, step: Double) -> Double { max(step, (v / step).rounded(.up) * step) }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}

/// `value` with `digits` decimals (no Foundation in this layer), e.g. fmt(0.1, 2) == "0.10".
func fmt(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9e15 else { return "\(value)" }
    let n = Int(scaled), unit = Int(scale)
    let sign = value < 0 && n != 0 ? "-" : ""
    if digits == 0 { return sign + "\(n)" }
    let frac = String(n % unit)
    return sign + "\(n / unit)." + String(repeating: "0", count: digits - frac.count) + frac
}
