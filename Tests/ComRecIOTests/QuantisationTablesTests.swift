// ComRec's quantisation tables (JPEGTables.comrec): what libjpeg writes with them, what the trellis
// quantises with, and that `comrec encode` uses them unless told otherwise.
import ComRecCodec
import ComRecIO
import ComRecJPEG
import ComRecTestSupport
import Foundation
import Testing

@Suite struct QuantisationTablesTests {
    let jpeg = LibJPEG()
    let image = Fixtures.image(width: 40, height: 24) { x, y in [UInt8(x * 6), UInt8(y * 10), UInt8((x * y) % 256)] }

    /// At every quality the DQT segments libjpeg writes hold JPEGQuality.table(.comrec), rounded and
    /// trellis alike (the trellis divides by the same steps libjpeg records), and differ from the
    /// standard's; every step is a baseline value.
    @Test func libjpegWritesTheTablesTheTrellisUses() throws {
        for q in [1, 5, 10, 25, 50, 75, 90, 95, 100] {
            let expected = [false, true].map { JPEGQuality.table(quality: q, chroma: $0, tables: .comrec) }
            for trellis in [nil, TrellisTuning()] {
                let file = try jpeg.encode(image, settings: JPEGSettings(quality: q, trellis: trellis, tables: .comrec), segments: [])
                let tables = try jpeg.readHeader(file).quantTables
                #expect(tables.count == 3 && tables[0] == expected[0] && tables[1] == expected[1] && tables[2] == expected[1],
                        "quality \(q), trellis \(trellis != nil)")
            }
            #expect(expected[0].allSatisfy { (1...255).contains($0) } && expected[1].allSatisfy { (1...255).contains($0) })
            // At 1 and 100 every step clamps (255, 1) whatever the tables.
            if q > 1 && q < 100 { #expect(expected[0] != JPEGQuality.table(quality: q, chroma: false)) }
        }
    }

    /// The tables at quality 50 are the formula docs/format.md gives, rising with the frequency.
    @Test func tablesFollowTheirFormula() {
        let luma = JPEGQuality.table(quality: 50, chroma: false, tables: .comrec)
        let chroma = JPEGQuality.table(quality: 50, chroma: true, tables: .comrec)
        for v in 0..<8 {
            for u in 0..<8 {
                let k = Double(u + v)
                #expect(Int(luma[v * 8 + u]) == Int((12 * (1 + 0.3 * k)).rounded()))
                #expect(Int(chroma[v * 8 + u]) == Int((7.2 * (1 + 0.6 * k)).rounded()))
            }
        }
        #expect(JPEGQuality.baseTables(.standard) == nil)
        #expect(JPEGQuality.baseTables(.comrec)?.count == 128)
    }

    /// On a photograph, ComRec's tables give a higher PSNR than the standard's at no more bits: some
    /// ComRec-table file is no larger than the standard-table file at each of two qualities and
    /// better than it (the lever docs/results.md measures).
    @Test func beatStandardTablesOnAPhotograph() throws {
        let photo = try readImage(path: Fixtures.demoImage)
        for q in [30, 70] {
            let standard = try jpeg.encode(photo, settings: JPEGSettings(quality: q), segments: [])
            let standardPSNR = Metrics.psnr(photo, try jpeg.decode(standard, maxPixels: photo.pixelCount))
            var beaten = false
            for q2 in max(q - 20, 1)...min(q + 20, 100) {
                let file = try jpeg.encode(photo, settings: JPEGSettings(quality: q2, tables: .comrec), segments: [])
                if file.count <= standard.count,
                   Metrics.psnr(photo, try jpeg.decode(file, maxPixels: photo.pixelCount)) > standardPSNR {
                    beaten = true
                    break
                }
            }
            #expect(beaten, "no ComRec-table file near quality \(q) is both no larger and better than the standard's")
        }
    }

    /// `comrec encode` writes the tables asked for in both modes; the files decode either way.
    @Test func encodeFileUsesComRecTablesByDefault() throws {
        let dir = TemporaryDirectory()
        let input = dir.file("in.png")
        try writePNG(try readImage(path: Fixtures.demoImage), to: input)
        for mode in [ModeRequest.half, .full] {
            for tables in JPEGTables.allCases {
                let output = dir.file("\(mode.rawValue)-\(tables.rawValue).jpg")
                let report = try encodeFile(input: input, output: output, options: EncodeOptions(quality: 40, tables: tables, mode: mode))
                let file = readBytes(output)
                let written = try jpeg.readHeader(file).quantTables
                #expect(written.first == JPEGQuality.table(quality: 40, chroma: false, tables: tables), "\(mode) \(tables)")
                let decoded = try ComRecPipeline(jpeg: jpeg, profiles: Profile.hosted()).decode(file)
                #expect(decoded.width == report.width && decoded.height == report.height)
            }
        }
    }

    /// Without `tables`, each profile's own: ComRec's for `fast`, the standard's for `paper`, whose
    /// networks learnt from them; the C API and eval resolve it the same way (Profile.tables).
    @Test func eachProfileWritesItsOwnTablesByDefault() throws {
        let dir = TemporaryDirectory()
        let input = dir.file("in.png")
        try writePNG(Fixtures.image(width: 48, height: 32) { x, y in [UInt8(x * 5), UInt8(y * 7), 90] }, to: input)
        for (name, tables) in [("fast", JPEGTables.comrec), ("paper", .standard), ("bicubic", .comrec)] {
            let profile = try #require(try Profile.hosted().first { $0.name == name })
            #expect(profile.tables == tables)
            let output = dir.file("\(name).jpg")
            try encodeFile(input: input, output: output, options: EncodeOptions(profile: profile, quality: 40, mode: .full))
            #expect(try jpeg.readHeader(readBytes(output)).quantTables.first == JPEGQuality.table(quality: 40, chroma: false, tables: tables),
                    "\(name)")
        }
    }
}
