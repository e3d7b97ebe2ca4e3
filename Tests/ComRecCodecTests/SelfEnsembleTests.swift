import ComRecCodec
import ComRecTestSupport
import Testing

@Suite struct SelfEnsembleTests {
    /// Pixel (x, y) of a 3 x 2 image holds (x, y, 7).
    let small = Fixtures.image(width: 3, height: 2) { x, y in [UInt8(x), UInt8(y), 7] }

    /// Each orientation moves the pixels as its name says: transposed first, then flipped.
    @Test func orientationsMovePixelsAsNamed() throws {
        #expect(Orientation.all.count == 8 && Set(Orientation.all.map { "\($0)" }).count == 8)
        #expect(Orientation.all[0] == Orientation(transposed: false, flippedHorizontally: false, flippedVertically: false))
        let flipped = try small.oriented(Orientation(transposed: false, flippedHorizontally: true, flippedVertically: false))
        #expect(flipped.width == 3 && flipped[0, 0] == (2, 0, 7) && flipped[2, 1] == (0, 1, 7))
        let transposed = try small.oriented(Orientation(transposed: true, flippedHorizontally: false, flippedVertically: false))
        #expect(transposed.width == 2 && transposed.height == 3 && transposed[1, 2] == (2, 1, 7) && transposed[0, 1] == (1, 0, 7))
        let both = try small.oriented(Orientation(transposed: true, flippedHorizontally: false, flippedVertically: true))
        #expect(both[0, 0] == (2, 0, 7) && both[1, 2] == (0, 1, 7))
    }

    /// Padding repeats the last column and row.
    @Test func paddingRepeatsTheEdges() throws {
        let padded = try small.padded(toWidth: 5, height: 4)
        #expect(padded.width == 5 && padded.height == 4)
        #expect(padded[4, 0] == (2, 0, 7) && padded[1, 3] == (1, 1, 7) && padded[4, 3] == (2, 1, 7) && padded[1, 1] == (1, 1, 7))
    }

    /// With a restorer that changes nothing, every orientation is turned back exactly and the
    /// padding cut away: the image itself, at any size. Every call sees the padded size, turned.
    @Test func anIdentityRestorerGivesTheImageBack() throws {
        for (width, height) in [(1, 1), (3, 2), (17, 9), (40, 33)] {
            let image = Fixtures.image(width: width, height: height) { x, y in [UInt8(x * 7 % 256), UInt8(y * 13 % 256), UInt8((x ^ y) % 256)] }
            var sizes: [String] = []
            let back = try selfEnsemble(image) { oriented throws(ComRecError) in
                sizes.append("\(oriented.width)x\(oriented.height)")
                return oriented
            }
            #expect(back == image, "\(width) x \(height)")
            let w = (width + 15) / 16 * 16, h = (height + 15) / 16 * 16
            #expect(sizes == Array(repeating: "\(w)x\(h)", count: 4) + Array(repeating: "\(h)x\(w)", count: 4))
        }
    }

    /// The results are averaged with rounding half up: +4 in one orientation of eight is +0.5, so
    /// +1 everywhere (truncation would give +0), and +3 is +0.375, so nothing.
    @Test func resultsAreAveragedWithRounding() throws {
        let image = Fixtures.image(width: 19, height: 11) { x, y in [UInt8(x * 10), UInt8(y * 20), 100] }
        for (lift, expected) in [(UInt8(4), UInt8(1)), (3, 0)] {
            var calls = 0
            let mean = try selfEnsemble(image) { oriented throws(ComRecError) in
                calls += 1
                guard calls == 1 else { return oriented }
                var lifted = oriented
                lifted.pixels.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] += lift } }
                return lifted
            }
            #expect(Array(mean.pixels) == Array(image.pixels).map { $0 + expected }, "+\(lift) in one orientation")
        }
        let four = try selfEnsemble(image, orientations: Array(Orientation.all.prefix(4))) { $0 }
        #expect(four == image)
    }
}
