// Exact integer Winograd F(2x2, 3x3) for 3x3 stride-1 convolution: the scalar specification of the
// Winograd kernels, written as the maths reads (docs/int8.md, "Winograd F(2x2, 3x3)").
//
// Lavin and Gray's F(2x2, 3x3) computes a 2x2 block of outputs Y from a 4x4 block of inputs d:
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A,    (.) the element-wise product, summed over channels,
// with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], A^T = [1 1 1 0; 0 1 -1 -1] and
// G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]. Only G has fractions, so the weights are
// transformed with G2 = 2G (all integers): U = G2 g G2^T = 4 (G g G^T), and A^T [U (.) V] A is then
// exactly 4 times the direct convolution's sum. Dividing by 4 is exact, so the accumulators, and
// hence every output byte, are those of `conv3x3Reference` (stride 1, zero padding 1).
//
// Ranges (docs/int8.md): inputs 0...inputMax (127 for hidden U7 layers, 255 for RGB8), weights
// -127...127.
//   V = B^T d B: each entry is a sum of at most 4 inputs with signs: |V| <= 4 * inputMax (508 for U7).
//   U = G2 g G2^T: each entry is a sum of at most 9 weights times 1, 2 or 4, at most 9 * 127 = 1143
//   in magnitude (the middle rows and columns of G2 are 1, 1, 1; the corners 2 * 2 * 127 = 508).
//   Both fit Int16. One channel's product |U V| <= 1143 * 508 = 580,644 (U7).
//   M = sum over channels of U V: |M| <= inChannels * 1143 * 4 * inputMax.
//   A^T M A sums at most 9 entries of M, so every intermediate is at most 9 |M|: Int32 holds it
//   when 9 * inChannels * 1143 * 4 * inputMax < 2^31, i.e. up to 410 U7 channels (204 of 0...255)
//   (`winogradF2x3Admits`); the kernels and the dispatch refuse wider layers.

/// The int16 transformed weights of one 3x3 layer for F(2x2, 3x3), scaled by 4: `U = G2 g G2^T`.
/// Layout `[outChannels][4][4][inChannels]`; `weights` is canonical `[outChannels][3][3][inChannels]`.
/// Done once per model, never per image.
public func winogradWeightsF2x3(
    weights: UnsafePointer<Int8>, inChannels: Int, outChannels: Int, transformed: UnsafeMutablePointer<Int16>
) {
    let g2: [[Int32]] = [[2, 0, 0], [1, 1, 1], [1, -1, 1], [0, 0, 2]]
    for co in 0..<outChannels {
        for ci in 0..<inChannels {
            func w(_ ky: Int, _ kx: Int) -> Int32 { Int32(weights[((co * 3 + ky) * 3 + kx) * inChannels + ci]) }
            for i in 0..<4 {
                for j in 0..<4 {
                    var u: Int32 = 0
                    for ky in 0..<3 {
                        for kx in 0..<3 { u += g2[i][ky] * w(ky, kx) * g2[j][kx] }
                    }
                    transformed[((co * 4 + i) * 4 + j) * inChannels + ci] = Int16(u)
                }
            }
        }
    }
}

/// Whether F(2x2, 3x3) with Int32 accumulation is exact for a layer reading `inChannels` channels
/// of values 0...`inputMax` (the bound in this file's header).
public func winogradF2x3Admits(inChannels: Int, inputMax: Int = 127) -> Bool {
    9 * inChannels * 1143 * 4 * inputMax < Int(Int32.max)
}

/// The accumulators of `conv3x3Reference` with stride 1 (bias included, NHWC,
/// `height x width x outChannels` Int32), computed tile by tile with F(2x2, 3x3) from
/// `winogradWeightsF2x3`'s transformed weights. Odd widths and heights: the last tile's extra
/// outputs are computed on zero padding and dropped.
public func conv3x3WinogradReference(
    input: UnsafePointer<UInt8>, width: Int, height: Int, inChannels: Int,
    transformedWeights: UnsafePointer<Int16>, bias: UnsafePointer<Int32>, outChannels: Int,
    inputMax: Int = 127, accumulators: UnsafeMutablePointer<Int32>
) {
    precondition(winogradF2x3Admits(inChannels: inChannels, inputMax: inputMax),
                 "F(2x2, 3x3) is not exact in Int32 for \(inChannels) channels of 0...\(inputMax)")
    func d(_ y: Int, _ x: Int, _ c: Int) -> Int32 {
        y < 0 || y >= height || x < 0 || x >= width ? 0 : Int32(input[(y * width + x) * inChannels + c])
    }
    var v = [Int32](repeating: 0, count: 16 * inChannels)  // B^T d B per channel, [4][4][inChannels]
    for ty in stride(from: 0, to: height, by: 2) {
        for tx in stride(from: 0, to: width, by: 2) {
            // Input transform of the 4x4 block whose top-left input is (ty - 1, tx - 1).
            for c in 0..<inChannels {
                var t = [[Int32]](repeating: [0, 0, 0, 0], count: 4)  // B^T d
                for j in 0..<4 {
                    let d0 = d(ty - 1, tx - 1 + j, c), d1 = d(ty, tx - 1 + j, c)
                    let d2 = d(ty + 1, tx - 1 + j, c), d3 = d(ty + 2, tx - 1 + j, c)
                    t[0][j] = d0 - d2
                    t[1][j] = d1 + d2
                    t[2][j] = d2 - d1
                    t[3][j] = d1 - d3
                }
                for i in 0..<4 {  // (B^T d) B
                    v[(i * 4 + 0) * inChannels + c] = t[i][0] - t[i][2]
                    v[(i * 4 + 1) * inChannels + c] = t[i][1] + t[i][2]
                    v[(i * 4 + 2) * inChannels + c] = t[i][2] - t[i][1]
                    v[(i * 4 + 3) * inChannels + c] = t[i][1] - t[i][3]
                }
            }
            for co in 0..<outChannels {
                var m = [Int32](repeating: 0, count: 16)
                for e in 0..<16 {
                    let u = transformedWeights + (co * 16 + e) * inChannels
                    var sum: Int32 = 0
                    for c in 0..<inChannels { sum += Int32(u[c]) * v[e * inChannels + c] }
                    m[e] = sum
                }
                // Output transform A^T M A, then the exact division by 4.
                var r = [[Int32]](repeating: [0, 0, 0, 0], count: 2)  // A^T M
                for j in 0..<4 {
                    r[0][j] = m[0 * 4 + j] + m[1 * 4 + j] + m[2 * 4 + j]
                    r[1][j] = m[1 * 4 + j] - m[2 * 4 + j] - m[3 * 4 + j]
                }
                for dy in 0..<2 {
                    let y0 = r[dy][0] + r[dy][1] + r[dy][2], y1 = r[dy][1] - r[dy][2] - r[dy][3]
                    for (dx, scaled) in [(0, y0), (1, y1)] {
                        let y = ty + dy, x = tx + dx
                        guard y < height, x < width else { continue }
                        precondition(scaled % 4 == 0, "F(2x2, 3x3) lost exactness")
                        accumulators[(y * width + x) * outChannels + co] = scaled / 4 + bias[co]
                    }
                }
            }
        }
    }
}
