import ComRecEval
import ComRecIO
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

@Suite struct RDPlotTests {
    @Test func svgHasOneLinePerCurveAndEscapesNames() throws {
        let curves: [(name: String, points: [RDPoint])] = [
            ("jpeg", [RDPoint(quality: 5, bpp: 0.2, psnr: 27, msSSIM: nil), RDPoint(quality: 9, bpp: 0.5, psnr: 31, msSSIM: nil)]),
            ("a<b", [RDPoint(quality: 10, bpp: 0.1, psnr: 26, msSSIM: 0.9), RDPoint(quality: 20, bpp: 0.3, psnr: nil, msSSIM: nil)]),
        ]
        let svg = RDPlot.svg(curves: curves, title: "t & t")
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 2)
        #expect(svg.components(separatedBy: "<circle").count - 1 == 3, "the point without PSNR is left out")
        #expect(svg.contains("a&lt;b") && svg.contains("t &amp; t"))
        #expect(XMLParser(data: Data(svg.utf8)).parse(), "well-formed XML")
    }
}
