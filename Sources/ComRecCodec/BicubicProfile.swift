import ComRecModels
import ComRecKernels

// The `bicubic` profile: no network. Encode downsamples by 2 with the antialiased integer bicubic
// filter, decode upsamples by 2 with the integer bicubic filter and crops to the original size.
// Both filters are defined bit for bit in ComRecKernels (Reference/Resample2x.swift). Every learned
// profile is measured against this one, so it must stay exactly this arithmetic.

extension Profile {
    /// What the bicubic "model" is; its hash is the profile's model hash. Changing the arithmetic
    /// means changing this string, which makes old files refuse to decode instead of decoding wrong.
    public static let bicubicDescription =
        "comrec profile bicubic v1: Keys a=-0.5 integer x2 downsample [-3,-9,29,111,111,29,-9,-3]/256, "
        + "upsample [-3,29,111,-9]/128 and [-9,111,29,-3]/128, replicate edges, rows then columns, "
        + "one rounding; compact size ceil(H/2) x ceil(W/2); decode crops to W x H"

    public static let bicubic = Profile(
        name: "bicubic",
        modelHash: ModelHash(hashing: Array(bicubicDescription.utf8)),
        summary: "bicubic /2 downscale, JPEG, bicubic x2 upscale (no network; the control)",
        makeCompact: bicubicDownsample2x,
        reconstruct: { compact, context throws(ComRecError) in
            try bicubicUpsample2x(compact, width: context.width, height: context.height)
        },
        // Where bicubic half mode meets plain JPEG: 0.37 bpp on CBSD68, 0.35 on CSet14 (docs/results.md).
        halfModeRule: .maxBitsPerPixel(0.36)
    )
}

/// Antialiased bicubic /2: W x H -> ceil(W/2) x ceil(H/2).
public func bicubicDownsample2x(_ image: RGB8Image) throws(ComRecError) -> RGB8Image {
    precondition(image.width > 0 && image.height > 0)
    let size = compactSize(width: image.width, height: image.height)
    return try image.transformed(width: size.width, height: size.height) { src, dst throws(AllocationFailure) in
        try downsample2xBicubic(src: src, srcWidth: image.width, srcHeight: image.height, channels: 3, dst: dst)
    }
}

/// Bicubic x2 of `image`, cropped to `width` x `height` (each at most twice the source side).
public func bicubicUpsample2x(_ image: RGB8Image, width: Int, height: Int) throws(ComRecError) -> RGB8Image {
    precondition(image.width > 0 && image.height > 0)
    precondition(width > 0 && width <= 2 * image.width && height > 0 && height <= 2 * image.height)
    return try image.transformed(width: width, height: height) { src, dst in
        upsample2xBicubic(src: src, srcWidth: image.width, srcHeight: image.height, channels: 3,
                          dst: dst, dstWidth: width, rows: 0..<height)
    }
}
