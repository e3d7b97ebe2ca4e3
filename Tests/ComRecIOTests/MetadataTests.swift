import ComRecCodec
import ComRecIO
import ComRecTestSupport
import Testing

/// EXIF, XMP and ICC profiles through encode and decode (docs/format.md, "Metadata"). The bad
/// inputs (too large, no TIFF header, an iCCP that does not inflate) are in BadInput.all.
@Suite struct MetadataTests {
    typealias M = MetadataCrafting

    /// The segments of a 150 kB profile: three APP2 chunks (65519 + 65519 + the rest), numbered
    /// 1...3 of 3, read back in sequence order even when the file has them out of order.
    @Test func largeICCProfileIsSplitIntoThreeChunksAndReassembled() throws {
        let profile = M.fakeICCProfile(bytes: 150_000)
        let segments = try ImageMetadata(icc: profile).jpegSegments()
        #expect(segments.map(\.marker) == [0xE2, 0xE2, 0xE2])
        #expect(segments.map { $0.payload.count - 14 } == [65_519, 65_519, 150_000 - 2 * 65_519])
        #expect(segments.map { Array($0.payload[12..<14]) } == [[1, 3], [2, 3], [3, 3]])
        #expect(ImageMetadata(jpegSegments: segments).icc == profile)
        #expect(ImageMetadata(jpegSegments: segments.reversed()).icc == profile)
        // Through a JPEG file, and through the encoder into a ComRec file and back out as PNG.
        let dir = TemporaryDirectory()
        let input = dir.write("wide-gamut.jpg", M.jpeg(segments: segments))
        let comrec = dir.file("c.jpg"), png = dir.file("c.png")
        try encodeFile(input: input, output: comrec, options: EncodeOptions(mode: .full))
        #expect(M.iccChunks(readBytes(comrec)).map { $0.count - 2 } == [65_519, 65_519, 150_000 - 2 * 65_519])
        try decodeFile(input: comrec, output: png)
        let iccp = try #require(M.pngChunks(readBytes(png)).first { $0.type == "iCCP" })
        #expect(M.inflatedICCP(iccp.data) == profile)
    }

    @Test func brokenICCChunkNumberingIsUnreadable() {
        let chunk: (UInt8, UInt8) -> JPEGSegment = {
            JPEGSegment(marker: 0xE2, payload: Array("ICC_PROFILE".utf8) + [0, $0, $1, 1, 2, 3])
        }
        #expect(ImageMetadata(jpegSegments: [chunk(1, 2), chunk(3, 2)]).unreadableICC != nil)
        #expect(ImageMetadata(jpegSegments: [chunk(1, 2), chunk(1, 2)]).unreadableICC != nil)
        #expect(ImageMetadata(jpegSegments: [chunk(2, 2), chunk(1, 2)]).icc == [1, 2, 3, 1, 2, 3])
    }

    /// The camera JPEG through encode (half and full mode) and decode: the ComRec file holds the
    /// same APP1 EXIF and APP2 ICC payloads, the PNG the EXIF in eXIf and the profile in iCCP.
    @Test(arguments: [ModeRequest.half, .full])
    func cameraJPEGKeepsEXIFAndICC(_ mode: ModeRequest) throws {
        let dir = TemporaryDirectory()
        let profile = M.fakeICCProfile()
        let input = dir.write("camera.jpg", M.cameraJPEG(icc: profile))
        let comrec = dir.file("c.jpg"), png = dir.file("c.png")
        let report = try encodeFile(input: input, output: comrec, options: EncodeOptions(mode: mode))
        #expect(report.mode.name == mode.rawValue)
        let file = readBytes(comrec)
        #expect(M.exifBlocks(file) == [M.exifOrientation6])
        #expect(M.iccChunks(file) == [[1, 1] + profile])
        #expect(try inspectFile(comrec).segment.mode.name == mode.rawValue, "the ComRec segment is still found")
        try decodeFile(input: comrec, output: png)
        let chunks = M.pngChunks(readBytes(png))
        #expect(chunks.filter { $0.type == "eXIf" }.map(\.data) == [M.exifOrientation6])
        let iccp = try #require(chunks.first { $0.type == "iCCP" })
        #expect(M.inflatedICCP(iccp.data) == profile)
        // Metadata comes before the image data, and libpng reads the file.
        #expect(chunks.firstIndex { $0.type == "iCCP" }! < chunks.firstIndex { $0.type == "IDAT" }!)
        #expect(try readImage(path: png).width == Crafting.sampleImage.width)
    }

    /// A PNG's eXIf, iTXt XMP and iCCP go into the ComRec file and back into the decoded PNG.
    @Test func pngMetadataRoundTrips() throws {
        let dir = TemporaryDirectory()
        let input = dir.write("in.png", M.pngWithMetadata())
        #expect(PNG.metadata(readBytes(input)) == ImageMetadata(exif: M.exifOrientation6, xmp: M.xmpPacket, icc: M.fakeICCProfile()))
        let comrec = dir.file("c.jpg"), png = dir.file("c.png")
        try encodeFile(input: input, output: comrec, options: EncodeOptions(mode: .half))
        let file = readBytes(comrec)
        #expect(M.exifBlocks(file) == [M.exifOrientation6])
        #expect(M.xmpPackets(file) == [M.xmpPacket])
        #expect(M.iccChunks(file) == [[1, 1] + M.fakeICCProfile()])
        try decodeFile(input: comrec, output: png)
        let chunks = M.pngChunks(readBytes(png))
        #expect(chunks.filter { $0.type == "eXIf" }.map(\.data) == [M.exifOrientation6])
        #expect(chunks.filter { $0.type == "iTXt" }.map(\.data) == [M.iTXtXMP(M.xmpPacket).1])
        #expect(M.inflatedICCP(try #require(chunks.first { $0.type == "iCCP" }).data) == M.fakeICCProfile())
    }

    /// --strip-metadata keeps the ICC profile only; PPM output holds none.
    @Test func stripMetadataKeepsOnlyTheProfile() throws {
        let dir = TemporaryDirectory()
        let input = dir.write("in.png", M.pngWithMetadata())
        let comrec = dir.file("c.jpg")
        try encodeFile(input: input, output: comrec, options: EncodeOptions(mode: .full, stripMetadata: true))
        let file = readBytes(comrec)
        #expect(M.exifBlocks(file).isEmpty && M.xmpPackets(file).isEmpty)
        #expect(M.iccChunks(file) == [[1, 1] + M.fakeICCProfile()])
        try decodeFile(input: comrec, output: dir.file("c.png"))
        #expect(M.pngChunks(readBytes(dir.file("c.png"))).map(\.type).filter { $0 != "IDAT" } == ["IHDR", "iCCP", "IEND"])
        try decodeFile(input: comrec, output: dir.file("c.ppm"))  // PPM has no place for it: written without
        // A broken profile is dropped too, and only with the option.
        let broken = dir.write("broken.png", M.png(chunks: [M.eXIf(M.exifOrientation6), ("iCCP", Array("x".utf8) + [0, 0, 1, 2, 3])]))
        try encodeFile(input: broken, output: dir.file("b.jpg"), options: EncodeOptions(stripMetadata: true))
        #expect(try ImageMetadata(jpegSegments: LibJPEG().readHeader(readBytes(dir.file("b.jpg"))).segments).isEmpty)
    }

    /// Rate control counts the metadata: the file with a 20 kB profile still fits the budget.
    @Test func rateControlCountsTheMetadata() throws {
        let dir = TemporaryDirectory()
        let profile = M.fakeICCProfile(bytes: 20_000)
        let input = dir.write("in.jpg", M.cameraJPEG(icc: profile))
        let pixels = Double(Crafting.sampleImage.width * Crafting.sampleImage.height)
        let bpp = 8 * 22_000 / pixels
        let report = try encodeFile(input: input, output: dir.file("c.jpg"), options: EncodeOptions(), maxBitsPerPixel: bpp)
        let file = readBytes(dir.file("c.jpg"))
        #expect(report.fileBytes == file.count && file.count <= 22_000 && file.count > 20_000)
        #expect(M.iccChunks(file) == [[1, 1] + profile])
        // Below the metadata's own size no quality fits.
        #expect(throws: (any Error).self) {
            try encodeFile(input: input, output: dir.file("d.jpg"), options: EncodeOptions(), maxBitsPerPixel: 8 * 19_000 / pixels)
        }
    }
}
