// Rate control (`comrec encode --bpp`, ModeChoice.swift): the compact image is made once, then
// coded at the qualities of a binary search with ComRecPipeline.file.

/// The highest quality whose file is at most `maxBytes` long, and that file; nil when even
/// quality 1 is larger. File size grows with quality (JPEG's quantisation tables only get finer),
/// so a binary search over 1...100 finds the largest file that fits in 7 encodes.
public func largestFileNotAbove<Failure: Error>(
    maxBytes: Int, encode: (Int) throws(Failure) -> [UInt8]
) throws(Failure) -> (quality: Int, file: [UInt8])? {
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
