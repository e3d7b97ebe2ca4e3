/// The default limit on the pixels of any image read or decoded: 100 megapixels.
public let defaultMaxPixels = 100_000_000

/// Refuses a claimed size of zero or of more than `maxPixels` pixels. Call it before allocating.
public func checkPixelLimit(width: Int, height: Int, maxPixels: Int) throws(ComRecError) {
    guard width > 0, height > 0 else { throw .emptyImage(width: width, height: height) }
    let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
    guard !overflow, pixels <= maxPixels else {
        throw .tooLarge(width: width, height: height, limit: maxPixels)
    }
}

/// Whether this build can decode a file's model.
public enum ModelStatus: Equatable, Sendable {
    /// The profile is registered and its weights have the file's hash.
    case available
    /// No profile of that name in this build.
    case unknownProfile
    /// The profile exists but its weights differ; the associated value is this build's hash.
    case differentModel(buildHash: ModelHash)
}

/// What `comrec info` shows: the segment and the compact image's header.
public struct ComRecFileInfo: Equatable, Sendable {
    public var segment: ComRecSegment
    public var compactWidth: Int
    public var compactHeight: Int
    public var progressive: Bool
    public var fileBytes: Int
    public var modelStatus: ModelStatus
}

/// Encode and decode on in-memory buffers: RGB8 -> profile -> JPEG + segment, and back.
public struct ComRecPipeline<JPEG: JPEGCoder> {
    public var jpeg: JPEG
    /// Profiles the decoder may use (by name in the file); the registry by default.
    public var profiles: [Profile]
    /// Limit on the original and the compact image, checked before allocating.
    public var maxPixels: Int

    public init(jpeg: JPEG, profiles: [Profile] = Profile.all, maxPixels: Int = defaultMaxPixels) {
        self.jpeg = jpeg
        self.profiles = profiles
        self.maxPixels = maxPixels
    }

    /// A ComRec file (a JPEG of the compact image with the segment) for `image`.
    public func encode(_ image: RGB8Image, profile: Profile, settings: JPEGSettings) throws(ComRecError) -> [UInt8] {
        try checkPixelLimit(width: image.width, height: image.height, maxPixels: maxPixels)
        guard (1...100).contains(settings.quality) else {
            throw .invalidArgument("JPEG quality \(settings.quality) is not in 1...100")
        }
        let segment = ComRecSegment(
            profile: profile.name, modelHash: profile.modelHash,
            width: image.width, height: image.height, quality: settings.quality)
        let payload = try segment.serialised()
        let compact = profile.makeCompact(image)
        let expected = compactSize(width: image.width, height: image.height)
        precondition(compact.width == expected.width && compact.height == expected.height,
                     "profile \(profile.name) made a compact image of the wrong size")
        return try jpeg.encode(compact, settings: settings, segments: [JPEGSegment(marker: ComRecSegment.marker, payload: payload)])
    }

    /// The segment and compact-image header of a ComRec file, without decoding pixels.
    public func inspect(_ file: [UInt8]) throws(ComRecError) -> ComRecFileInfo {
        let header = try jpeg.readHeader(file)
        let candidates = header.segments.filter {
            $0.marker == ComRecSegment.marker && ComRecSegment.isComRec($0.payload)
        }
        guard let first = candidates.first else { throw .notComRec }
        guard candidates.count == 1 else { throw .duplicateSegment }
        let segment = try ComRecSegment(parsing: first.payload)
        let status: ModelStatus
        if let profile = profiles.first(where: { $0.name == segment.profile }) {
            status = profile.modelHash == segment.modelHash ? .available : .differentModel(buildHash: profile.modelHash)
        } else {
            status = .unknownProfile
        }
        return ComRecFileInfo(
            segment: segment, compactWidth: header.width, compactHeight: header.height,
            progressive: header.progressive, fileBytes: file.count, modelStatus: status)
    }

    /// The reconstructed image of a ComRec file. Every check (model, sizes, limit) happens before
    /// any pixel memory is allocated.
    public func decode(_ file: [UInt8]) throws(ComRecError) -> RGB8Image {
        let info = try inspect(file)
        let segment = info.segment
        guard let profile = profiles.first(where: { $0.name == segment.profile }) else {
            throw .unknownProfile(name: segment.profile, available: profiles.map { $0.name })
        }
        guard profile.modelHash == segment.modelHash else {
            throw .modelMismatch(profile: profile.name, fileHash: segment.modelHash, buildHash: profile.modelHash)
        }
        try checkPixelLimit(width: segment.width, height: segment.height, maxPixels: maxPixels)
        let expected = compactSize(width: segment.width, height: segment.height)
        guard info.compactWidth == expected.width, info.compactHeight == expected.height else {
            throw .compactSizeMismatch(
                compactWidth: info.compactWidth, compactHeight: info.compactHeight,
                width: segment.width, height: segment.height)
        }
        let compact = try jpeg.decode(file, maxPixels: maxPixels)
        let context = ReconstructionContext(width: segment.width, height: segment.height, quality: segment.quality)
        let image = profile.reconstruct(compact, context)
        precondition(image.width == segment.width && image.height == segment.height,
                     "profile \(profile.name) reconstructed an image of the wrong size")
        return image
    }
}
