import ComRecKernels
import ComRecModels

// Decoding a ComRec file a row at a time: JPEG rows in, reconstructed rows out, in working memory
// that depends on the image width and never on its height (StreamedRun). The bytes are those of
// `ComRecPipeline.decode`. Used by the CLI (PNG rows out) and the C API (the caller's row callback).

/// The rows of a JPEG (RGB, top to bottom): what a streamed decode reads.
public protocol JPEGRowSource {
    /// Decodes the next row into `row` (the JPEG's width * 3 bytes).
    mutating func readRow(into row: UnsafeMutablePointer<UInt8>) throws(ComRecError)
    /// Called after the last row: reads and checks the rest of the data.
    mutating func finish() throws(ComRecError)
}

/// A checked file and how it will be decoded: what `ComRecPipeline.streamedDecoding` returns.
public struct StreamedDecoding {
    public let info: ComRecFileInfo
    /// The networks' run; nil for a plain-JPEG full-mode file, whose rows pass through.
    public let run: StreamedRun?
    /// Working memory `decodeStreamed` needs.
    public var arenaBytes: Int { run?.arenaBytes ?? (info.segment.width * 3 + 64) }
    public var width: Int { info.segment.width }
    /// Grid rows per tile when the caller does not choose (StreamedRun).
    public static let defaultTileRows = StreamedRun.defaultTileRows

    /// The `tileRows` of one tile per thread, up to a band of about `bandBytes` of output rows
    /// (`StreamedRun.fitted(bandBytes:)`).
    public static func fittedTileRows(bandBytes: Int) -> Int { StreamedRun.fitted(bandBytes: bandBytes) }
    public var height: Int { info.segment.height }
}

extension ComRecPipeline {
    /// Checks `file` as `decode` does (profile, model, limits, sizes) and plans its streamed
    /// decode with `tileRows` grid rows per tile (or `fittedTileRows(bandBytes:)`). Nothing is
    /// decoded yet.
    public func streamedDecoding(
        _ file: [UInt8], tileRows: Int = StreamedRun.defaultTileRows
    ) throws(ComRecError) -> StreamedDecoding {
        try streamedDecoding(try inspect(file), tileRows: tileRows)
    }

    /// `streamedDecoding` of a file already inspected.
    public func streamedDecoding(
        _ inspected: ComRecFileInfo, tileRows: Int = StreamedRun.defaultTileRows
    ) throws(ComRecError) -> StreamedDecoding {
        guard tileRows != 0 else { throw .invalidArgument("rows per tile must not be 0") }
        let (info, profile) = try checkedForDecoding(inspected)
        let segment = info.segment
        guard let profile else { return StreamedDecoding(info: info, run: nil) }
        let networks: LearnedNetworks?
        switch segment.mode {
        case .half: networks = profile.halfModel(recordedAs: segment.modelHash)?.networks
        case .full: networks = profile.enhancer(recordedAs: segment.modelHash)?.networks
        }
        if segment.mode == .full && networks == nil {
            throw .invalidArgument("profile \(profile.name) has an enhancer that cannot be streamed")
        }
        // A half-mode profile without networks is `bicubic`: the upsampling alone.
        let run = StreamedRun(
            model: networks?.model(), job: segment.mode == .half ? .reconstruct : .enhance,
            width: segment.width, height: segment.height, runner: networks?.runner ?? .portable, tileRows: tileRows)
        return StreamedDecoding(info: info, run: run)
    }

    /// Decodes rows of the stored JPEG from `rows` (started on `decoding`'s file) and gives each
    /// reconstructed row (`decoding.width * 3` bytes) to `sink`, top to bottom. Uses only `arena`
    /// (`arenaBytes` bytes, at least `decoding.arenaBytes`) besides the JPEG decoder's own memory.
    /// A `sink` error stops the decode and is rethrown.
    public func decodeStreamed<Rows: JPEGRowSource>(
        _ decoding: StreamedDecoding, rows: inout Rows, arena: UnsafeMutableRawPointer, arenaBytes: Int,
        sink: (_ y: Int, _ row: UnsafePointer<UInt8>) throws(ComRecError) -> Void
    ) throws(ComRecError) {
        guard arenaBytes >= decoding.arenaBytes else {
            throw .invalidArgument("working memory of \(arenaBytes) bytes where \(decoding.arenaBytes) are needed")
        }
        guard let run = decoding.run else {
            let row = arena.bindMemory(to: UInt8.self, capacity: decoding.width * 3)
            for y in 0..<decoding.height {
                try rows.readRow(into: row)
                try sink(y, row)
            }
            try rows.finish()
            return
        }
        var failure: ComRecError? = nil
        do {
            try run.run(arena: arena, arenaBytes: arenaBytes, source: { row in
                do throws(ComRecError) {
                    try rows.readRow(into: row)
                    return true
                } catch {
                    failure = error
                    return false
                }
            }, sink: { y, row in
                do throws(ComRecError) {
                    try sink(y, row)
                    return true
                } catch {
                    failure = error
                    return false
                }
            })
        } catch {
            switch error {
            case .sourceFailed, .sinkFailed:
                throw failure ?? .invalidArgument("the decode stopped")
            case .arenaTooSmall(let needed, let given):
                throw .invalidArgument("working memory of \(given) bytes where \(needed) are needed")
            }
        }
        try rows.finish()
    }
}
