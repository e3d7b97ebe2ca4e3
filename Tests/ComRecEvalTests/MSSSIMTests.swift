// MS-SSIM against numbers computed by Training/comrec_train/msssim.py on the golden synthetic
// images (Training/comrec_train/golden.py's synthetic_image, ported in ComRecTestModels).
import ComRecCodec
import ComRecEval
import ComRecIO
import ComRecTestModels
import Testing

@Suite struct MSSSIMTests {
    func image(_ w: Int, _ h: Int, _ seed: Int) -> RGB8Image {
        try! RGB8Image(width: w, height: h, pixels: goldenSyntheticImage(width: w, height: h, seed: seed))
    }

    /// clip(a + b // divisor - offset, 0, 255), as the Python test images were made.
    func perturbed(_ a: RGB8Image, _ b: RGB8Image, divisor: Int, offset: Int) -> RGB8Image {
        try! RGB8Image(width: a.width, height: a.height, pixels: zip(a.pixels, b.pixels).map {
            UInt8(min(max(Int($0) + Int($1) / divisor - offset, 0), 255))
        })
    }

    @Test func matchesPythonWithFewerScales() throws {
        let a = image(48, 45, 1), b = image(48, 45, 2)
        let c = perturbed(a, image(48, 45, 3), divisor: 16, offset: 8)
        let ac3 = try #require(MSSSIM.msSSIM(a, c, scales: 3))
        #expect(abs(ac3 - 0.9980022568963564) <= 1e-12)
        let ab3 = try #require(MSSSIM.msSSIM(a, b, scales: 3))
        #expect(ab3 == 0.0)  // a negative term clamps to 0
        let ac1 = try #require(MSSSIM.msSSIM(a, c, scales: 1))
        #expect(abs(ac1 - 0.9968274399759399) <= 1e-12)
    }

    @Test func matchesPythonWithFiveScales() throws {
        let a = image(170, 165, 4)
        let perturbedScore = try #require(MSSSIM.msSSIM(a, perturbed(a, image(170, 165, 5), divisor: 8, offset: 16)))
        #expect(abs(perturbedScore - 0.9900510065391527) <= 1e-12)
        let d = try RGB8Image(width: a.width, height: a.height, pixels: a.pixels.map { UInt8(min(Int($0) / 2 + 60, 255)) })
        let darkened = try #require(MSSSIM.msSSIM(a, d))
        #expect(abs(darkened - 0.8114281291758632) <= 1e-12)
        let same = try #require(MSSSIM.msSSIM(a, a))
        #expect(abs(same - 1.0) <= 1e-15)
    }

    @Test func tooSmallForFiveScalesIsNil() throws {
        #expect(MSSSIM.minSide() == 161)
        #expect(MSSSIM.minSide(scales: 3) == 41)
        #expect(MSSSIM.msSSIM(image(160, 300, 1), image(160, 300, 1)) == nil)
        #expect(MSSSIM.msSSIM(image(161, 161, 1), image(161, 161, 2)) != nil)
    }
}
