// Rate-distortion optimised quantisation of one 8x8 block's AC coefficients (trellis
// quantisation), in standard JPEG syntax: the decoder sees ordinary quantised coefficients.
//
// Plain quantisation rounds each coefficient to the nearest step. That is the least distortion,
// but not the least cost once bits count: a lone 1 far down the zigzag costs a long run/size code
// for almost no distortion saved, and a 2 that becomes a 1 saves a size bit. For each block this
// chooses, among rounding and rounding one step towards zero for each coefficient (or zero), the
// values that minimise distortion + lambda * bits, with bits from the Huffman code lengths the
// image's own statistics imply (libjpeg later builds its optimised tables from the result). A
// dynamic programme over the zigzag order keeps, for each coefficient that may be non-zero, the
// cheapest coding of everything before it that ends with it; runs of zeros between two chosen
// coefficients cost their run/size symbol (and ZRL symbols for runs of 16 or more), the tail
// costs an end-of-block symbol.
//
// All arithmetic is integer, so that every ISA and compiler makes the same choices (the boards'
// files must be byte-identical to x86's): coefficients and errors in 1/16 units, bits in 1/16 bits.

/// JPEG's zigzag order: `zigzag[i]` is the natural (row-major) index of the i-th coefficient.
let zigzag: [Int] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]

/// The bit length of a JPEG coefficient magnitude (its "size" category, 0 for 0).
@inline(__always)
func magnitudeBits(_ value: Int) -> Int { value == 0 ? 0 : Int.bitWidth - value.leadingZeroBitCount }

/// The largest AC magnitude baseline JPEG codes (size category 10).
let largestACMagnitude = 1023

/// Code lengths, in 1/16 bits, of the 256 AC run/size symbols of one Huffman table, estimated from
/// symbol counts as -log2(count / total), at most 16 bits (JPEG's longest code).
struct ACRateModel {
    var sixteenthBits: [Int]

    /// Every symbol alike (no statistics yet).
    init() { sixteenthBits = [Int](repeating: 8 * 16, count: 256) }

    init(counts: [Int]) {
        let total = counts.reduce(0, +)
        sixteenthBits = total == 0 ? [Int](repeating: 8 * 16, count: 256)
            : counts.map { huffmanSixteenthBits(count: $0, total: total) }
    }

    static let endOfBlock = 0x00
    static let zeroRun16 = 0xF0
}

/// The length, in 1/16 bits, of the Huffman code of a symbol seen `count` times in `total`
/// (`total` > 0): -log2(count / total), at most 16 bits (JPEG's longest code); a symbol never seen
/// counts as half an occurrence.
func huffmanSixteenthBits(count: Int, total: Int) -> Int {
    min(16 * 16, log2Sixteenths(UInt64(2 * total)) - log2Sixteenths(UInt64(max(2 * count, 1))))
}

/// 16 * log2(x) rounded down, for x >= 1, in integer arithmetic (4 fractional bits by squaring).
func log2Sixteenths(_ x: UInt64) -> Int {
    precondition(x >= 1)
    let whole = UInt64.bitWidth - 1 - x.leadingZeroBitCount
    // The mantissa in [1, 2) as a 1.30 fixed-point number.
    var mantissa = whole >= 30 ? x >> UInt64(whole - 30) : x << UInt64(30 - whole)
    var fraction = 0
    for _ in 0..<4 {
        mantissa = (mantissa * mantissa) >> 30
        fraction <<= 1
        if mantissa >= 1 << 31 {
            mantissa >>= 1
            fraction |= 1
        }
    }
    return whole * 16 + fraction
}

/// Chooses one block's AC values. Reusable scratch space, so that a block allocates nothing.
struct TrellisQuantiser {
    /// Weight of squared error (this component's share of RGB error) and lambda (per 1/16 bit),
    /// in the units of the header comment. Costs are 64-bit on every target (armv7's Int is 32).
    let weight: Int64
    let lambda: Int64
    var rate: ACRateModel

    // Per zigzag position: magnitude (1/16 units), rounded level, cheapest cost ending here,
    // previous non-zero position and chosen level on that path.
    private var magnitude = [Int](repeating: 0, count: 64)
    private var rounded = [Int](repeating: 0, count: 64)
    private var zeroCost = [Int64](repeating: 0, count: 64)
    private var cost = [Int64](repeating: 0, count: 64)
    private var previous = [Int](repeating: 0, count: 64)
    private var level = [Int](repeating: 0, count: 64)
    private var open = [Int](repeating: 0, count: 64)

    init(weight: Int64, lambda: Int64, rate: ACRateModel) {
        self.weight = weight
        self.lambda = lambda
        self.rate = rate
    }

    /// Quantises `coefficients` (natural order, 1/16 units) with `steps` (natural order) into
    /// `out` (natural order). The DC coefficient is rounded; the AC ones are chosen. (The encoder
    /// then chooses every block's DC along the component's chain of blocks: DCTrellis.swift.)
    mutating func quantise(_ coefficients: UnsafePointer<Int32>, steps: UnsafePointer<UInt16>,
                           into out: UnsafeMutablePointer<Int16>) {
        out[0] = Int16(roundedLevel(Int(coefficients[0]), step: Int(steps[0]), limit: 2047))
        // Zero distortion of positions 1...i, accumulated.
        zeroCost[0] = 0
        for i in 1..<64 {
            let natural = zigzag[i]
            let m = abs(Int(coefficients[natural]))
            magnitude[i] = m
            let step16 = 16 * Int(steps[natural])
            rounded[i] = min((m + step16 / 2) / step16, largestACMagnitude)
            zeroCost[i] = zeroCost[i - 1] + weight * Int64(m) * Int64(m)
        }
        var openCount = 1
        open[0] = 0
        cost[0] = 0
        let zrlBits = rate.sixteenthBits[ACRateModel.zeroRun16]
        for i in 1..<64 where rounded[i] > 0 {
            let step16 = 16 * Int(steps[zigzag[i]])
            var best = Int64.max, bestFrom = 0, bestLevel = 0
            let highest = rounded[i], lowest = max(1, highest - 1)
            for candidate in stride(from: highest, through: lowest, by: -1) {
                let error = Int64(magnitude[i] - candidate * step16)
                let size = magnitudeBits(candidate)
                let own = weight * error * error + lambda * Int64(16 * size)
                for k in 0..<openCount {
                    let j = open[k]
                    let run = i - j - 1
                    let bits = (run >> 4) * zrlBits + rate.sixteenthBits[((run & 15) << 4) | size]
                    let total = cost[j] + (zeroCost[i - 1] - zeroCost[j]) + lambda * Int64(bits) + own
                    if total < best {
                        best = total
                        bestFrom = j
                        bestLevel = candidate
                    }
                }
            }
            cost[i] = best
            previous[i] = bestFrom
            level[i] = bestLevel
            open[openCount] = i
            openCount += 1
        }
        // Where the block ends: after the last chosen position, an end-of-block symbol (none
        // when the last is position 63).
        var end = 0, endCost = Int64.max
        let eobBits = rate.sixteenthBits[ACRateModel.endOfBlock]
        for k in 0..<openCount {
            let j = open[k]
            let total = cost[j] + (zeroCost[63] - zeroCost[j]) + (j < 63 ? lambda * Int64(eobBits) : 0)
            if total < endCost {
                endCost = total
                end = j
            }
        }
        for i in 1..<64 { out[zigzag[i]] = 0 }
        var position = end
        while position > 0 {
            let natural = zigzag[position]
            let value = level[position]
            out[natural] = Int16(coefficients[natural] < 0 ? -value : value)
            position = previous[position]
        }
    }
}

/// A coefficient (1/16 units) divided by its step, rounded half away from zero, within +-limit.
@inline(__always)
func roundedLevel(_ coefficient: Int, step: Int, limit: Int) -> Int {
    let step16 = 16 * step
    let level = min((abs(coefficient) + step16 / 2) / step16, limit)
    return coefficient < 0 ? -level : level
}

/// Counts the AC run/size symbols (with ZRL and EOB) of a quantised block, natural order.
func countACSymbols(_ block: UnsafePointer<Int16>, into counts: inout [Int]) {
    var run = 0
    for i in 1..<64 {
        let value = Int(block[zigzag[i]])
        if value == 0 {
            run += 1
            continue
        }
        while run >= 16 {
            counts[ACRateModel.zeroRun16] += 1
            run -= 16
        }
        counts[(run << 4) | magnitudeBits(abs(value))] += 1
        run = 0
    }
    if run > 0 { counts[ACRateModel.endOfBlock] += 1 }
}
