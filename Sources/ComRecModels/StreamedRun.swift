import ComRecKernels

// A profile's networks over an image that arrives a row at a time and leaves a row at a time, in
// working memory the caller gives (an arena) that depends on the image width, never on its height.
// The bytes are those of `makeCompact`, `reconstruct` and `enhance` (ModelPipeline.swift): the
// tile plan computes every row exactly as the whole-image run does, whatever the band.
//
// The output is made a band of tiles at a time (one tile per thread). Before each band, the rows
// it reads are brought into row windows: the stored image's rows from the caller's source (padded
// to even sizes by replication where the network halves the resolution), and for the paper
// wiring the x2 upsampling of those rows; rows no later band reads are dropped. The band's output
// rows go to the caller's sink in order. Taller tiles recompute less halo (each layer of a tile
// recomputes one row per layer above it at each edge) and need more memory.

/// Which of a model's computations a streamed run makes.
public enum StreamedJob: Sendable {
    /// Image rows (width x height) in, compact rows (ceil(width / 2) x ceil(height / 2)) out.
    case compact
    /// Decoded compact rows in, reconstructed rows (width x height) out.
    case reconstruct
    /// Decoded full-resolution rows in, enhanced rows (width x height) out.
    case enhance
}

/// Why a streamed run stopped early.
public enum StreamedRunError: Error, Equatable, Sendable {
    /// The source could not give the next row (its own error says why).
    case sourceFailed
    /// The sink refused a row.
    case sinkFailed
    /// The arena is smaller than `StreamedRun.arenaBytes`.
    case arenaTooSmall(needed: Int, given: Int)
}

/// One streamed run of a model over an image of a given size: its memory layout and its loop.
public struct StreamedRun {
    public let job: StreamedJob
    /// The original image's size (the compact image's is ceil of half).
    public let width: Int
    public let height: Int
    /// Grid rows (rows of the last convolution's output) per tile.
    public let tileRows: Int
    /// Bytes of working memory `run` needs (64-byte aligned pieces inside); `Int.max` when they
    /// are more than the address space holds (a 32-bit one: a wide image on many threads).
    public let arenaBytes: Int

    /// Size of the rows the source gives and the sink takes.
    public let sourceWidth: Int
    public let sourceHeight: Int
    public let sinkWidth: Int
    public let sinkHeight: Int

    /// Nil: the bicubic profile's decode, the x2 upsampling alone.
    let model: LearnedModel?
    let runner: NetworkRunner
    /// Nil only for `.compact` of a model without ComCNN (the compact image is the 2x2 average).
    let plan: NetworkTilePlan?
    /// Source window: rows of `windowWidth` pixels (the network's padded input width) and the
    /// rows the source image has once padded (`windowHeight`).
    let windowWidth: Int
    let windowHeight: Int
    let windowRows: Int
    /// Full-resolution rows of the x2 upsampling (paper wiring only; 0 otherwise).
    let upsampledRows: Int
    /// Output rows held per band.
    let bandRows: Int
    let upsampleScratch: Int

    /// Rows per tile when the caller does not choose: 64 grid rows recompute about a sixth more
    /// than one tile per image in the 12-layer fast RecCNN, at a few megabytes per 4096 pixels.
    public static let defaultTileRows = 64

    /// `tileRows` that asks for one tile per thread over the whole image (the least halo work),
    /// as long as the band of output rows stays within `bandBytes`; else as many rows as fit, and
    /// never fewer than `defaultTileRows`. The arena then depends on the height up to that bound.
    public static func fitted(bandBytes: Int) -> Int { -max(1, bandBytes) }

    /// The run of `job` of `model` over a `width x height` image, its tiles run by `runner`
    /// (`runner.threadCount` tiles per band), `tileRows` grid rows per tile (or
    /// `fitted(bandBytes:)`). Without a model,
    /// `.reconstruct` is the x2 bicubic upsampling alone (the `bicubic` profile's decode), in bands
    /// of `tileRows` rows.
    public init(
        model: LearnedModel?, job: StreamedJob, width: Int, height: Int, runner: NetworkRunner,
        tileRows: Int = StreamedRun.defaultTileRows
    ) {
        precondition(width > 0 && height > 0 && tileRows != 0)
        switch job {
        case .compact, .reconstruct:
            precondition(model.map { !$0.isEnhancer } ?? (job == .reconstruct), "an enhancer has no compact image")
        case .enhance: precondition(model?.isEnhancer == true, "enhancing needs an enhancer")
        }
        self.model = model
        self.job = job
        self.width = width
        self.height = height
        self.runner = runner
        let cw = (width + 1) / 2, ch = (height + 1) / 2
        let placeholder = UnsafeMutablePointer<UInt8>(bitPattern: 64)!
        var layers: [Conv3x3Packed]? = nil
        var inputWidth = width, inputHeight = height, outputWidth = width, outputHeight = height
        switch job {
        case .compact:
            layers = model?.com?.packed
            inputWidth = 2 * cw
            inputHeight = 2 * ch
            outputWidth = cw
            outputHeight = ch
            sourceWidth = width
            sourceHeight = height
        case .reconstruct:
            layers = model?.rec.packed
            if model == nil || model?.rec.role == .reccnnDecoded {
                inputWidth = cw
                inputHeight = ch
            }
            sourceWidth = cw
            sourceHeight = ch
        case .enhance:
            layers = model?.rec.packed
            if model?.rec.shapes.contains(where: { $0.stride == 2 }) == true {
                inputWidth = 2 * cw
                inputHeight = 2 * ch
            }
            sourceWidth = width
            sourceHeight = height
        }
        sinkWidth = outputWidth
        sinkHeight = outputHeight
        let shuffle = layers?.last?.kind == .lastConv3x3PixelShuffleResidual
        var tileRows = tileRows
        if tileRows < 0 {
            // fitted(bandBytes:): grid rows per thread, capped by the band's bytes.
            let perGridRow = runner.threadCount * (shuffle ? 2 : 1) * outputWidth * 3
            let gridHeight = shuffle ? (outputHeight + 1) / 2 : outputHeight
            let perThread = (gridHeight + runner.threadCount - 1) / runner.threadCount
            tileRows = max(StreamedRun.defaultTileRows, min(perThread, -tileRows / perGridRow))
        }
        self.tileRows = tileRows
        let plan = layers.map {
            runner.plan(layers: $0, input: placeholder, inputWidth: inputWidth, inputHeight: inputHeight,
                        base: placeholder, output: placeholder, outputWidth: outputWidth, outputHeight: outputHeight,
                        tileHeight: tileRows * (shuffle ? 2 : 1))
        }
        self.plan = plan
        let paper = job == .reconstruct && model != nil && model?.rec.role != .reccnnDecoded
        windowWidth = job == .reconstruct ? cw : inputWidth
        windowHeight = job == .reconstruct ? ch : inputHeight
        upsampleScratch = job == .reconstruct ? upsample2xScratchBytes(srcWidth: cw, dstWidth: width, channels: 3) : 0

        // The largest band of every window, over the bands of this image.
        var windowRows = 0, upsampledRows = 0, bandRows = 0
        let bands = StreamedRun.bands(plan: plan, outputHeight: outputHeight, runner: runner, tileRows: tileRows)
        for band in 0..<bands.count {
            let needs = StreamedRun.needs(
                job: job, paper: paper, plan: plan, band: bands.range(band), tileRows: tileRows, outputHeight: outputHeight,
                windowHeight: windowHeight)
            windowRows = max(windowRows, needs.window.count)
            upsampledRows = max(upsampledRows, needs.upsampled.count)
            bandRows = max(bandRows, needs.output.count)
        }
        self.windowRows = windowRows
        self.upsampledRows = upsampledRows
        self.bandRows = bandRows
        // Checked sums and products: on a 32-bit target a wide image on many threads passes the
        // address space, which the arena's size then says as Int.max.
        let pieces: [(count: Int, bytes: Int, aligned: Bool)] = [
            (windowRows, windowWidth * 3, true),
            (1, windowWidth * 3, true),  // the source's last row (widened), for padded rows
            (upsampledRows, width * 3, true),
            (bandRows, outputWidth * 3, true),
            (1, upsampleScratch, true),
            (runner.threadCount, plan?.scratchBytes ?? 0, false),
        ]
        var total: Int? = 64  // aligning the arena's start
        for piece in pieces {
            let (bytes, productOverflow) = piece.count.multipliedReportingOverflow(by: piece.bytes)
            guard let sum = total, !productOverflow, bytes <= Int.max - 64 else { total = nil; break }
            let (next, overflow) = sum.addingReportingOverflow(piece.aligned ? roundUp64(bytes) : bytes)
            total = overflow ? nil : next
        }
        arenaBytes = total ?? Int.max
    }

    /// Runs the job: `source` fills the next source row (`sourceWidth` RGB8 pixels), top to
    /// bottom, each once; `sink` takes output rows (`sinkWidth` RGB8 pixels) in order. Either
    /// returning false stops the run with that error. Uses only `arena` (`arenaBytes` bytes).
    public func run(
        arena: UnsafeMutableRawPointer, arenaBytes given: Int,
        source: (_ row: UnsafeMutablePointer<UInt8>) -> Bool,
        sink: (_ y: Int, _ row: UnsafePointer<UInt8>) -> Bool
    ) throws(StreamedRunError) {
        guard given >= arenaBytes else { throw .arenaTooSmall(needed: arenaBytes, given: given) }
        var cursor = arena.alignedUp(toMultipleOf: 64)
        func take(_ bytes: Int) -> UnsafeMutableRawPointer {
            defer { cursor += roundUp64(bytes) }
            return cursor
        }
        var window = RowWindow(buffer: take(windowRows * windowWidth * 3), rowBytes: windowWidth * 3, capacity: windowRows)
        let lastSourceRow = take(windowWidth * 3).assumingMemoryBound(to: UInt8.self)
        var upsampled = RowWindow(buffer: take(upsampledRows * width * 3), rowBytes: width * 3, capacity: upsampledRows)
        let band = take(bandRows * sinkWidth * 3).assumingMemoryBound(to: UInt8.self)
        let upScratch = take(upsampleScratch)
        let scratch = take(runner.threadCount * (plan?.scratchBytes ?? 0))

        var sourceFailed = false
        // Source row r of the window: the source's next row, widened to the window by repeating
        // its last pixel; rows past the source's last repeat it (even padding).
        func fillWindow(_ rows: Range<Int>, _ at: UnsafeMutablePointer<UInt8>) {
            for (i, r) in rows.enumerated() {
                let dst = at + i * windowWidth * 3
                if r < sourceHeight {
                    if !sourceFailed && !source(dst) { sourceFailed = true }
                    if sourceFailed { return }
                    for x in sourceWidth..<windowWidth { (dst + 3 * x).update(from: dst + 3 * (sourceWidth - 1), count: 3) }
                    if windowHeight > sourceHeight && r == sourceHeight - 1 {
                        lastSourceRow.update(from: dst, count: windowWidth * 3)
                    }
                } else {
                    dst.update(from: lastSourceRow, count: windowWidth * 3)
                }
            }
        }

        let paper = job == .reconstruct && model != nil && model?.rec.role != .reccnnDecoded
        let bands = StreamedRun.bands(plan: plan, outputHeight: sinkHeight, runner: runner, tileRows: tileRows)
        for b in 0..<bands.count {
            let tiles = bands.range(b)
            let needs = StreamedRun.needs(
                job: job, paper: paper, plan: plan, band: tiles, tileRows: tileRows, outputHeight: sinkHeight, windowHeight: windowHeight)
            let fresh = window.advance(to: needs.window)
            fillWindow(fresh.rows, fresh.at)
            if sourceFailed { throw .sourceFailed }
            let out = needs.output
            var base = UnsafePointer(band), baseRows = out, baseRowBytes = sinkWidth * 3
            switch job {
            case .compact:
                average2x2(src: window.buffer, srcWidth: windowWidth, srcHeight: windowHeight, channels: 3,
                           dst: band, rows: out, srcRows: window.rows)
            case .reconstruct where paper:
                let new = upsampled.advance(to: needs.upsampled)
                upsample2xBicubicFast(src: window.buffer, srcWidth: windowWidth, srcHeight: windowHeight, channels: 3,
                                      dst: new.at, dstWidth: width, rows: new.rows, srcRows: window.rows, scratch: upScratch)
                base = UnsafePointer(upsampled.row(out.lowerBound))
                baseRows = out
                baseRowBytes = width * 3
            case .reconstruct:
                upsample2xBicubicFast(src: window.buffer, srcWidth: windowWidth, srcHeight: windowHeight, channels: 3,
                                      dst: band, dstWidth: width, rows: out, srcRows: window.rows, scratch: upScratch)
            case .enhance:
                base = UnsafePointer(window.row(out.lowerBound))
                baseRowBytes = windowWidth * 3
            }
            if var plan {
                if paper {
                    plan.input = UnsafePointer(upsampled.buffer)
                    plan.inputRows = upsampled.rows
                } else {
                    plan.input = UnsafePointer(window.buffer)
                    plan.inputRows = window.rows
                }
                plan.base = base
                plan.baseRows = baseRows
                plan.baseRowBytes = baseRowBytes
                plan.output = band
                plan.outputRows = out
                runner.runTiles(plan, tiles, scratch: scratch)
            }
            for y in out where !sink(y, band + (y - out.lowerBound) * sinkWidth * 3) { throw .sinkFailed }
        }
    }

    /// The bands of a run: `count` bands of `tilesPerBand` tiles (the last may have fewer). Without
    /// a network (the 2x2 average alone) a band is `tilesPerBand` groups of rows all the same.
    struct Bands {
        let count: Int
        let tilesPerBand: Int
        let tileCount: Int
        func range(_ band: Int) -> Range<Int> {
            band * tilesPerBand..<min(tileCount, (band + 1) * tilesPerBand)
        }
    }

    static func bands(plan: NetworkTilePlan?, outputHeight: Int, runner: NetworkRunner, tileRows: Int) -> Bands {
        let tiles = plan?.tileCount ?? (outputHeight + tileRows - 1) / tileRows
        let perBand = runner.threadCount
        return Bands(count: (tiles + perBand - 1) / perBand, tilesPerBand: perBand, tileCount: tiles)
    }

    /// The rows a band reads and writes: source-window rows, upsampled rows (paper wiring) and
    /// output rows.
    static func needs(
        job: StreamedJob, paper: Bool, plan: NetworkTilePlan?, band tiles: Range<Int>, tileRows: Int, outputHeight: Int,
        windowHeight: Int
    ) -> (window: Range<Int>, upsampled: Range<Int>, output: Range<Int>) {
        guard let plan else {
            // No network (the 2x2 average, or the x2 upsampling alone): `tileRows` output rows per
            // "tile".
            let out = min(outputHeight, tiles.lowerBound * tileRows)..<min(outputHeight, tiles.upperBound * tileRows)
            if job == .reconstruct { return (upsample2xSourceRows(out, srcHeight: windowHeight), 0..<0, out) }
            return (2 * out.lowerBound..<min(windowHeight, 2 * out.upperBound), 0..<0, out)
        }
        let input = plan.inputRows(forTiles: tiles)
        let output = plan.outputRows(forTiles: tiles)
        switch job {
        case .compact:
            let averaged = 2 * output.lowerBound..<min(windowHeight, 2 * output.upperBound)
            return (union(input, averaged), 0..<0, output)
        case .reconstruct where paper:
            return (upsample2xSourceRows(input, srcHeight: windowHeight), input, output)
        case .reconstruct:
            return (union(input, upsample2xSourceRows(output, srcHeight: windowHeight)), 0..<0, output)
        case .enhance:
            return (union(input, output), 0..<0, output)
        }
    }
}

private func union(_ a: Range<Int>, _ b: Range<Int>) -> Range<Int> {
    min(a.lowerBound, b.lowerBound)..<max(a.upperBound, b.upperBound)
}

@inline(__always) private func roundUp64(_ n: Int) -> Int { (n + 63) & ~63 }

/// Consecutive rows of an image held in a buffer of `capacity` rows, the first at `buffer`.
/// Windows only move down: rows below a new range are dropped (the rest move to the front), and
/// the new rows below it are left for the caller to fill.
struct RowWindow {
    let buffer: UnsafeMutablePointer<UInt8>
    let rowBytes: Int
    let capacity: Int
    private(set) var rows: Range<Int> = 0..<0

    init(buffer: UnsafeMutableRawPointer, rowBytes: Int, capacity: Int) {
        self.buffer = buffer.assumingMemoryBound(to: UInt8.self)
        self.rowBytes = rowBytes
        self.capacity = capacity
    }

    func row(_ r: Int) -> UnsafeMutablePointer<UInt8> {
        precondition(rows.contains(r), "row outside the window")
        return buffer + (r - rows.lowerBound) * rowBytes
    }

    /// Makes the window hold `need`; returns the rows the caller must now fill and where the
    /// first of them goes (consecutive rows follow, `rowBytes` apart).
    mutating func advance(to need: Range<Int>) -> (rows: Range<Int>, at: UnsafeMutablePointer<UInt8>) {
        precondition(need.lowerBound >= rows.lowerBound && need.upperBound >= rows.upperBound, "windows only move down")
        precondition(need.lowerBound <= rows.upperBound, "a window may not skip rows")
        precondition(need.count <= capacity, "window too small for the band")
        let drop = need.lowerBound - rows.lowerBound
        if drop > 0 {
            let kept = rows.count - drop
            // copyMemory is a memmove: the kept rows may overlap their new place.
            if kept > 0 { UnsafeMutableRawPointer(buffer).copyMemory(from: buffer + drop * rowBytes, byteCount: kept * rowBytes) }
            rows = need.lowerBound..<rows.upperBound
        }
        let fresh = rows.upperBound..<need.upperBound
        let at = buffer + rows.count * rowBytes
        rows = rows.lowerBound..<need.upperBound
        return (fresh, at)
    }
}
