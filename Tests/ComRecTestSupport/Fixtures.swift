import ComRecCodec
import ComRecIO
import Foundation

/// Paths of the synthetic images in Fixtures/ (made by Fixtures/generate.py).
public enum Fixtures {
    /// The package's Fixtures/ directory, found from this source file's location.
    public static let directory: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    public static func path(_ name: String) -> String { directory + "/" + name }

    public static let demoImage = path("synthetic-768x512.png")

    // The formulas of Fixtures/generate.py, for checking decoded pixels.

    public static func smallRGB(_ x: Int, _ y: Int) -> [UInt8] {
        [UInt8((x * 37 + y * 11) % 256), UInt8((x * 5 + y * 53 + 7) % 256), UInt8((x * y * 3 + 100) % 256)]
    }

    public static func smallGrey(_ x: Int, _ y: Int) -> UInt8 { UInt8((x * 29 + y * 13 + 3) % 256) }

    public static func rgb16(_ x: Int, _ y: Int) -> [Int] {
        [(x * 2731 + y * 977) % 65536, (x * 401 + y * 5003 + 129) % 65536, (x * y * 611 + 32767) % 65536]
    }

    public static let palette: [[UInt8]] = (0..<16).map { (i: Int) -> [UInt8] in
        let r = (i * 67) % 256, g = (i * 131 + 40) % 256, b = (255 - i * 23 + 512) % 256
        return [UInt8(r), UInt8(g), UInt8(b)]
    }

    public static func paletteIndex(_ x: Int, _ y: Int) -> Int { (x / 2 + y * 3) % 16 }

    /// Alpha of rgba-alpha-12x10.png.
    public static func alpha(_ x: Int, _ y: Int) -> Int { x < 3 ? 0 : (x < 6 ? 128 : 255) }

    /// An image from a per-pixel function.
    public static func image(width: Int, height: Int, _ pixel: (Int, Int) -> [UInt8]) -> RGB8Image {
        var pixels: [UInt8] = []
        pixels.reserveCapacity(width * height * 3)
        for y in 0..<height { for x in 0..<width { pixels += pixel(x, y) } }
        return try! RGB8Image(width: width, height: height, pixels: pixels)  // a test image: small
    }
}

/// A fresh directory under the system's temporary directory, removed on deinit.
public final class TemporaryDirectory {
    public let path: String

    public init() {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("comrec-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes `bytes` to `name` and returns its path.
    @discardableResult
    public func write(_ name: String, _ bytes: [UInt8]) -> String {
        let target = file(name)
        _ = FileManager.default.createFile(atPath: target, contents: Data(bytes))
        return target
    }

    /// Names in the directory, hidden temporary files included.
    public var names: [String] { (try? FileManager.default.contentsOfDirectory(atPath: path).sorted()) ?? [] }
}

public func readBytes(_ path: String) -> [UInt8] {
    [UInt8](FileManager.default.contents(atPath: path) ?? Data())
}

/// A directory the current process cannot create files in: a read-only directory when not root,
/// else /sys (sysfs refuses new files even to root); nil if neither works here.
public func unwritableDirectory(in scratch: TemporaryDirectory) -> String? {
    let candidate = scratch.file("read-only")
    try? FileManager.default.createDirectory(atPath: candidate, withIntermediateDirectories: false)
    chmod(candidate, 0o555)
    for directory in [candidate, "/sys"] {
        let probe = directory + "/.comrec-probe-\(UUID().uuidString)"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        if fd < 0 { return directory }
        close(fd)
        unlink(probe)
    }
    return nil
}
