import ComRecCodec
import ComRecKernels
@testable import ComRecIO
import ComRecTestSupport
import Testing

@Suite struct WorkingMemoryTests {
    @Test func pixelLimitIsTheLowerOfBoth() {
        #expect(WorkingMemory.pixelLimit(maxPixels: 1000, maxMemory: 6000, bytesPerPixel: 6) == 1000)
        #expect(WorkingMemory.pixelLimit(maxPixels: 1000, maxMemory: 600, bytesPerPixel: 6) == 100)
        #expect(WorkingMemory.pixelLimit(maxPixels: 1000, maxMemory: 1, bytesPerPixel: 6) == 1)
    }

    @Test func mappingProbeSeesWhatCannotBeHad() {
        #expect(systemGrants(bytes: 1 << 20))
        #expect(!systemGrants(bytes: Int.max / 2), "no system maps 4 exabytes")
    }

    /// An image whose working memory the system refuses is an error naming the bytes, before any
    /// pixel is decoded, for every input format.
    @Test func refusedMemoryIsAnErrorForEveryFormat() throws {
        let image = Fixtures.image(width: 6, height: 4) { x, y in [UInt8(x), UInt8(y), 9] }
        let files = [try PNG.encode(image), PNM.encode(image),
                     try LibJPEG().encode(image, settings: JPEGSettings(quality: 90), segments: [])]
        let greedy = ImageReadOptions(workingBytesPerPixel: Int.max / 48)
        for file in files {
            #expect(try decodeImage(file, options: ImageReadOptions(workingBytesPerPixel: 6)).width == 6)
            #expect { _ = try decodeImage(file, options: greedy) } throws: { error in
                guard let error = error as? ComRecIOError, case .outOfMemory(_, 6, 4) = error.reason else { return false }
                return "\(error)".contains("needs about") && "\(error)".contains("the allocator refused it")
            }
        }
    }
}
