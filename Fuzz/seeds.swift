// Writes the fuzz targets' seed corpora (scripts/fuzz.sh runs it): small ComRec files, a plain
// JPEG, PNGs and PPM/PGMs, all made by ComRec's own code from synthetic pixels, and the segment
// payloads of the ComRec files. Usage: fuzz-seeds FOLDER (writes FOLDER/{segment,comrec,png,pnm}).
import ComRecCodec
import ComRecIO

#if canImport(Glibc)
import Glibc
#endif

let root = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "seeds"

func save(_ bytes: [UInt8], _ folder: String, _ name: String) {
    mkdir(root, 0o755)
    mkdir(root + "/" + folder, 0o755)
    let path = root + "/" + folder + "/" + name
    guard let file = fopen(path, "wb"), fwrite(bytes, 1, bytes.count, file) == bytes.count, fclose(file) == 0 else {
        fputs("fuzz-seeds: cannot write \(path)\n", stderr)
        exit(1)
    }
}

/// Gradients with a little deterministic noise: something for the networks and the JPEG coder.
func synthetic(_ width: Int, _ height: Int, seed: UInt32 = 1) -> RGB8Image {
    var state = seed
    var image = try! RGB8Image(width: width, height: height)  // a small seed image
    for y in 0..<height {
        for x in 0..<width {
            state = state &* 1_664_525 &+ 1_013_904_223
            let noise = Int(state >> 28)
            let i = (y * width + x) * 3
            image.pixels[i] = UInt8(truncatingIfNeeded: x * 255 / max(1, width - 1) + noise)
            image.pixels[i + 1] = UInt8(truncatingIfNeeded: y * 255 / max(1, height - 1) + noise)
            image.pixels[i + 2] = UInt8(truncatingIfNeeded: (x + y) * 8 + noise)
        }
    }
    return image
}

do {
    let profiles = Profile.catalogue
    let pipeline = ComRecPipeline(jpeg: LibJPEG(), profiles: profiles)
    func profile(_ name: String) -> Profile { profiles.first { $0.name == name }! }

    // ComRec files: each profile and mode, baseline and progressive, odd sizes, a plain-JPEG full
    // mode file (quality above the enhancer's range).
    let files: [(String, String, CodecMode, Int, Int, Int, Bool)] = [
        ("bicubic-half-16x16-q75", "bicubic", .half, 16, 16, 75, false),
        ("bicubic-half-17x9-q30-progressive", "bicubic", .half, 17, 9, 30, true),
        ("bicubic-full-10x10-q75", "bicubic", .full, 10, 10, 75, false),
        ("fast-half-24x16-q50", "fast", .half, 24, 16, 50, false),
        ("fast-half-9x13-q90-progressive", "fast", .half, 9, 13, 90, true),
        ("fast-full-16x12-q60", "fast", .full, 16, 12, 60, false),
        ("fast-full-12x8-q95", "fast", .full, 12, 8, 95, false),
        ("paper-half-8x8-q75", "paper", .half, 8, 8, 75, false),
    ]
    for (name, profileName, mode, width, height, quality, progressive) in files {
        let settings = JPEGSettings(quality: quality, scans: progressive ? .progressive : .baseline)
        let file = try pipeline.encode(synthetic(width, height), profile: profile(profileName), settings: settings, mode: mode)
        save(file, "comrec", name + ".jpg")
    }
    // Format version 1 (half mode only) and a segment with an extension record.
    let image = synthetic(14, 10, seed: 7)
    let compact = try profile("bicubic").makeCompact(image)
    for (name, segment) in [
        ("bicubic-v1-14x10", ComRecSegment(version: 1, profile: "bicubic", modelHash: profile("bicubic").modelHash,
                                           width: 14, height: 10, quality: 70)),
        ("bicubic-extension-14x10", ComRecSegment(profile: "bicubic", modelHash: profile("bicubic").modelHash,
                                                  width: 14, height: 10, quality: 70,
                                                  extensions: [.init(tag: 1, value: [1, 2, 3])])),
    ] {
        let payload = try segment.serialised()
        let file = try LibJPEG().encode(compact, settings: JPEGSettings(quality: 70),
                                        segments: [JPEGSegment(marker: ComRecSegment.marker, payload: payload)])
        save(file, "comrec", name + ".jpg")
    }
    save(try LibJPEG().encode(synthetic(16, 16), settings: JPEGSettings(quality: 80), segments: []), "comrec", "plain-16x16.jpg")

    // Segment payloads: those of the files above.
    for (index, name) in ["bicubic-half-16x16-q75", "fast-full-16x12-q60", "fast-full-12x8-q95", "paper-half-8x8-q75",
                          "bicubic-v1-14x10", "bicubic-extension-14x10"].enumerated() {
        let file = try pipeline.inspect(try readBack("comrec", name + ".jpg"))
        save(try file.segment.serialised(), "segment", "\(index)-\(name)")
    }

    // PNGs written by ComRec's encoder (8-bit RGB); scripts/fuzz.sh adds the grey, palette,
    // interlaced, 16-bit and alpha PNGs of Fixtures/.
    save(try PNG.encode(synthetic(13, 7)), "png", "rgb-13x7.png")
    save(try PNG.encode(synthetic(1, 1)), "png", "rgb-1x1.png")
    save(try PNG.encode(synthetic(32, 3), compressionLevel: 9), "png", "rgb-32x3-level9.png")

    // PPM and PGM: 8 and 16 bits, maxvals other than 255, a comment.
    func pnm(_ header: String, _ samples: [UInt8]) -> [UInt8] { Array(header.utf8) + samples }
    let rgb = Array(synthetic(7, 5).pixels)
    save(pnm("P6\n7 5\n255\n", rgb), "pnm", "rgb-7x5.ppm")
    save(pnm("P5\n6 4\n255\n", Array(rgb.prefix(24))), "pnm", "grey-6x4.pgm")
    save(pnm("P6 3 2 65535\n", rgb.prefix(36).map { $0 }), "pnm", "rgb16-3x2.ppm")
    save(pnm("P5\n# a comment\n4 4\n1000\n", (0..<16).flatMap { [UInt8($0 % 3), UInt8($0 * 13)] }), "pnm", "grey-maxval1000-4x4.pgm")
    save(pnm("P6\n2 2\n15\n", (0..<12).map { UInt8($0) }), "pnm", "rgb-maxval15-2x2.ppm")
} catch {
    fputs("fuzz-seeds: \(error)\n", stderr)
    exit(1)
}

func readBack(_ folder: String, _ name: String) throws -> [UInt8] {
    try readImageBytes(root + "/" + folder + "/" + name)
}

func readImageBytes(_ path: String) throws -> [UInt8] {
    guard let file = fopen(path, "rb") else { fatalError("cannot read \(path)") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n == 0 { break }
        bytes += buffer.prefix(n)
    }
    return bytes
}
