import ComRecCodec
import ComRecIO

/// Hand-made files for the error cases: PNG chunks with valid CRCs, ComRec files with edited
/// segments.
public enum Crafting {
    /// CRC-32 as PNG uses it (ISO 3309, reflected, polynomial 0xEDB88320).
    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func be32(_ v: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> UInt32($0)) } }

    public static func pngChunk(_ kind: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(kind.utf8) + data
        return be32(UInt32(data.count)) + body + be32(crc32(body))
    }

    /// A PNG signature and IHDR claiming `width` x `height` 8-bit RGB, then a few bytes of IDAT:
    /// what a hostile or broken file may claim. Reading must stop at the claimed size.
    public static func pngHeaderOnly(width: UInt32, height: UInt32) -> [UInt8] {
        PNG.signature + pngChunk("IHDR", be32(width) + be32(height) + [8, 2, 0, 0, 0])
            + pngChunk("IDAT", [0x78, 0x9C, 0x63, 0x00, 0x00]) + pngChunk("IEND", [])
    }

    /// `data` as a zlib stream of one stored (uncompressed) deflate block, at most 65535 bytes.
    public static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        precondition(data.count <= 65535)
        let length = UInt16(data.count)
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return [0x78, 0x01, 0x01, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
            + data + be32(b << 16 | a)
    }

    /// A 4 x 1 8-bit palette PNG with a 2-entry palette whose pixels use indices 0, 1, 5 and 200:
    /// the last two point past the palette (libpng would expand them to black).
    public static func pngPaletteIndexPastPalette() -> [UInt8] {
        PNG.signature + pngChunk("IHDR", be32(4) + be32(1) + [8, 3, 0, 0, 0])
            + pngChunk("PLTE", [255, 0, 0, 0, 0, 255])
            + pngChunk("IDAT", zlibStored([0, 0, 1, 5, 200])) + pngChunk("IEND", [])
    }

    /// The same PNG with every index inside the palette: a valid file.
    public static func pngPaletteIndexInside() -> [UInt8] {
        PNG.signature + pngChunk("IHDR", be32(4) + be32(1) + [8, 3, 0, 0, 0])
            + pngChunk("PLTE", [255, 0, 0, 0, 0, 255])
            + pngChunk("IDAT", zlibStored([0, 0, 1, 1, 0])) + pngChunk("IEND", [])
    }

    /// A small real RGB image: JPEG input for the bad-input cases.
    public static let sampleImage = Fixtures.image(width: 40, height: 30) { x, y in
        [UInt8(x * 6), UInt8(y * 8), UInt8((x + y) * 3)]
    }

    /// A plain JPEG (no ComRec segment).
    public static func plainJPEG() -> [UInt8] {
        try! LibJPEG().encode(sampleImage, settings: JPEGSettings(quality: 80), segments: [])
    }

    /// A ComRec file of `sampleImage` whose segment payload went through `edit`.
    public static func comrecFile(edit: (inout [UInt8]) -> Void = { _ in }) -> [UInt8] {
        let segment = ComRecSegment(
            profile: "bicubic", modelHash: Profile.bicubic.modelHash,
            width: sampleImage.width, height: sampleImage.height, quality: 75)
        var payload = try! segment.serialised()
        edit(&payload)
        return try! LibJPEG().encode(
            bicubicDownsample2x(sampleImage), settings: JPEGSettings(quality: 75),
            segments: [JPEGSegment(marker: ComRecSegment.marker, payload: payload)])
    }

    /// Offsets in a bicubic segment payload of format version 2 (docs/format.md).
    public static let versionOffset = 7
    public static let modeOffset = 8
    public static let hashOffset = 17
    public static let widthOffset = 25
}
