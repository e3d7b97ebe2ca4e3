// swift-tools-version: 6.0
// ComRec: a learned image codec that stays a JPEG. See docs/ and ../shared/design/ARCHITECTURE.md.
//
// Layers, lowest first (a lower layer never imports a higher one):
//   ComRecKernels (Embedded-safe int8 operators and resampling)
//   -> ComRecModels (generated networks) -> ComRecCodec (pipeline, file format)
//   -> ComRecIO (libpng, libjpeg-turbo, files) -> comrec (CLI)
import PackageDescription

let package = Package(
    name: "ComRec",
    products: [
        .library(name: "ComRecKernels", targets: ["ComRecKernels"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Embedded-safe: no Foundation, no existentials, raw pointers and SIMD only.
        .target(name: "ComRecKernels"),
    ]
)
