@testable import ComRecCodec
import ComRecModels
import Testing

/// The `bicubic` profile against an independent computation: the Keys cubic (a = -0.5) evaluated
/// in Double on half-pixel centres, summed in two dimensions at once, rounded half up. Every tap is
/// a multiple of 1/128 (up) or 1/256 (down) and every sum stays below 2^40 in those units, so the
/// Double arithmetic is exact and the result must match the integer kernels bit for bit.
@Suite struct BicubicProfileTests {
    static func keys(_ t: Double) -> Double {
        let a = -0.5, x = abs(t)
        if x < 1 { return (a + 2) * x * x * x - (a + 3) * x * x + 1 }
        if x < 2 { return a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a }
        return 0
    }

    /// Taps (source index, weight) of output `o` for x2 upsampling of `n` samples.
    static func upsampleTaps(_ o: Int, _ n: Int) -> [(Int, Double)] {
        let centre = (Double(o) + 0.5) / 2 - 0.5
        let first = Int(centre.rounded(.down)) - 2
        return (first...(first + 4)).map { i in (min(max(i, 0), n - 1), keys(centre - Double(i))) }
    }

    /// Taps of output `o` for antialiased /2 downsampling of `n` samples (kernel stretched by 2).
    static func downsampleTaps(_ o: Int, _ n: Int) -> [(Int, Double)] {
        let centre = (Double(o) + 0.5) * 2 - 0.5
        let first = Int(centre.rounded(.down)) - 4
        return (first...(first + 9)).map { i in (min(max(i, 0), n - 1), keys((Double(i) - centre) / 2) / 2) }
    }

    static func resample(
        _ image: RGB8Image, width: Int, height: Int, taps: (Int, Int) -> [(Int, Double)]
    ) -> RGB8Image {
        var out = try! RGB8Image(width: width, height: height)
        for y in 0..<height {
            let rows = taps(y, image.height)
            for x in 0..<width {
                let columns = taps(x, image.width)
                for c in 0..<3 {
                    var sum = 0.0
                    for (sy, wy) in rows {
                        for (sx, wx) in columns { sum += wy * wx * Double(image.pixels[(sy * image.width + sx) * 3 + c]) }
                    }
                    out.pixels[(y * width + x) * 3 + c] = UInt8(min(max((sum + 0.5).rounded(.down), 0), 255))
                }
            }
        }
        return out
    }

    /// Deterministic test images: noise (hits the clamps) or smooth ramps.
    static func image(width: Int, height: Int, seed: UInt64, noise: Bool) -> RGB8Image {
        var state = seed
        var image = try! RGB8Image(width: width, height: height)
        for i in image.pixels.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let random = UInt8(truncatingIfNeeded: state >> 56)
            let pixel = i / 3
            image.pixels[i] = noise ? random : UInt8(truncatingIfNeeded: (pixel % width) * 7 + (pixel / width) * 3 + i % 3 * 50)
        }
        return image
    }

    static let sizes = [(1, 1), (2, 1), (1, 3), (2, 2), (3, 3), (7, 5), (8, 8), (33, 17), (64, 48)]

    @Test(arguments: sizes)
    func downsampleMatchesKeysKernel(width: Int, height: Int) throws {
        for noise in [true, false] {
            let source = Self.image(width: width, height: height, seed: UInt64(width * 1000 + height), noise: noise)
            let size = compactSize(width: width, height: height)
            let expected = Self.resample(source, width: size.width, height: size.height, taps: Self.downsampleTaps)
            #expect(try bicubicDownsample2x(source) == expected)
        }
    }

    @Test(arguments: sizes)
    func upsampleMatchesKeysKernel(width: Int, height: Int) throws {
        for noise in [true, false] {
            let source = Self.image(width: width, height: height, seed: UInt64(width * 7 + height), noise: noise)
            // Full x2 and the odd crops a decode of an odd-sized original asks for.
            for (w, h) in [(2 * width, 2 * height), (2 * width - 1, 2 * height - 1)] {
                let expected = Self.resample(source, width: w, height: h, taps: Self.upsampleTaps)
                #expect(try bicubicUpsample2x(source, width: w, height: h) == expected, "\(w) x \(h)")
            }
        }
    }

    @Test func profileIsDownThenUpAndCrops() throws {
        let original = Self.image(width: 33, height: 17, seed: 3, noise: false)
        let profile = Profile.bicubic
        let compact = try profile.makeCompact(original)
        #expect(compact.width == 17 && compact.height == 9)
        let rebuilt = try profile.reconstruct(compact, ReconstructionContext(width: 33, height: 17, quality: 75))
        #expect(rebuilt == Self.resample(compact, width: 33, height: 17, taps: Self.upsampleTaps))
    }

    @Test func constantImagesStayConstant() throws {
        let grey = try RGB8Image(width: 9, height: 6, value: 200)
        #expect(try bicubicDownsample2x(grey) == RGB8Image(width: 5, height: 3, value: 200))
        #expect(try bicubicUpsample2x(RGB8Image(width: 5, height: 3, value: 200), width: 9, height: 6) == grey)
    }

    /// The model hash is what files carry: pinned, so that an edit to the description (which
    /// would make every existing file undecodable) cannot happen unnoticed.
    @Test func modelHashIsPinned() throws {
        #expect(Profile.bicubic.modelHash == ModelHash(hashing: Array(Profile.bicubicDescription.utf8)))
        #expect(Profile.bicubic.modelHash.description == "da37d3fc9901a7e8")
        // Likewise the no-network full mode's hash (docs/format.md): every plain full-mode file carries it.
        #expect(FullResolutionModel.plainJPEG.modelHash.description == "4e6f5e637861c226")
        #expect(Profile.bicubic.full.isPlainJPEG)
    }

    @Test func registryFindsProfilesByName() throws {
        let registered = Profile.registered(runner: .portable)
        #expect(Profile.named("bicubic", runner: .portable)?.name == "bicubic")
        #expect(Profile.named(Profile.defaultName, runner: .portable) != nil)
        #expect(Profile.named("nope", runner: .portable) == nil)
        #expect(Profile.names == registered.map(\.name))
        #expect(Set(Profile.names).count == registered.count)
        #expect(registered.allSatisfy { Profile.isValidName($0.name) })
    }
}
