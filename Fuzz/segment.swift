// libFuzzer target: the ComRec segment parser (ComRecSegment(parsing:), Sources/ComRecCodec/Segment.swift)
// on an APP9 payload. Properties: it throws or returns, never traps; a parsed segment that fits
// the writer's budget is written back to exactly the bytes it was read from.
import ComRecCodec

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSegment(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let payload = fuzzInput(data, size)
    let looksLikeOne = ComRecSegment.isComRec(payload)
    do throws(ComRecError) {
        let segment = try ComRecSegment(parsing: payload)
        require(looksLikeOne, "a payload without the magic was parsed")
        // What `comrec info` prints of a segment.
        _ = segment.mode.name + segment.profile + segment.modelHash.description
        _ = segment.extensions.map { $0.isCritical }
        require(segment.width >= 1 && segment.height >= 1 && (1...100).contains(segment.quality),
                "a parsed segment has size \(segment.width) x \(segment.height), quality \(segment.quality)")
        do throws(ComRecError) {
            let written = try segment.serialised()
            require(written == payload, "the parsed segment is written back as other bytes")
        } catch {
            require(payload.count + 4 > ComRecSegment.maxWrittenOverhead,
                    "a parsed segment of \(payload.count) bytes cannot be written back: \(error)")
        }
    } catch {
        _ = error.description
    }
    return 0
}
