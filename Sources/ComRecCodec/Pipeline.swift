import ComRecKernels
import ComRecModels

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

/// What `comrec info` shows: the segment and the stored JPEG's header.
public struct ComRecFileInfo: Equatable, Sendable {
    public var segment: ComRecSegment
    /// Size of the JPEG: the compact image (half mode) or the image (full mode).
    public var storedWidth: Int
    public var storedHeight: Int
    public var progressive: Bool
    public var fileBytes: Int
    public var modelStatus: ModelStatus
    /// Colour components of the stored JPEG: 1 for a grey image (decoded as grey), 3 for colour.
    public var components: Int
}

/// Encode and decode on in-memory buffers: RGB8 -> profile -> JPEG + segment, and back.
public struct ComRecPipeline<JPEG: JPEGCoder> {
    public var jpeg: JPEG
    /// Profiles the decoder may use (by name in the file): usually `Profile.registered(runner:)`.
    public var profiles: [Profile]
    /// Limit on the original and the compact image, checked before allocating.
    public var maxPixels: Int

    public init(jpeg: JPEG, profiles: [Profile], maxPixels: Int = defaultMaxPixels) {
        self.jpeg = jpeg
        self.profiles = profiles
        self.maxPixels = maxPixels
    }

    /// A ComRec file for `image` in `mode`: a JPEG of the compact image (half) or of the image
    /// itself (full), with the segment.
    public func encode(
        _ image: RGB8Image, profile: Profile, settings: JPEGSettings, mode: CodecMode = .half
    ) throws(ComRecError) -> [UInt8] {
        try checkPixelLimit(width: image.width, height: image.height, maxPixels: maxPixels)
        let stored: RGB8Image
        switch mode {
        case .half:
            stored = try profile.makeCompact(image, tables: settings.tables)
            let expected = compactSize(width: image.width, height: image.height)
            precondition(stored.width == expected.width && stored.height == expected.height,
                         "profile \(profile.name) made a compact image of the wrong size")
        case .full:
            stored = image
        }
        return try file(storing: stored, width: image.width, height: image.height, profile: profile, mode: mode, settings: settings)
    }

    /// The ComRec file whose JPEG holds `stored`: the compact image that `profile` made of an
    /// original of `width x height` (half mode), or that original (full mode). Rate control and
    /// `comrec eval` make the stored image once and call this at many qualities. `metadata`:
    /// the image's own segments (APP1 EXIF and XMP, APP2 ICC chunks), written after JFIF's APP0
    /// and before the ComRec segment, so that every size measured counts them.
    public func file(
        storing stored: RGB8Image, width: Int, height: Int, profile: Profile, mode: CodecMode, settings: JPEGSettings,
        metadata: [JPEGSegment] = []
    ) throws(ComRecError) -> [UInt8] {
        guard (1...100).contains(settings.quality) else {
            throw .invalidArgument("JPEG quality \(settings.quality) is not in 1...100")
        }
        var settings = settings
        // A compact JPEG is trellis-quantised only for a RecCNN that learnt from such JPEGs (or
        // when asked): on the others trellis measured worse (docs/results.md, "Trellis
        // quantisation"). The RecCNN restores what the trellis removes, as an enhancer does.
        if mode == .half, var tuning = settings.trellis {
            if tuning.inHalfMode || profile.trellisInHalfMode(tables: settings.tables) {
                tuning.lambdaScale = tuning.lambdaScale ?? TrellisTuning.enhancedLambdaScale
                settings.trellis = tuning
            } else {
                settings.trellis = nil
            }
        }
        let segment = ComRecSegment(
            mode: mode, profile: profile.name,
            modelHash: profile.modelHash(for: mode, quality: settings.quality, tables: settings.tables, trellis: settings.trellis != nil),
            width: width, height: height, quality: settings.quality)
        let payload = try segment.serialised()
        if mode == .full, var tuning = settings.trellis, tuning.lambdaScale == nil {
            tuning.lambdaScale = profile.enhancer(tables: settings.tables, trellis: true).improves(quality: settings.quality)
                ? TrellisTuning.enhancedLambdaScale : TrellisTuning.plainLambdaScale
            settings.trellis = tuning
        }
        let expected = mode == .half ? compactSize(width: width, height: height) : (width: width, height: height)
        precondition(stored.width == expected.width && stored.height == expected.height,
                     "the stored image of a \(mode.name)-mode file has the wrong size")
        return try jpeg.encode(
            stored, settings: settings, segments: metadata + [JPEGSegment(marker: ComRecSegment.marker, payload: payload)])
    }

    /// The segment and compact-image header of a ComRec file, without decoding pixels.
    public func inspect(_ file: [UInt8]) throws(ComRecError) -> ComRecFileInfo {
        try inspect(header: try jpeg.readHeader(file), fileBytes: file.count)
    }

    /// `inspect` of a file of `fileBytes` bytes whose header the caller read.
    public func inspect(header: JPEGHeader, fileBytes: Int) throws(ComRecError) -> ComRecFileInfo {
        let candidates = header.segments.filter {
            $0.marker == ComRecSegment.marker && ComRecSegment.isComRec($0.payload)
        }
        guard let first = candidates.first else { throw .notComRec }
        guard candidates.count == 1 else { throw .duplicateSegment }
        let segment = try ComRecSegment(parsing: first.payload)
        let status: ModelStatus
        if segment.isPlainJPEG {
            status = .available  // no network: every build decodes it
        } else if let profile = profiles.first(where: { $0.name == segment.profile }) {
            if segment.mode == .half {
                status = profile.halfModel(recordedAs: segment.modelHash) != nil
                    ? .available : .differentModel(buildHash: profile.modelHash)
            } else {
                status = profile.enhancer(recordedAs: segment.modelHash) != nil
                    ? .available : .differentModel(buildHash: profile.full.modelHash)
            }
        } else {
            status = .unknownProfile
        }
        return ComRecFileInfo(
            segment: segment, storedWidth: header.width, storedHeight: header.height,
            progressive: header.progressive, fileBytes: fileBytes, modelStatus: status, components: header.components)
    }

    /// The reconstructed image of a ComRec file. Every check (model, sizes, limit) happens before
    /// any pixel memory is allocated.
    public func decode(_ file: [UInt8]) throws(ComRecError) -> RGB8Image {
        let (info, _) = try checkedForDecoding(file)
        let segment = info.segment
        let stored = try jpeg.decode(file, maxPixels: maxPixels)
        let context = ReconstructionContext(width: segment.width, height: segment.height, quality: segment.quality)
        let image: RGB8Image
        switch segment.mode {
        case .half:
            // inspect found the RecCNN the segment records, or refused the file.
            image = try profiles.first { $0.name == segment.profile }!.halfModel(recordedAs: segment.modelHash)!
                .reconstruct(stored, context)
        case .full:
            if segment.isPlainJPEG {
                image = stored
            } else {
                // inspect found the enhancer the segment records, or refused the file.
                image = try profiles.first { $0.name == segment.profile }!.enhancer(recordedAs: segment.modelHash)!
                    .enhance(stored, context)
            }
        }
        precondition(image.width == segment.width && image.height == segment.height,
                     "profile \(segment.profile) reconstructed an image of the wrong size")
        return image
    }

    /// The file's facts and profile (nil for a plain-JPEG full-mode file), after every check that
    /// decoding needs: a known profile with the file's model, the pixel limit, and a stored JPEG of
    /// the size the segment implies.
    public func checkedForDecoding(_ file: [UInt8]) throws(ComRecError) -> (info: ComRecFileInfo, profile: Profile?) {
        try checkedForDecoding(try inspect(file))
    }

    /// `checkedForDecoding` of a file already inspected.
    public func checkedForDecoding(_ info: ComRecFileInfo) throws(ComRecError) -> (info: ComRecFileInfo, profile: Profile?) {
        let segment = info.segment
        switch info.modelStatus {
        case .available:
            break
        case .unknownProfile:
            throw .unknownProfile(name: segment.profile, available: profiles.map { $0.name })
        case .differentModel(let buildHash):
            throw .modelMismatch(profile: segment.profile, mode: segment.mode, fileHash: segment.modelHash, buildHash: buildHash)
        }
        try checkPixelLimit(width: segment.width, height: segment.height, maxPixels: maxPixels)
        let expected = segment.mode == .half
            ? compactSize(width: segment.width, height: segment.height) : (width: segment.width, height: segment.height)
        guard info.storedWidth == expected.width, info.storedHeight == expected.height else {
            throw .storedSizeMismatch(
                mode: segment.mode, jpegWidth: info.storedWidth, jpegHeight: info.storedHeight,
                width: segment.width, height: segment.height)
        }
        return (info, segment.isPlainJPEG ? nil : profiles.first { $0.name == segment.profile })
    }
}
