// The golden vectors of the test models, the shipped profiles (Fixtures/golden/*.json) and the
// enhancers (Fixtures/golden/full/*.json) in an
// Embedded Swift build for aarch64, run under qemu-aarch64 by scripts/qemu-models.sh.
// `goldenModels` and `goldenCases` come from the golden JSON files (the script writes them next to
// this file's object). No Foundation, no threads:
// NetworkRunner.serial with each kernel family this build has (portable, NEON, and NEON dot when
// built with -D COMREC_NEON_DOT), several tile heights. The cortex-a53 build lets the measured
// table choose (Winograd for portable and NEON, as a board runs them); the dot-product build forces
// direct for portable and NEON (and NEON dot is direct by the table), so both algorithms meet the
// golden vectors on Arm without doubling the run.
import ComRecCodec
import ComRecKernels
import ComRecModels
import ComRecTestModels

func hex(_ bytes: [UInt8]) -> String {
    let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
    var s = ""
    for b in bytes {
        s.append(digits[Int(b >> 4)])
        s.append(digits[Int(b & 15)])
    }
    return s
}

/// The bytes of a hex string (String comparison would need Unicode tables: compare bytes).
func unhex(_ text: StaticString) -> [UInt8] {
    var out: [UInt8] = []
    text.withUTF8Buffer { b in
        func v(_ c: UInt8) -> UInt8 { c >= 0x61 ? c - 0x61 + 10 : c - 0x30 }
        var i = 0
        while i + 1 < b.count {
            out.append(v(b[i]) << 4 | v(b[i + 1]))
            i += 2
        }
    }
    return out
}

/// How this build picks each layer's algorithm (see the header).
#if COMREC_NEON_DOT
let policy = ConvAlgorithmPolicy.direct
#else
let policy = ConvAlgorithmPolicy.measured
#endif

/// The family's name as the measured table spells it.
func familyName(_ name: StaticString) -> String {
    name.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
}

/// Checks every case of `goldenModels[index]` with kernel family `K`;
/// returns the number of mismatches.
func check<K: Conv3x3Kernel>(_ model: LearnedModel, index: Int, kernel: K.Type, name: StaticString, checks: inout Int) -> Int {
    var failures = 0
    for c in goldenCases where c.model == index {
        let cw = (c.width + 1) / 2, ch = (c.height + 1) / 2
        let image = goldenSyntheticImage(width: c.width, height: c.height, seed: c.imageSeed)
        let decoded = goldenSyntheticImage(width: cw, height: ch, seed: c.decodedSeed)
        for tileHeight in [0, 1, 3] {
            let runner = NetworkRunner.serial(K.self, family: familyName(name), tileHeight: tileHeight, algorithms: policy)
            var compact = [UInt8](repeating: 0, count: cw * ch * 3)
            var out = [UInt8](repeating: 0, count: c.width * c.height * 3)
            do throws(AllocationFailure) {
                try model.makeCompact(image: image, width: c.width, height: c.height, compact: &compact, runner: runner)
                try model.reconstruct(compact: decoded, compactWidth: cw, compactHeight: ch, width: c.width, height: c.height,
                                      output: &out, runner: runner)
            } catch {
                failures += 1
                print("FAIL \(model.profile) \(name) \(c.width)x\(c.height): out of memory (\(error.bytes) bytes)")
                continue
            }
            for (what, got, want) in [("compact", sha256(compact), c.compact), ("reconstructed", sha256(out), c.reconstructed)] {
                checks += 1
                if got != unhex(want) {
                    failures += 1
                    print("FAIL \(model.profile) \(name) \(c.width)x\(c.height) tile height \(tileHeight) \(what): \(hex(got)), golden \(want)")
                }
            }
        }
    }
    return failures
}

/// Checks every enhancer case of `goldenModels[index]` with kernel family `K`;
/// returns the number of mismatches.
func checkEnhancer<K: Conv3x3Kernel>(_ model: LearnedModel, index: Int, kernel: K.Type, name: StaticString, checks: inout Int) -> Int {
    var failures = 0
    for c in enhancerCases where c.model == index {
        let decoded = goldenSyntheticImage(width: c.width, height: c.height, seed: c.decodedSeed)
        for tileHeight in [0, 1, 3] {
            let runner = NetworkRunner.serial(K.self, family: familyName(name), tileHeight: tileHeight, algorithms: policy)
            var out = [UInt8](repeating: 0, count: c.width * c.height * 3)
            do throws(AllocationFailure) {
                try model.enhance(image: decoded, width: c.width, height: c.height, output: &out, runner: runner)
            } catch {
                failures += 1
                print("FAIL \(model.profile) enhancer \(name) \(c.width)x\(c.height): out of memory (\(error.bytes) bytes)")
                continue
            }
            checks += 1
            let got = sha256(out)
            if got != unhex(c.enhanced) {
                failures += 1
                print("FAIL \(model.profile) enhancer \(name) \(c.width)x\(c.height) tile height \(tileHeight): \(hex(got)), golden \(c.enhanced)")
            }
        }
    }
    return failures
}

/// Every case of model `index` with kernel family `K`, whichever kind of model it is.
func checkAll<K: Conv3x3Kernel>(_ model: LearnedModel, index: Int, kernel: K.Type, name: StaticString, checks: inout Int) -> Int {
    model.isEnhancer ? checkEnhancer(model, index: index, kernel: K.self, name: name, checks: &checks)
        : check(model, index: index, kernel: K.self, name: name, checks: &checks)
}

@main
struct QemuModels {
    static func main() {
        var failures = 0, checks = 0
        for (index, model) in goldenModels.enumerated() {
            failures += checkAll(model, index: index, kernel: PortableConv3x3.self, name: "portable", checks: &checks)
            #if arch(arm64)
            failures += checkAll(model, index: index, kernel: NeonConv3x3.self, name: "neon", checks: &checks)
            #if COMREC_NEON_DOT
            failures += checkAll(model, index: index, kernel: NeonDotConv3x3.self, name: "neondot", checks: &checks)
            #endif
            #endif
        }
        let algorithms = policy == .direct ? "direct (NEON dot: measured, direct)" : "measured (Winograd for portable and NEON)"
        print(failures == 0 ? "qemu-models: all \(checks) golden checks passed, " + algorithms
              : "qemu-models: \(failures) of \(checks) golden checks FAILED, " + algorithms)
    }
}
