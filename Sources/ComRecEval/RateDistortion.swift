import ComRecCodec
import ComRecIO

// Rate-distortion measurement (`comrec eval`): the compact image is made once per image and then
// coded at many qualities with ComRecPipeline.file, as rate control does (ComRecCodec/RateControl.swift).

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
/// libjpeg-turbo (4:2:0, optimised Huffman) for both: plain JPEG with one baseline scan, the
/// profiles with `scans`.
public struct RDEvaluation {
    public var images: [RGB8Image]
    public var jpeg = LibJPEG()
    /// How the profiles' curves quantise their stored JPEG (nil: rounding, libjpeg's encoder).
    public var trellis: TrellisTuning?
    /// The quantisation tables of the profiles' stored JPEGs; nil: each profile's own
    /// (`Profile.tables`), as `comrec encode` writes them.
    public var tables: JPEGTables?
    /// The layout of scans of the profiles' stored JPEGs (plain JPEG's is baseline unless a curve
    /// asks otherwise); `comrec encode`'s default.
    public var scans: JPEGScans = .smallest

    public init(images: [RGB8Image]) {
        precondition(!images.isEmpty)
        self.images = images
    }

    /// Whether MS-SSIM (5 scales) is defined for every image.
    public var hasMSSSIM: Bool { images.allSatisfy { min($0.width, $0.height) >= MSSSIM.minSide() } }

    /// The whole image as a plain JPEG at each quality (quantised by `trellis` when given, with
    /// the standard's tables and one baseline scan unless `tables` and `scans` say otherwise).
    /// `progress(done)` counts encoded images.
    public func jpegCurve(
        qualities: [Int], trellis: TrellisTuning? = nil, tables: JPEGTables = .standard, scans: JPEGScans = .baseline,
        progress: (Int) -> Void = { _ in }
    ) throws -> [RDPoint] {
        var done = 0
        return try qualities.map { q in
            try point(q) { image in
                let file = try jpeg.encode(image, settings: JPEGSettings(quality: q, scans: scans, trellis: trellis, tables: tables), segments: [])
                done += 1
                progress(done)
                return (file.count, try jpeg.decode(file, maxPixels: image.pixelCount))
            }
        }
    }

    /// ComRec files of `profile` in `mode` at each quality of the stored JPEG, decoded by the
    /// codec's decoder.
    public func profileCurve(
        _ profile: Profile, mode: CodecMode = .half, qualities: [Int], progress: (Int) -> Void = { _ in }
    ) throws -> [RDPoint] {
        let pipeline = ComRecPipeline(jpeg: jpeg, profiles: [profile])
        var stored: [RGB8Image] = []
        var done = 0
        for image in images {
            stored.append(mode == .half ? try profile.makeCompact(image, tables: tables ?? profile.tables) : image)
            done += 1
            progress(done)
        }
        return try qualities.map { q in
            var index = 0
            return try point(q) { image in
                let file = try pipeline.file(storing: stored[index], width: image.width, height: image.height,
                                             profile: profile, mode: mode, settings: JPEGSettings(quality: q, scans: scans, trellis: trellis, tables: tables ?? profile.tables))
                index += 1
                let decoded = try pipeline.decode(file)
                done += 1
                progress(done)
                return (file.count, decoded)
            }
        }
    }

    /// What `comrec encode --mode auto --quality q --effort E` makes of each image, at each q, and
    /// how many of the files chose half mode at each point.
    public func autoCurve(
        _ profile: Profile, qualities: [Int], effort: Int = 1, progress: (Int) -> Void = { _ in }
    ) throws -> (points: [RDPoint], halfCounts: [Int]) {
        let encoder = ModeChoosingEncoder(jpeg: jpeg, profile: profile, settings: JPEGSettings(quality: 75, scans: scans, trellis: trellis, tables: tables ?? profile.tables))
        var done = 0, halfCounts: [Int] = []
        let points = try qualities.map { q in
            var halves = 0
            let p = try point(q) { image in
                let made = try encoder.encode(image, target: .quality(q), mode: .auto, effort: effort)
                if made.mode == .half { halves += 1 }
                done += 1
                progress(done)
                return (made.file.count, try encoder.pipeline.decode(made.file))
            }
            halfCounts.append(halves)
            return p
        }
        return (points, halfCounts)
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
