// swift-tools-version: 6.0
// ComRec: a learned image codec that stays a JPEG. See docs/ and ../shared/design/ARCHITECTURE.md.
//
// Layers, lowest first (a lower layer never imports a higher one):
//   ComRecKernels (Embedded-safe int8 operators and resampling)
//   -> ComRecModels (generated networks) -> ComRecCodec (pipeline, file format)
//   -> ComRecIO (libpng, libjpeg-turbo, files) -> comrec (CLI)
// Why each dependency is there: docs/dependencies.md.
import PackageDescription

let package = Package(
    name: "ComRec",
    products: [
        .library(name: "ComRecKernels", targets: ["ComRecKernels"]),
        .library(name: "ComRecCodec", targets: ["ComRecCodec"]),
        .library(name: "ComRecIO", targets: ["ComRecIO"]),
        .executable(name: "comrec", targets: ["comrec"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Embedded-safe: no Foundation, no existentials, raw pointers and SIMD only.
        .target(name: "ComRecKernels"),

        // Profiles, the encode/decode pipeline on in-memory RGB8 buffers and the ComRec APPn
        // segment. No Foundation and no C libraries: JPEG coding comes in through a protocol.
        // Learned profiles run ComRecModels (declared below, with the runtime it runs on).
        .target(name: "ComRecCodec", dependencies: ["ComRecKernels", "ComRecModels", "ComRecNetworks"]),

        // System libraries (Debian libpng-dev, libjpeg62-turbo-dev), reached through module maps.
        .systemLibrary(
            name: "CLibPNG", path: "Sources/CSystem/CLibPNG", pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]),
        .systemLibrary(
            name: "CLibJPEG", path: "Sources/CSystem/CLibJPEG", pkgConfig: "libjpeg",
            providers: [.apt(["libjpeg62-turbo-dev"])]),
        // Small C wrappers: libpng and libjpeg report errors with longjmp, which Swift cannot
        // survive, so every call into them happens here behind setjmp and comes back as a string.
        .target(
            name: "CComRecImage", dependencies: ["CLibPNG", "CLibJPEG"],
            linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),

        // Removes temporary output files on SIGINT/SIGTERM/SIGHUP (a handler must be C).
        .target(name: "CComRecSignals"),

        // Files, PNG/JPEG/PPM reading and writing, atomic output, metrics.
        .target(name: "ComRecIO", dependencies: ["ComRecCodec", "CComRecImage", "CComRecSignals"]),

        // The command-line tool.
        .executableTarget(
            name: "comrec",
            dependencies: [
                "ComRecIO", "ComRecCodec", "ComRecRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Fixture paths, temporary directories and the bad-input catalogue shared by the I/O and
        // CLI tests. Used only by test targets.
        .target(name: "ComRecTestSupport", dependencies: ["ComRecIO", "ComRecCodec"], path: "Tests/ComRecTestSupport"),
        .testTarget(name: "ComRecCodecTests", dependencies: ["ComRecCodec", "ComRecModels", "ComRecKernels"]),
        .testTarget(name: "ComRecIOTests", dependencies: ["ComRecIO", "ComRecCodec", "ComRecTestSupport"]),
        // Runs the built `comrec` binary as a child process: exit codes, messages, files left.
        .testTarget(name: "comrecTests", dependencies: ["comrec", "ComRecIO", "ComRecCodec", "ComRecTestSupport"]),
    ]
)

// The int8 runtime (docs/int8.md, docs/performance.md). Each x86 kernel module is compiled with
// its own target features and only called after the cpuid check in ComRecRuntime, so one x86
// build runs on any x86-64 CPU. The flags are given only when the host is x86-64 (an ARM build
// selects its NEON kernels at build time; scripts/embedded-aarch64.sh builds those).
#if arch(x86_64)
let avx512Flags: [String] = ["-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl", "-mavx512vnni"].flatMap { ["-Xcc", $0] }
let avx2Flags: [String] = ["-Xcc", "-mavx2"]
#else
let avx512Flags: [String] = []
let avx2Flags: [String] = []
#endif
package.targets += [
    .target(name: "ComRecKernelsAVX512", dependencies: ["ComRecKernels"], swiftSettings: [.unsafeFlags(avx512Flags)]),
    .target(name: "ComRecKernelsAVX2", dependencies: ["ComRecKernels"], swiftSettings: [.unsafeFlags(avx2Flags)]),
    .target(name: "CComRecCPU"),
    // Thread pool (pthreads), kernel dispatch (cpuid, COMREC_ISA), tiled network executor, bench.
    .target(name: "ComRecRuntime", dependencies: ["ComRecKernels", "ComRecKernelsAVX512", "ComRecKernelsAVX2", "CComRecCPU"]),
    .testTarget(name: "ComRecKernelsTests", dependencies: ["ComRecKernels", "ComRecRuntime"]),
    .testTarget(name: "ComRecRuntimeTests", dependencies: ["ComRecRuntime", "ComRecKernels"]),
]
package.products += [.library(name: "ComRecRuntime", targets: ["ComRecRuntime"])]

// Generated networks (docs/models.md). comrec-compile turns a model folder (Weights/<profile>/)
// into Swift source; ComRecModels decodes and runs it (Embedded-safe: built without ComRecRuntime
// it runs one thread with the portable kernels); ComRecCodec registers it as a profile.
// ComRecTestModels holds the generated synthetic test models, for tests only.
package.targets += [
    .target(name: "ComRecModels", dependencies: ["ComRecKernels", "ComRecRuntime"]),
    // The shipped networks, generated by comrec-compile: in their own target so that a generated
    // file that stops compiling never stops the compiler that regenerates it.
    .target(name: "ComRecNetworks", dependencies: ["ComRecModels", "ComRecKernels"], exclude: ["README.md"]),
    .target(name: "ComRecCompiler", dependencies: ["ComRecModels", "ComRecKernels"]),
    .executableTarget(name: "comrec-compile", dependencies: ["ComRecCompiler"]),
    // Times a model folder's networks and runs encodes/decodes with it (Benchmarks/onnx_models.py).
    .executableTarget(
        name: "comrec-models-bench",
        dependencies: ["ComRecCompiler", "ComRecModels", "ComRecCodec", "ComRecIO", "ComRecRuntime", "ComRecKernels"]),
    .target(name: "ComRecTestModels", dependencies: ["ComRecModels", "ComRecKernels"], path: "Tests/ComRecTestModels"),
    // Rate-distortion measurement and rate control (ComRecIO: MS-SSIM, BD-rate, comrec eval, --bpp).
    .testTarget(name: "ComRecEvalTests", dependencies: ["ComRecIO", "ComRecCodec", "ComRecModels", "ComRecTestModels"]),
    .testTarget(
        name: "ComRecModelsTests",
        dependencies: [
            "ComRecModels", "ComRecTestModels", "ComRecCompiler", "ComRecCodec", "ComRecIO", "ComRecKernels",
            "ComRecRuntime",
        ]),
]
package.products += [
    .library(name: "ComRecModels", targets: ["ComRecModels"]),
    .executable(name: "comrec-compile", targets: ["comrec-compile"]),
]
