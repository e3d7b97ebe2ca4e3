// Shared by the Swift fuzz targets (scripts/fuzz.sh compiles it into each of them).

#if canImport(Glibc)
import Glibc
#endif

/// The fuzzer's input as an array (what every decoder in ComRec takes).
func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// A property the code under test promises: when it does not hold, the input is a finding. Prints
/// the reason and aborts, which libFuzzer reports as a crash and saves the input.
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() {
        fputs("fuzz property failed: \(message())\n", stderr)
        abort()
    }
}
