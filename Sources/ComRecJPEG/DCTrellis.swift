// Rate-distortion optimised choice of one component's DC levels: the DC half of trellis
// quantisation (TrellisQuantiser.swift chooses each block's AC levels).
//
// JPEG codes a block's DC as its difference from the previous block's DC, as a Huffman-coded size
// category and that many extra bits. Rounding each DC alone ignores that: a neighbour one step
// away costs a size-1 difference and its extra bit where the same level would have cost only the
// size-0 code. Over the chain of blocks, a dynamic programme (Viterbi) chooses for each block one
// of the three levels around its rounded one, minimising squared error + lambda * bits of the
// differences, with code lengths from the differences that rounding gives.
//
// The chain is the component's blocks row by row: the order of every scan that holds one
// component (each DC scan of ComRec's own progressive scripts, and every scan of a grey JPEG) and
// of chroma in any scan. One baseline scan of 4:2:0 colour visits luma MCU by MCU (two blocks by
// two) instead, and so does the first DC scan of libjpeg's standard progression (`--scans
// progressive`), which also codes the levels halved (their low bits follow in a later scan).
// Measured on training images (docs/results.md, "DC levels chosen along a chain"): the MCU order
// saves more on plain baseline files, but under the enhancers, whose files are mostly progressive
// from about 0.3 bits per pixel up, only the row order gains.
//
// Integer arithmetic in the units of TrellisQuantiser, so that every ISA makes the same choices.

/// Code lengths, in 1/16 bits, of a DC difference of each size category (0...11): its Huffman code
/// estimated from counts as -log2(count / total), at most 16 bits, plus the category's extra bits.
struct DCRateModel {
    static let categories = 12
    private(set) var sixteenthBits: [Int]

    init(counts: [Int]) {
        precondition(counts.count == DCRateModel.categories)
        let total = counts.reduce(0, +)
        sixteenthBits = (0..<DCRateModel.categories).map { size in
            (total == 0 ? 4 * 16 : huffmanSixteenthBits(count: counts[size], total: total)) + 16 * size
        }
    }

    /// Adds the size categories of the differences along `levels` (the first from 0, as a scan's
    /// predictor starts) to `counts`.
    static func count(_ levels: UnsafeBufferPointer<Int32>, into counts: inout [Int]) {
        var previous: Int32 = 0
        for level in levels {
            counts[magnitudeBits(Int(abs(level - previous)))] += 1
            previous = level
        }
    }
}

/// The DC levels the chain chooses from: an 8-bit block's DC level lies in -1024...1016 (step 1),
/// and within -1024...1023 any two differ by at most 2047, the largest difference JPEG codes (size
/// category 11).
let dcLevelRange = -1024...1023

/// Candidate `k` (0, 1, 2: one step down, rounded, one step up) of a DC level rounded to `rounded`.
@inline(__always)
private func dcCandidate(_ rounded: Int, _ k: Int) -> Int {
    min(max(rounded + k - 1, dcLevelRange.lowerBound), dcLevelRange.upperBound)
}

/// Chooses the DC levels of one component's blocks, row by row.
/// - Parameters:
///   - coefficients: each block's DC coefficient in 1/16 units, row by row.
///   - step: the DC quantisation step.
///   - weight, lambda: as TrellisQuantiser's.
///   - rate: code lengths of the differences.
///   - paths: scratch of one byte per block (the caller's, so that an image-sized allocation can
///     be refused as an error): for each candidate, the previous block's candidate that its
///     cheapest path comes from, two bits each.
///   - out: the component's blocks (64 values each, natural order); only each block's DC is written.
func chooseDCLevels(_ coefficients: UnsafeBufferPointer<Int32>, step: Int, weight: Int64, lambda: Int64,
                    rate: DCRateModel, paths: UnsafeMutableBufferPointer<UInt8>, into out: UnsafeMutablePointer<Int16>) {
    let count = coefficients.count
    precondition(paths.count >= count)
    guard count > 0 else { return }
    let step16 = 16 * step
    var cost: (Int64, Int64, Int64) = (0, 0, 0)
    // Before the first block the predictor is 0: one path.
    var previousLevels = (0, 0, 0)
    var previousPaths = 1
    for block in 0..<count {
        let coefficient = Int(coefficients[block])
        let rounded = roundedLevel(coefficient, step: step, limit: 2047)
        var next: (Int64, Int64, Int64) = (0, 0, 0)
        var levels = (0, 0, 0)
        var packed: UInt8 = 0
        for k in 0..<3 {
            let level = dcCandidate(rounded, k)
            let error = Int64(coefficient - level * step16)
            let own = weight * error * error
            var best = Int64.max, bestFrom = 0
            for j in 0..<previousPaths {
                let difference = abs(level - element(previousLevels, j))
                let total = element(cost, j) + own + lambda * Int64(rate.sixteenthBits[magnitudeBits(difference)])
                if total < best {
                    best = total
                    bestFrom = j
                }
            }
            set(&next, k, best)
            set(&levels, k, level)
            packed |= UInt8(bestFrom) << (2 * k)
        }
        paths[block] = packed
        cost = next
        previousLevels = levels
        previousPaths = 3
    }
    var chosen = 0
    for k in 1..<3 where element(cost, k) < element(cost, chosen) { chosen = k }
    for block in stride(from: count - 1, through: 0, by: -1) {
        out[block * 64] = Int16(dcCandidate(roundedLevel(Int(coefficients[block]), step: step, limit: 2047), chosen))
        chosen = Int(paths[block] >> (2 * chosen)) & 3
    }
}

/// Element `i` of a triple (the three candidates' values, kept in registers).
@inline(__always)
private func element<T>(_ t: (T, T, T), _ i: Int) -> T { i == 0 ? t.0 : i == 1 ? t.1 : t.2 }

@inline(__always)
private func set<T>(_ t: inout (T, T, T), _ i: Int, _ value: T) {
    switch i {
    case 0: t.0 = value
    case 1: t.1 = value
    default: t.2 = value
    }
}
