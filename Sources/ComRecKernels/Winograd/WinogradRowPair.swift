// The call every Winograd kernel implements: two output rows of a 3x3 stride-1 convolution with
// F(2x2, 3x3) (docs/int8.md, "Winograd F(2x2, 3x3)"; the scalar specification is
// Reference/WinogradReference.swift). Rows are padded as for Conv3x3Row: pixel x of a row lives at
// byte (x + 1) * inChannels, the border pixels are zero, and rows outside the image are zero rows.
//
// A kernel works on blocks of `winogradTileBlock` 2x2 output tiles: it transforms the 4x4 input
// blocks of the tiles into V (Int16, `scratch`), multiplies V by the transformed weights for each
// of the 16 Winograd elements (the only part that differs per ISA), and turns the 16 products of
// each tile back into 2x2 outputs. The transforms below are `@inlinable` so that an ISA module
// compiles them with its own instruction set.

/// Tiles (2x2 output blocks) per block of a Winograd kernel: the scratch holds one block, and a
/// kernel computes whole blocks (missing tiles at the right edge are computed on zeros and dropped).
public let winogradTileBlock = 24

/// Arguments for two output rows of a stride-1 layer computed with F(2x2, 3x3).
public struct Conv3x3RowPair {
    /// Input rows y - 1, y, y + 1, y + 2 (padded, at padded column 0) for output rows y and y + 1.
    public var row0: UnsafePointer<UInt8>
    public var row1: UnsafePointer<UInt8>
    public var row2: UnsafePointer<UInt8>
    public var row3: UnsafePointer<UInt8>
    /// Channels per input pixel (a multiple of 4).
    public var inChannels: Int
    /// Output channels computed per pixel (a multiple of 16).
    public var outChannels: Int
    /// Output pixels per row (the input width: stride 1).
    public var width: Int
    /// `packWinogradWeights` layout.
    public var weights: UnsafePointer<Int16>
    public var bias: UnsafePointer<Int32>
    public var multipliers: UnsafePointer<Float>
    /// Output rows y and y + 1 at pixel 0, in the layout of `Conv3x3Row.output` (U7 bytes with
    /// `requantize`, Int32 accumulators without). Row y + 1 may be a scratch row the caller drops.
    public var output0: UnsafeMutableRawPointer
    public var output1: UnsafeMutableRawPointer
    public var requantize: Bool
    /// `winogradScratchBytes(inChannels:)` bytes, 64-byte aligned, owned by the calling thread; no
    /// contents are expected (the kernel clears what it reads before writing it).
    public var scratch: UnsafeMutableRawPointer

    public init(
        row0: UnsafePointer<UInt8>, row1: UnsafePointer<UInt8>, row2: UnsafePointer<UInt8>, row3: UnsafePointer<UInt8>,
        inChannels: Int, outChannels: Int, width: Int,
        weights: UnsafePointer<Int16>, bias: UnsafePointer<Int32>, multipliers: UnsafePointer<Float>,
        output0: UnsafeMutableRawPointer, output1: UnsafeMutableRawPointer, requantize: Bool,
        scratch: UnsafeMutableRawPointer
    ) {
        self.row0 = row0
        self.row1 = row1
        self.row2 = row2
        self.row3 = row3
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.width = width
        self.weights = weights
        self.bias = bias
        self.multipliers = multipliers
        self.output0 = output0
        self.output1 = output1
        self.requantize = requantize
        self.scratch = scratch
    }

    /// Input row `i` (0...3).
    @inlinable @inline(__always) public func row(_ i: Int) -> UnsafePointer<UInt8> {
        i == 0 ? row0 : (i == 1 ? row1 : (i == 2 ? row2 : row3))
    }

    /// Tiles in a row pair: one per two output pixels, the last one half outside when the width is odd.
    @inlinable public var tileCount: Int { (width + 1) / 2 }

    /// V of one block: `[16 elements][winogradTileBlock tiles][inChannels]` Int16.
    @inlinable public var transformedInput: UnsafeMutablePointer<Int16> {
        scratch.assumingMemoryBound(to: Int16.self)
    }

    /// The products of one block for 16 output channels: `[16 elements][winogradTileBlock tiles][16]` Int32.
    @inlinable public var products: UnsafeMutablePointer<Int32> {
        (scratch + winogradInputBytes(inChannels: inChannels)).assumingMemoryBound(to: Int32.self)
    }

    /// `inChannels` zero bytes: the input column right of the padded row for an odd width's last tile.
    @inlinable public var zeroColumn: UnsafePointer<UInt8> {
        UnsafePointer((scratch + winogradInputBytes(inChannels: inChannels) + winogradProductBytes)
            .assumingMemoryBound(to: UInt8.self))
    }
}

@inlinable func winogradInputBytes(inChannels: Int) -> Int { 16 * winogradTileBlock * inChannels * 2 }
@inlinable var winogradProductBytes: Int { 16 * winogradTileBlock * 16 * 4 }

/// Scratch bytes a Winograd kernel needs for a layer reading `inChannels` channels per pixel.
public func winogradScratchBytes(inChannels: Int) -> Int {
    winogradInputBytes(inChannels: inChannels) + winogradProductBytes + ((inChannels + 63) & ~63)
}

/// Clears the zero column of `pair.scratch`. Every kernel calls it first: the column's place
/// depends on the layer's channel count, and a scratch is shared by the layers of a network.
@inlinable @inline(__always)
public func winogradClearZeroColumn(_ pair: Conv3x3RowPair) {
    UnsafeMutableRawPointer(mutating: pair.zeroColumn).initializeMemory(as: UInt8.self, repeating: 0, count: pair.inChannels)
}

/// V = B^T d B for tiles `firstTile ..< firstTile + winogradTileBlock` into `pair.transformedInput`;
/// tiles at or past `pair.tileCount` get V = 0. Tile t reads input columns 2t - 1 ... 2t + 2 (padded
/// columns 2t ... 2t + 3); the last of them is past the padded row when the width is odd, and reads
/// the zero column instead.
@inlinable @inline(__always)
public func winogradTransformInput(_ pair: Conv3x3RowPair, firstTile: Int) {
    let c = pair.inChannels, v = pair.transformedInput
    let elementStride = winogradTileBlock * c
    for t in 0..<winogradTileBlock {
        let tile = firstTile + t
        let out = v + t * c
        if tile >= pair.tileCount {
            for e in 0..<16 { (out + e * elementStride).update(repeating: 0, count: c) }
            continue
        }
        // Padded column p of input row i, or the zero column past the row's right border.
        func column(_ i: Int, _ j: Int) -> UnsafePointer<UInt8> {
            let p = 2 * tile + j
            return p <= pair.width + 1 ? pair.row(i) + p * c : pair.zeroColumn
        }
        var ch = 0
        while ch + 16 <= c {
            transformInputChannels(SIMD16<Int16>.self, column, ch, out + ch, elementStride)
            ch += 16
        }
        while ch < c {
            transformInputChannels(SIMD4<Int16>.self, column, ch, out + ch, elementStride)
            ch += 4
        }
    }
}

/// The input transform of one tile for `V.scalarCount` channels starting at `ch`.
@inlinable @inline(__always)
func transformInputChannels<V: WideningInt16Vector>(
    _: V.Type, _ column: (Int, Int) -> UnsafePointer<UInt8>, _ ch: Int,
    _ out: UnsafeMutablePointer<Int16>, _ elementStride: Int
) {
    @inline(__always) func d(_ i: Int, _ j: Int) -> V { V.widening(column(i, j) + ch) }
    // B^T d, column j: (d0 - d2, d1 + d2, d2 - d1, d1 - d3) down the four input rows.
    @inline(__always) func columnTransform(_ j: Int) -> (V, V, V, V) {
        let d0 = d(0, j), d1 = d(1, j), d2 = d(2, j), d3 = d(3, j)
        return (d0 &- d2, d1 &+ d2, d2 &- d1, d1 &- d3)
    }
    let c0 = columnTransform(0), c1 = columnTransform(1), c2 = columnTransform(2), c3 = columnTransform(3)
    // (B^T d) B along row i: (t0 - t2, t1 + t2, t2 - t1, t1 - t3), stored as element e = 4i + j.
    @inline(__always) func rowTransform(_ i: Int, _ t0: V, _ t1: V, _ t2: V, _ t3: V) {
        @inline(__always) func store(_ j: Int, _ value: V) {
            UnsafeMutableRawPointer(out + (i * 4 + j) * elementStride).storeBytes(of: value, as: V.self)
        }
        store(0, t0 &- t2)
        store(1, t1 &+ t2)
        store(2, t2 &- t1)
        store(3, t1 &- t3)
    }
    rowTransform(0, c0.0, c1.0, c2.0, c3.0)
    rowTransform(1, c0.1, c1.1, c2.1, c3.1)
    rowTransform(2, c0.2, c1.2, c2.2, c3.2)
    rowTransform(3, c0.3, c1.3, c2.3, c3.3)
}

/// Int16 lanes loaded from as many bytes (zero-extended): the input transform's operand.
@usableFromInline protocol WideningInt16Vector: SIMD where Scalar == Int16 {
    static func widening(_ p: UnsafePointer<UInt8>) -> Self
}

extension SIMD16: WideningInt16Vector where Scalar == Int16 {
    @inlinable @inline(__always) static func widening(_ p: UnsafePointer<UInt8>) -> Self {
        Self(truncatingIfNeeded: UnsafeRawPointer(p).loadUnaligned(as: SIMD16<UInt8>.self))
    }
}

extension SIMD4: WideningInt16Vector where Scalar == Int16 {
    @inlinable @inline(__always) static func widening(_ p: UnsafePointer<UInt8>) -> Self {
        Self(truncatingIfNeeded: UnsafeRawPointer(p).loadUnaligned(as: SIMD4<UInt8>.self))
    }
}

/// Y = A^T M A / 4 + bias for output channels `cb ..< cb + 16` of the tiles
/// `firstTile ..< firstTile + winogradTileBlock` from `pair.products`, requantised to U7 or stored
/// as Int32 (the layout of `Conv3x3Row.output`). Outputs past the width are dropped.
@inlinable @inline(__always)
public func winogradTransformOutput(_ pair: Conv3x3RowPair, firstTile: Int, cb: Int) {
    let m = UnsafeRawPointer(pair.products)
    let bias = UnsafeRawPointer(pair.bias + cb).loadUnaligned(as: SIMD16<Int32>.self)
    let tiles = min(winogradTileBlock, pair.tileCount - firstTile)
    for t in 0..<tiles {
        @inline(__always) func p(_ e: Int) -> SIMD16<Int32> {
            m.loadUnaligned(fromByteOffset: ((e * winogradTileBlock + t) * 16) * 4, as: SIMD16<Int32>.self)
        }
        // A^T M, column j: (m0 + m1 + m2, m1 - m2 - m3) down the four rows of M.
        @inline(__always) func column(_ j: Int) -> (SIMD16<Int32>, SIMD16<Int32>) {
            let m0 = p(j), m1 = p(4 + j), m2 = p(8 + j), m3 = p(12 + j)
            return (m0 &+ m1 &+ m2, m1 &- m2 &- m3)
        }
        let c0 = column(0), c1 = column(1), c2 = column(2), c3 = column(3)
        // (A^T M) A, then the exact division by 4 (an arithmetic shift: the sums are multiples of 4).
        let y00 = ((c0.0 &+ c1.0 &+ c2.0) &>> 2) &+ bias, y01 = ((c1.0 &- c2.0 &- c3.0) &>> 2) &+ bias
        let y10 = ((c0.1 &+ c1.1 &+ c2.1) &>> 2) &+ bias, y11 = ((c1.1 &- c2.1 &- c3.1) &>> 2) &+ bias
        let x = 2 * (firstTile + t)
        storeWinogradOutput(pair, pair.output0, x, cb, y00)
        storeWinogradOutput(pair, pair.output1, x, cb, y10)
        if x + 1 < pair.width {
            storeWinogradOutput(pair, pair.output0, x + 1, cb, y01)
            storeWinogradOutput(pair, pair.output1, x + 1, cb, y11)
        }
    }
}

/// Stores 16 accumulators of pixel x: requantised (`requantize`, docs/int8.md) or raw.
@inlinable @inline(__always)
func storeWinogradOutput(_ pair: Conv3x3RowPair, _ row: UnsafeMutableRawPointer, _ x: Int, _ cb: Int, _ acc: SIMD16<Int32>) {
    if pair.requantize {
        let m = UnsafeRawPointer(pair.multipliers + cb).loadUnaligned(as: SIMD16<Float>.self)
        var f = SIMD16<Float>(acc) * m
        f = f.replacing(with: 0, where: f .< 0).replacing(with: 127, where: f .> 127)
        // Round half to even without a generic Float -> Int conversion (which Swift does lane by
        // lane): adding 1.5 * 2^23 to a value in 0...127 leaves the rounded integer in the low
        // mantissa bits, rounded by the FPU's default mode, round-half-even (docs/int8.md).
        let magic = SIMD16<Float>(repeating: 12_582_912)
        let bits = unsafeBitCast(f + magic, to: SIMD16<UInt32>.self) &- unsafeBitCast(magic, to: SIMD16<UInt32>.self)
        let q = SIMD16<UInt8>(truncatingIfNeeded: bits)
        (row + x * pair.outChannels + cb).storeBytes(of: q, as: SIMD16<UInt8>.self)
    } else {
        (row + (x * pair.outChannels + cb) * 4).storeBytes(of: acc, as: SIMD16<Int32>.self)
    }
}

/// Int16 elements of packed Winograd weights for a layer (`inChannels`, `outChannels` as the
/// kernel sees them: multiples of 4 and 16).
public func winogradWeightCount(inChannels: Int, outChannels: Int) -> Int { 16 * inChannels * outChannels }

/// Packs the F(2x2, 3x3) transform of canonical weights `[outChannels][3][3][inChannels]` for the
/// kernels: `[paddedOut / 16 blocks][16 elements][kernelIn / 2 channel pairs][16][2]` Int16, so that
/// one element and one pair of input channels give 16 output channels in 64 contiguous bytes (two
/// ymm for vpmaddwd, four q registers for smlal), and a kernel's inner loop over channel pairs
/// reads one contiguous run (`winogradWeightOffset`). Channels past `inChannels` and `outChannels`
/// are zero.
public func packWinogradWeights(
    inChannels: Int, outChannels: Int, canonical: UnsafePointer<Int8>, packed: UnsafeMutablePointer<Int16>
) {
    let kin = (inChannels + 3) & ~3, kout = paddedOutChannels(outChannels)
    packed.initialize(repeating: 0, count: winogradWeightCount(inChannels: kin, outChannels: kout))
    for co in 0..<outChannels {
        for ci in 0..<inChannels {
            // Where element e of (co, ci) goes: block co / 16, element e, pair ci / 2, lane co % 16, ci % 2.
            let lane = packed + ((co / 16) * 16 * (kin / 2) + ci / 2) * 32 + (co % 16) * 2 + ci % 2
            let elementStride = kin / 2 * 32
            let g = canonical + co * 9 * inChannels + ci
            winogradTransformFilter(
                g[0], g[inChannels], g[2 * inChannels], g[3 * inChannels], g[4 * inChannels],
                g[5 * inChannels], g[6 * inChannels], g[7 * inChannels], g[8 * inChannels]
            ) { e, u in lane[e * elementStride] = u }
        }
    }
}

/// `U = G2 g G2^T` of one 3x3 filter `g` (row-major), element by element (e = 4 i + j), written
/// out: the values of `winogradWeightsF2x3` (the reference, which a test compares with the
/// packed weights), without its per-element loops, so that preparing a model at start-up stays
/// well under a millisecond.
@inline(__always)
func winogradTransformFilter(
    _ g00: Int8, _ g01: Int8, _ g02: Int8, _ g10: Int8, _ g11: Int8, _ g12: Int8,
    _ g20: Int8, _ g21: Int8, _ g22: Int8, store: (Int, Int16) -> Void
) {
    // t = G2 g: rows 2 g0, g0 + g1 + g2, g0 - g1 + g2, 2 g2 (per column).
    func rows(_ a: Int8, _ b: Int8, _ c: Int8) -> (Int32, Int32, Int32, Int32) {
        let a = Int32(a), b = Int32(b), c = Int32(c)
        return (2 * a, a + b + c, a - b + c, 2 * c)
    }
    let c0 = rows(g00, g10, g20), c1 = rows(g01, g11, g21), c2 = rows(g02, g12, g22)
    // U = t G2^T: per row of t (a, b, c): 2 a, a + b + c, a - b + c, 2 c.
    func row(_ i: Int, _ a: Int32, _ b: Int32, _ c: Int32) {
        store(4 * i, Int16(2 * a))
        store(4 * i + 1, Int16(a + b + c))
        store(4 * i + 2, Int16(a - b + c))
        store(4 * i + 3, Int16(2 * c))
    }
    row(0, c0.0, c1.0, c2.0)
    row(1, c0.1, c1.1, c2.1)
    row(2, c0.2, c1.2, c2.2)
    row(3, c0.3, c1.3, c2.3)
}

/// Where element `e`'s weights for output channels `cb ..< cb + 16` start in packed Winograd
/// weights, in Int16 elements: then 32 Int16 (16 channels x 2) per channel pair.
@inlinable @inline(__always)
public func winogradWeightOffset(inChannels: Int, cb: Int, element e: Int) -> Int {
    ((cb / 16) * 16 + e) * inChannels * 16
}
