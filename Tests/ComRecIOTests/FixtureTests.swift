import ComRecCodec
import ComRecIO
import ComRecTestSupport
import Testing

/// Every fixture decodes to the pixels Fixtures/generate.py computed, whatever its format.
@Suite struct FixtureTests {
    static func read(_ name: String, flattenAlpha: Bool = false) throws -> RGB8Image {
        try readImage(path: Fixtures.path(name), options: ImageReadOptions(flattenAlpha: flattenAlpha))
    }

    @Test(arguments: [(1, 1), (7, 5), (33, 17)])
    func rgbPNG(width: Int, height: Int) throws {
        #expect(try Self.read("rgb-\(width)x\(height).png") == Fixtures.image(width: width, height: height, Fixtures.smallRGB))
    }

    @Test func binaryPPMMatchesPNG() throws {
        #expect(try Self.read("rgb-7x5.ppm") == Fixtures.image(width: 7, height: 5, Fixtures.smallRGB))
    }

    @Test func greyPNGAndPGM() throws {
        let expected = Fixtures.image(width: 20, height: 12) { x, y in
            let v = Fixtures.smallGrey(x, y)
            return [v, v, v]
        }
        #expect(try Self.read("grey-20x12.png") == expected)
        #expect(try Self.read("grey-20x12.pgm") == expected)
    }

    /// 16-bit samples round to nearest: v8 = round(v * 255 / 65535), in libpng and in the PPM reader.
    @Test func sixteenBitPNGAndPPM() throws {
        let expected = Fixtures.image(width: 24, height: 16) { x, y in
            Fixtures.rgb16(x, y).map { UInt8(($0 * 255 + 32767) / 65535) }
        }
        #expect(try Self.read("rgb16-24x16.png") == expected)
        #expect(try Self.read("rgb16-24x16.ppm") == expected)
    }

    @Test func palettePNG() throws {
        #expect(try Self.read("palette-16x16.png") == Fixtures.image(width: 16, height: 16) { x, y in
            Fixtures.palette[Fixtures.paletteIndex(x, y)]
        })
    }

    @Test func interlacedPNG() throws {
        #expect(try Self.read("interlaced-17x11.png") == Fixtures.image(width: 17, height: 11, Fixtures.smallRGB))
    }

    @Test func opaqueAlphaChannelIsDropped() throws {
        #expect(try Self.read("rgba-opaque-8x8.png") == Fixtures.image(width: 8, height: 8, Fixtures.smallRGB))
    }

    @Test func realAlphaIsRefusedWithAMessageThatSaysSo() {
        #expect {
            try Self.read("rgba-alpha-12x10.png")
        } throws: { error in
            let text = "\(error)"
            return text.contains("rgba-alpha-12x10.png: image has a real alpha channel")
                && text.contains("--flatten-alpha") && !text.contains("\n")
        }
    }

    @Test func flattenAlphaCompositesOnWhite() throws {
        let expected = Fixtures.image(width: 12, height: 10) { x, y in
            let a = Fixtures.alpha(x, y)
            return Fixtures.smallRGB(x, y).map { UInt8((Int($0) * a + 255 * (255 - a) + 127) / 255) }
        }
        #expect(try Self.read("rgba-alpha-12x10.png", flattenAlpha: true) == expected)
        // Fully transparent pixels become white.
        #expect(try Self.read("rgba-alpha-12x10.png", flattenAlpha: true)[0, 0] == (255, 255, 255))
    }

    @Test func fixturesStaySmall() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Fixtures.directory)
        let total = names.reduce(0) { $0 + readBytes(Fixtures.path($1)).count }
        #expect(total < 2_000_000)
    }
}

import Foundation
