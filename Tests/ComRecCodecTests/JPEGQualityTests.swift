// Quality estimation from quantisation tables (`comrec enhance`), against libjpeg-turbo's own.
import ComRecCodec
import ComRecIO
import ComRecTestSupport
import Foundation
import Testing

@Suite struct JPEGQualityTests {
    let image = Fixtures.image(width: 24, height: 16) { x, y in [UInt8(x * 9), UInt8(y * 13), UInt8((x * y) % 256)] }

    /// Every quality libjpeg writes is recognised exactly, from the tables libjpeg puts in the file:
    /// this also checks JPEGQuality.table against libjpeg's jpeg_set_quality.
    @Test func libjpegQualitiesAreRecognisedExactly() throws {
        for q in 1...100 {
            let file = try LibJPEG().encode(image, settings: JPEGSettings(quality: q), segments: [])
            let tables = try LibJPEG().readHeader(file).quantTables
            #expect(tables.count == 3 && tables[0] == JPEGQuality.table(quality: q, chroma: false))
            #expect(tables[1] == JPEGQuality.table(quality: q, chroma: true) && tables[2] == tables[1])
            #expect(JPEGQuality.estimate(tables) == JPEGQuality.Estimate(quality: q, exact: true), "quality \(q)")
        }
    }

    /// Other encoders' tables: the nearest libjpeg quality, not claimed exact.
    @Test func foreignTablesGiveTheNearestQuality() {
        for q in [10, 25, 50, 80] {
            // Every other coefficient 12% coarser: no libjpeg quality has these tables.
            let scaled = [false, true].map { chroma in
                JPEGQuality.table(quality: q, chroma: chroma).enumerated().map { i, v in
                    i % 2 == 0 ? UInt16(min(255, (Double(v) * 1.12).rounded(.up))) : v
                }
            }
            let estimate = JPEGQuality.estimate(scaled)
            #expect(estimate?.exact == false)
            #expect(abs((estimate?.quality ?? 0) - q) <= 3, "quality \(q): \(String(describing: estimate))")
            // A grey JPEG has only the luma table.
            #expect(JPEGQuality.estimate([JPEGQuality.table(quality: q, chroma: false)]) == .init(quality: q, exact: true))
        }
        #expect(JPEGQuality.estimate([]) == nil && JPEGQuality.estimate([[1, 2, 3]]) == nil)
    }

    @Test func logarithmMatchesFoundation() {
        for x in [1e-3, 0.5, 1, 1.5, 2, 3, 99, 255, 32767, 1e9] {
            #expect(abs(ComRecCodec.naturalLogarithm(x) - Foundation.log(x)) < 1e-12, "\(x)")
        }
    }
}
