// libFuzzer target: a ComRec file's bytes to pixels through the codec (ComRecPipeline with
// LibJPEG, Sources/ComRecCodec/Pipeline.swift and StreamedDecode.swift), both ways the code decodes:
// the whole image (`decode`, the library call) and row by row (`decodeStreamed`, what `comrec decode`
// and the C API run). Every profile but `paper`, the largest network, on one thread with the
// CPU's best kernel family; a file naming `paper` is refused as an unknown profile. Images are
// limited to 4096 pixels so that one input takes milliseconds.
// Properties: no trap, no sanitizer report; the streamed decode gives the whole decode's rows,
// each once, top to bottom, and succeeds exactly when the whole decode does; the streamed decode
// touches no memory outside the arena it asked for (the arena is allocated to its exact size).
import ComRecCodec
import ComRecJPEG
import ComRecKernels
import ComRecModels
import ComRecRuntime

let maxPixels = 4096
let runner: NetworkRunner = try! NetworkRunner.threaded(threads: 1)
let pipeline = ComRecPipeline(
    jpeg: LibJPEG(), profiles: Profile.registered(runner: runner).filter { $0.name != "paper" }, maxPixels: maxPixels)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecode(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let file = fuzzInput(data, size)
    var whole: RGB8Image? = nil
    do throws(ComRecError) {
        whole = try pipeline.decode(file)
    } catch {
        _ = error.description
    }
    if let whole {
        require(whole.pixels.count == whole.width * whole.height * 3 && whole.width * whole.height <= maxPixels,
                "the decode returned a \(whole.width) x \(whole.height) image of \(whole.pixels.count) bytes")
    }
    // Tile heights: the C API's default, one and three grid rows (many bands), and the CLI's fitted band.
    let tileRows = [StreamedRun.defaultTileRows, 1, 3, StreamedRun.fitted(bandBytes: 8_000_000)][size % 4]
    do throws(ComRecError) {
        let decoding = try pipeline.streamedDecoding(file, tileRows: tileRows)
        var rows = try LibJPEG.RowReader(file, maxPixels: maxPixels)
        let arena = UnsafeMutableRawPointer.allocate(byteCount: max(1, decoding.arenaBytes), alignment: 64)
        defer { arena.deallocate() }
        let rowBytes = decoding.width * 3
        var next = 0
        try pipeline.decodeStreamed(decoding, rows: &rows, arena: arena, arenaBytes: decoding.arenaBytes) { y, row throws(ComRecError) in
            require(y == next, "the streamed decode gave row \(y) where row \(next) was due")
            next += 1
            if let whole {
                require(whole.width == decoding.width && whole.height == decoding.height,
                        "the streamed decode is \(decoding.width) x \(decoding.height), the whole one \(whole.width) x \(whole.height)")
                whole.pixels.withUnsafeBufferPointer { pixels in
                    for i in 0..<rowBytes where pixels[y * rowBytes + i] != row[i] {
                        require(false, "row \(y) of the streamed decode differs from the whole decode at byte \(i)")
                    }
                }
            }
        }
        require(next == decoding.height, "the streamed decode gave \(next) of \(decoding.height) rows")
        require(whole != nil, "the streamed decode succeeded where the whole decode failed")
    } catch {
        _ = error.description
        // A full-mode file whose enhancer cannot be streamed is refused by the streamed decode only.
        if case .invalidArgument(let why) = error, why.hasSuffix("cannot be streamed") { return 0 }
        require(whole == nil, "the whole decode succeeded where the streamed decode failed: \(error)")
    }
    return 0
}
