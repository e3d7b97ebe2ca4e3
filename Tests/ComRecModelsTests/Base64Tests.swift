import ComRecModels
import Foundation
import Testing

@Suite struct Base64Tests {
    func decode(_ text: String) -> [UInt8]? {
        Array(text.utf8).withUnsafeBufferPointer { decodeBase64($0) }
    }

    @Test func matchesFoundationForEveryLengthAndLineBreaks() {
        var state: UInt32 = 7
        for length in 0..<200 {
            let bytes: [UInt8] = (0..<length).map { _ in
                state = state &* 1_664_525 &+ 1_013_904_223
                return UInt8(truncatingIfNeeded: state >> 24)
            }
            let text = Data(bytes).base64EncodedString()
            #expect(decode(text) == bytes, "length \(length)")
            let wrapped = Data(bytes).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
            #expect(decode(wrapped + "\n") == bytes, "length \(length), wrapped")
        }
    }

    @Test func refusesMalformedText() {
        for bad in ["A", "AB", "ABC", "A===", "AB=C", "AB==CD==", "AB*D", "QUJD=", "QQ==QQ==", "QQ=", "ÿÿÿÿ"] {
            #expect(decode(bad) == nil, "\(bad)")
        }
        #expect(decode("") == [])
        #expect(decode("QQ==") == [0x41])
        #expect(decode("QUI=") == [0x41, 0x42])
    }
}
