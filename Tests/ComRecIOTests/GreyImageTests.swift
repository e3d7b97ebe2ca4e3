// Grey images: stored as a one-component JPEG in full mode, decoded as grey, and never larger or
// worse than the plain grey JPEG of the same quality (beyond the ComRec segment).
import ComRecCodec
import ComRecIO
import ComRecTestSupport
import Foundation
import Testing

@Suite struct GreyImageTests {
    /// A grey image with detail (the three channels equal).
    let image = Fixtures.image(width: 96, height: 64) { x, y in
        let v = UInt8((x * 7 + y * 5 + (x * y) % 23) % 256)
        return [v, v, v]
    }

    @Test func greyIsDetectedOnlyWhenEveryPixelIsGrey() throws {
        #expect(image.isGrey)
        var coloured = image
        coloured.pixels[3 * 50 + 1] &+= 1
        #expect(!coloured.isGrey)
        #expect(Array(try image.greyChannel()) == stride(from: 0, to: image.pixels.count, by: 3).map { image.pixels[$0] })
    }

    @Test(arguments: [ModeRequest.auto, .half, .full], [SizeTarget.quality(40), .quality(90), .bitsPerPixel(1.5)])
    func everyModeAndTargetStoresThePlainGreyJPEG(mode: ModeRequest, target: SizeTarget) throws {
        let jpeg = LibJPEG()
        let profile = try #require(Profile.named(Profile.defaultName, runner: .portable))
        let settings = JPEGSettings(quality: 75)
        let made = try ModeChoosingEncoder(jpeg: jpeg, profile: profile, settings: settings)
            .encode(image, target: target, mode: mode)
        #expect(made.mode == .full)
        let header = try jpeg.readHeader(made.file)
        #expect(header.components == 1)
        var grey = settings
        grey.quality = made.quality
        grey.grey = true
        let plain = try jpeg.encode(image, settings: grey, segments: [])
        let segmentBytes = try #require(header.segments.first { ComRecSegment.isComRec($0.payload) }).payload.count + 4
        #expect(made.file.count == plain.count + segmentBytes)
        let pipeline = ComRecPipeline(jpeg: jpeg, profiles: [profile])
        #expect(try pipeline.decode(made.file) == jpeg.decode(plain, maxPixels: defaultMaxPixels))
        #expect(try pipeline.inspect(made.file).segment.isPlainJPEG)
    }

    @Test func aGreyPNGComesBackAsAGreyPNGAndPGM() throws {
        let dir = TemporaryDirectory()
        let input = Fixtures.path("grey-20x12.png")
        try encodeFile(input: input, output: dir.file("g.jpg"))
        try decodeFile(input: dir.file("g.jpg"), output: dir.file("g.png"))
        try decodeFile(input: dir.file("g.jpg"), output: dir.file("g.pgm"))
        let png = readBytes(dir.file("g.png"))
        #expect(png[25] == 0, "IHDR colour type \(png[25]): grey is 0")
        let pgm = readBytes(dir.file("g.pgm"))
        #expect(Array(pgm.prefix(3)) == Array("P5\n".utf8) && pgm.count == "P5\n20 12\n255\n".utf8.count + 20 * 12)
        #expect(try readImage(path: dir.file("g.png")) == readImage(path: dir.file("g.pgm")))
        // The colour check of a PGM output: a colour file is refused, and nothing is written.
        try encodeFile(input: Fixtures.path("rgb-33x17.png"), output: dir.file("c.jpg"))
        #expect(throws: ComRecIOError.self) { try decodeFile(input: dir.file("c.jpg"), output: dir.file("c.pgm")) }
        #expect(!FileManager.default.fileExists(atPath: dir.file("c.pgm")))
    }
}
