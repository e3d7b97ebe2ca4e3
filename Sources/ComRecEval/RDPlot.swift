// An SVG line chart of rate-distortion curves (bits per pixel against PSNR), for `comrec eval
// --plot`. Plain SVG 1.1 text, no scripts or external fonts; one colour per curve.

import ComRecCodec

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

        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(decimalString(width, 0))\" height=\"\(decimalString(height, 0))\" "
            + "viewBox=\"0 0 \(decimalString(width, 0)) \(decimalString(height, 0))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(decimalString(width / 2, 1))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">\(escape(title))</text>\n"
        // Grid and ticks: every 0.1 bpp (labels every 0.2 when crowded), every 1 or 2 dB.
        let xStep = maxBPP > 1.2 ? 0.2 : 0.1
        var tick = 0.0
        while tick <= maxBPP + 1e-9 {
            s += "<line x1=\"\(decimalString(x(tick), 1))\" y1=\"\(decimalString(top, 1))\" x2=\"\(decimalString(x(tick), 1))\" y2=\"\(decimalString(top + plotH, 1))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(decimalString(x(tick), 1))\" y=\"\(decimalString(top + plotH + 16, 1))\" text-anchor=\"middle\">\(decimalString(tick, 1))</text>\n"
            tick += xStep
        }
        let yStep = highPSNR - lowPSNR > 12 ? 2.0 : 1.0
        var level = lowPSNR
        while level <= highPSNR + 1e-9 {
            s += "<line x1=\"\(decimalString(left, 1))\" y1=\"\(decimalString(y(level), 1))\" x2=\"\(decimalString(left + plotW, 1))\" y2=\"\(decimalString(y(level), 1))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(decimalString(left - 6, 1))\" y=\"\(decimalString(y(level) + 4, 1))\" text-anchor=\"end\">\(decimalString(level, 0))</text>\n"
            level += yStep
        }
        s += "<rect x=\"\(decimalString(left, 1))\" y=\"\(decimalString(top, 1))\" width=\"\(decimalString(plotW, 1))\" height=\"\(decimalString(plotH, 1))\" fill=\"none\" stroke=\"#444\"/>\n"
        s += "<text x=\"\(decimalString(left + plotW / 2, 1))\" y=\"\(decimalString(height - 12, 1))\" text-anchor=\"middle\">bits per pixel (whole file)</text>\n"
        s += "<text transform=\"translate(16 \(decimalString(top + plotH / 2, 1))) rotate(-90)\" text-anchor=\"middle\">RGB PSNR (dB)</text>\n"
        for (i, curve) in curves.enumerated() {
            let colour = palette[i % palette.count]
            let points = curve.points.compactMap { p in p.psnr.map { (p.bpp, $0) } }.sorted { $0.0 < $1.0 }
            let path = points.map { "\(decimalString(x($0.0), 2)),\(decimalString(y($0.1), 2))" }.joined(separator: " ")
            s += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            for p in points {
                s += "<circle cx=\"\(decimalString(x(p.0), 2))\" cy=\"\(decimalString(y(p.1), 2))\" r=\"3\" fill=\"\(colour)\"/>\n"
            }
            let ly = top + 16 + Double(i) * 18
            s += "<line x1=\"\(decimalString(left + plotW - 130, 1))\" y1=\"\(decimalString(ly - 4, 1))\" x2=\"\(decimalString(left + plotW - 106, 1))\" y2=\"\(decimalString(ly - 4, 1))\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            s += "<text x=\"\(decimalString(left + plotW - 100, 1))\" y=\"\(decimalString(ly, 1))\">\(escape(curve.name))</text>\n"
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
