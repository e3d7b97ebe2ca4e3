import ComRecCodec

// Rate-distortion measurement (`comrec eval`) and rate control (`comrec encode --bpp`): both make
// the compact image once and then code it at many qualities, so they build the ComRec file from a
// compact image here instead of calling ComRecPipeline.encode (which remakes it every time).

/// The ComRec file `ComRecPipeline.encode` writes for an image of `width x height` whose compact
/// image `profile` already made.
public func comRecFile<JPEG: JPEGCoder>(
    compact: RGB8Image, width: Int, height: Int, profile: Profile, settings: JPEGSettings, jpeg: JPEG
) throws(ComRecError) -> [UInt8] {
    let segment = ComRecSegment(
        profile: profile.name, modelHash: profile.modelHash, width: width, height: height, quality: settings.quality)
    return try jpeg.encode(compact, settings: settings, segments: [JPEGSegment(marker: ComRecSegment.marker, payload: try segment.serialised())])
}

// MARK: - Rate control

/// What `encodeFile(input:output:options:maxBitsPerPixel:)` chose and wrote.
public struct RateControlledEncode: Sendable {
    public var report: EncodeReport
    /// The JPEG quality of the compact image.
    public var quality: Int
}

/// The highest quality whose file is at most `maxBytes` long, and that file; nil when even
/// quality 1 is larger. File size grows with quality (JPEG's quantisation tables only get finer),
/// so a binary search over 1...100 finds the largest file that fits in 7 encodes.
public func largestFileNotAbove(maxBytes: Int, encode: (Int) throws -> [UInt8]) rethrows -> (quality: Int, file: [UInt8])? {
    var best: (Int, [UInt8])?
    var low = 1, high = 100
    while low <= high {
        let q = (low + high) / 2
        let file = try encode(q)
        if file.count <= maxBytes {
            best = (q, file)
            low = q + 1
        } else {
            high = q - 1
        }
    }
    return best
}

/// Reads the image at `input` and writes the largest ComRec file of at most `maxBitsPerPixel` bits
/// per pixel of the original (the whole file counted) to `output`. `options.jpeg.quality` is ignored.
public func encodeFile(input: String, output: String, options: EncodeOptions, maxBitsPerPixel: Double) throws -> RateControlledEncode {
    guard maxBitsPerPixel > 0, maxBitsPerPixel.isFinite else {
        throw ComRecIOError("--bpp must be a positive number of bits per pixel, not \(maxBitsPerPixel)")
    }
    let bytes = try readInputFile(input)
    let out = try AtomicOutput(path: output, force: options.force, inputs: [input])
    let image = try attributing(to: input) { try decodeImage(bytes, options: options.read) }
    try attributing(to: input) {
        try checkPixelLimit(width: image.width, height: image.height, maxPixels: options.read.maxPixels)
    }
    let compact = options.profile.makeCompact(image)
    let pixels = Double(image.width * image.height)
    let maxBytes = Int((maxBitsPerPixel * pixels / 8).rounded(.down))
    let jpeg = LibJPEG()
    let found = try attributing(to: input) {
        try largestFileNotAbove(maxBytes: maxBytes) { q in
            var settings = options.jpeg
            settings.quality = q
            return try comRecFile(compact: compact, width: image.width, height: image.height,
                                  profile: options.profile, settings: settings, jpeg: jpeg)
        }
    }
    guard let (quality, file) = found else {
        var settings = options.jpeg
        settings.quality = 1
        let smallest = try comRecFile(compact: compact, width: image.width, height: image.height,
                                      profile: options.profile, settings: settings, jpeg: jpeg)
        let bpp = Metrics.bitsPerPixel(fileBytes: smallest.count, width: image.width, height: image.height)
        throw ComRecIOError(path: input, "even quality 1 gives \(fmt(bpp, 3)) bits per pixel, above --bpp \(maxBitsPerPixel); "
                                + "allow more bits per pixel")
    }
    try out.commit(file)
    return RateControlledEncode(report: EncodeReport(width: image.width, height: image.height, fileBytes: file.count), quality: quality)
}

// MARK: - Rate-distortion curves

/// One point of a curve: means over the images at one JPEG quality. `psnr` is nil when infinite
/// for some image (identical images); `msSSIM` when an image is under 161 pixels on a side.
public struct RDPoint: Equatable, Sendable {
    public var quality: Int
    public var bpp: Double
    public var psnr: Double?
    public var msSSIM: Double?

    public init(quality: Int, bpp: Double, psnr: Double?, msSSIM: Double?) {
        self.quality = quality
        self.bpp = bpp
        self.psnr = psnr
        self.msSSIM = msSSIM
    }
}

/// Rate-distortion measurement of plain JPEG and of codec profiles over a set of images, with
/// libjpeg-turbo (4:2:0, optimised Huffman, baseline) for both.
public struct RDEvaluation {
    public var images: [RGB8Image]
    public var jpeg = LibJPEG()

    public init(images: [RGB8Image]) {
        precondition(!images.isEmpty)
        self.images = images
    }

    /// Whether MS-SSIM (5 scales) is defined for every image.
    public var hasMSSSIM: Bool { images.allSatisfy { min($0.width, $0.height) >= MSSSIM.minSide() } }

    /// The whole image as a plain JPEG at each quality. `progress(done)` counts encoded images.
    public func jpegCurve(qualities: [Int], progress: (Int) -> Void = { _ in }) throws -> [RDPoint] {
        var done = 0
        return try qualities.map { q in
            try point(q) { image in
                let file = try jpeg.encode(image, settings: JPEGSettings(quality: q), segments: [])
                done += 1
                progress(done)
                return (file.count, try jpeg.decode(file, maxPixels: image.pixelCount))
            }
        }
    }

    /// ComRec files of `profile` at each quality, decoded by the codec's decoder.
    public func profileCurve(_ profile: Profile, qualities: [Int], progress: (Int) -> Void = { _ in }) throws -> [RDPoint] {
        let pipeline = ComRecPipeline(jpeg: jpeg, profiles: [profile])
        var compacts: [RGB8Image] = []
        var done = 0
        for image in images {
            compacts.append(profile.makeCompact(image))
            done += 1
            progress(done)
        }
        return try qualities.map { q in
            var index = 0
            return try point(q) { image in
                let file = try comRecFile(compact: compacts[index], width: image.width, height: image.height,
                                          profile: profile, settings: JPEGSettings(quality: q), jpeg: jpeg)
                index += 1
                let decoded = try pipeline.decode(file)
                done += 1
                progress(done)
                return (file.count, decoded)
            }
        }
    }

    /// Means over the images of what `code` makes of each (file bytes, decoded image).
    func point(_ quality: Int, _ code: (RGB8Image) throws -> (Int, RGB8Image)) throws -> RDPoint {
        var bpp = 0.0, psnr = 0.0, ssim = 0.0
        let withSSIM = hasMSSSIM
        for image in images {
            let (bytes, decoded) = try code(image)
            bpp += Metrics.bitsPerPixel(fileBytes: bytes, width: image.width, height: image.height)
            psnr += Metrics.psnr(image, decoded)
            if withSSIM { ssim += MSSSIM.msSSIM(image, decoded) ?? 0 }
        }
        let n = Double(images.count)
        return RDPoint(quality: quality, bpp: bpp / n, psnr: psnr.isFinite ? psnr / n : nil, msSSIM: withSSIM ? ssim / n : nil)
    }
}
