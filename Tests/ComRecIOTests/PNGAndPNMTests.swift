import ComRecCodec
@testable import ComRecIO
import ComRecTestSupport
import Testing

@Suite struct PNGTests {
    let image = Fixtures.image(width: 29, height: 13) { x, y in [UInt8(x * 8), UInt8(y * 19), UInt8(x ^ y)] }

    @Test func roundTripIsExact() throws {
        let png = try PNG.encode(image)
        #expect(png.starts(with: PNG.signature))
        #expect(try PNG.decode(png) == image)
        let header = try PNG.readHeader(png)
        #expect(header.width == 29 && header.height == 13 && header.bitDepth == 8 && header.colorType == 2 && !header.hasAlpha)
    }

    @Test func everyTruncationIsAnError() throws {
        let png = try PNG.encode(image)
        for cut in stride(from: 0, to: png.count, by: 7) {
            #expect(throws: (any Error).self, "cut at \(cut)") { try PNG.decode(Array(png.prefix(cut))) }
        }
        #expect(throws: (any Error).self) { try PNG.decode(Array(png.dropLast())) }
    }

    @Test func badChecksumIsAnError() throws {
        var png = try PNG.encode(image)
        png[png.count - 20] ^= 0x55  // inside IDAT
        #expect(throws: (any Error).self) { try PNG.decode(png) }
    }

    /// Palette images are expanded by ComRec (so that a bad index is caught): colours in order,
    /// and an index past the palette is an error rather than a black pixel.
    @Test func paletteIndicesAreExpandedAndChecked() throws {
        let image = try PNG.decode(Crafting.pngPaletteIndexInside())
        #expect(image.width == 4 && image.height == 1)
        #expect(Array(image.pixels) == [255, 0, 0, 0, 0, 255, 0, 0, 255, 255, 0, 0])
        #expect {
            try PNG.decode(Crafting.pngPaletteIndexPastPalette())
        } throws: { "\($0)".contains("palette index past the end of its palette") }
        // 2-bit indices 0, 1, 1, 0 packed in one byte, then 0, 1, 3, 0 (3 is past the palette).
        func twoBit(_ packed: UInt8) -> [UInt8] {
            PNG.signature + Crafting.pngChunk("IHDR", [0, 0, 0, 4, 0, 0, 0, 1, 2, 3, 0, 0, 0])
                + Crafting.pngChunk("PLTE", [255, 0, 0, 0, 0, 255])
                + Crafting.pngChunk("IDAT", Crafting.zlibStored([0, packed])) + Crafting.pngChunk("IEND", [])
        }
        #expect(Array(try PNG.decode(twoBit(0b00_01_01_00)).pixels) == [255, 0, 0, 0, 0, 255, 0, 0, 255, 255, 0, 0])
        #expect(throws: (any Error).self) { try PNG.decode(twoBit(0b00_01_11_00)) }
    }

    @Test func claimedSizeIsCheckedBeforeAllocating() throws {
        #expect {
            try PNG.decode(Crafting.pngHeaderOnly(width: 2_000_000_000, height: 2_000_000_000))
        } throws: { ($0 as? ComRecIOError)?.codecError == .tooLarge(width: 2_000_000_000, height: 2_000_000_000, limit: defaultMaxPixels) }
        #expect(throws: (any Error).self) { try PNG.decode(Crafting.pngHeaderOnly(width: 0, height: 0)) }
    }

    @Test func everyCompressionLevelRoundTripsAndLevelsTradeSize() throws {
        // Noise-free gradients compress well, so zlib's levels must differ in size.
        let smooth = Fixtures.image(width: 96, height: 64) { x, y in [UInt8(x * 2), UInt8(y * 3), UInt8((x + y) & 0xFF)] }
        var sizes: [Int] = []
        for level in 0...9 {
            let png = try PNG.encode(smooth, compressionLevel: level)
            #expect(try PNG.decode(png) == smooth, "level \(level)")
            sizes.append(png.count)
        }
        #expect(sizes[0] > smooth.pixels.count, "level 0 stores the filtered rows uncompressed")
        #expect(sizes[9] < sizes[0] / 4)
        #expect(try PNG.encode(smooth).count == sizes[PNG.defaultCompressionLevel])
        #expect(throws: (any Error).self) { try PNG.encode(smooth, compressionLevel: 10) }
        #expect(throws: (any Error).self) { try PNG.encode(smooth, compressionLevel: -1) }
    }

    @Test func emptyImageCannotBeWritten() throws {
        #expect(throws: (any Error).self) { try PNG.encode(RGB8Image(width: 0, height: 4)) }
    }
}

@Suite struct PNMTests {
    @Test func commentsAndWhitespaceInTheHeader() throws {
        let bytes = Array("P6 # comment\n2\t1 # another\n255\n".utf8) + [1, 2, 3, 4, 5, 6]
        #expect(try PNM.decode(bytes) == RGB8Image(width: 2, height: 1, pixels: [1, 2, 3, 4, 5, 6]))
    }

    @Test func smallMaxvalScalesWithRounding() throws {
        let bytes = Array("P5\n3 1\n3\n".utf8) + [0, 1, 3]
        #expect(Array(try PNM.decode(bytes).pixels) == [0, 0, 0, 85, 85, 85, 255, 255, 255])
    }

    @Test(arguments: [
        ("P6\n2 2\n255\n", "truncated"),  // no samples
        ("P6\n2 2", "truncated"),  // header cut
        ("P5\n2 2\n0\n", "maxval"),
        ("P5\n2 x\n255\n", "not a number"),
        ("P3\n1 1\n255\n1 2 3\n", "only binary"),
        ("P6\n0 3\n255\n", "no pixels"),
        ("P5\n99999 99999\n255\n", "over the limit"),
        ("P5\n12345678901 1\n255\n", "too many digits"),
    ])
    func badHeaders(text: String, fragment: String) {
        #expect {
            try PNM.decode(Array(text.utf8))
        } throws: { "\($0)".contains(fragment) }
    }

    @Test func sampleOverMaxvalIsAnError() throws {
        #expect(throws: (any Error).self) { try PNM.decode(Array("P5\n1 1\n100\n".utf8) + [200]) }
    }
}

@Suite struct ImageReaderTests {
    @Test func formatComesFromTheBytesNotTheName() throws {
        let dir = TemporaryDirectory()
        let png = dir.write("actually-a-png.jpg", try PNG.encode(RGB8Image(width: 2, height: 2, value: 9)))
        #expect(try readImage(path: png) == RGB8Image(width: 2, height: 2, value: 9))
        #expect(ImageFormat.detect(Array("hello".utf8)) == nil)
        #expect(ImageFormat.detect([0xFF, 0xD8, 0xFF, 0xE0]) == .jpeg)
    }

    @Test func unknownBytesAreDescribed() throws {
        #expect(describeStart(Array("hello world, long text".utf8)) == "the text \"hello world,\"")
        #expect(describeStart(Array("hi\n".utf8)) == "the text \"hi\\n\"")
        #expect(describeStart([0, 1, 0xAB]) == "bytes 00 01 ab")
        #expect(describeStart(PNG.signature) == "a PNG signature")
    }
}
