import ComRecKernels

// A profile's two halves on RGB8 buffers (rows packed, 3 bytes per pixel), wired as docs/int8.md
// and Training/comrec_train/intref.py define them:
//   compact:      ComCNN on the image replicate-padded to even sizes, residual onto the 2x2
//                 average (or the 2x2 average alone for a model without ComCNN);
//   reconstruct:  paper: bicubic x2 of the decoded compact image, the RecCNN on it at full
//                 resolution, residual onto it; fast: the RecCNN on the decoded compact image,
//                 its 12-channel residual pixel-shuffled onto the bicubic x2; cropped to W x H.
//   enhance:      (full-resolution mode) the enhancer on the decoded full-resolution image
//                 (replicate-padded to even sizes when it has a stride-2 layer), its residual
//                 (pixel-shuffled in the fast wiring) onto that image.
// Memory besides the caller's buffers: the padded copy of an odd-sized image (encode, enhance),
// the upsampled image (paper decode; fast writes it straight into the output) and the tiles'
// scratch, each from allocateLarge: a refusal is an AllocationFailure, and the output is then unfinished.

extension LearnedModel {
    /// Writes the compact image (ceil(width / 2) x ceil(height / 2)) of `image` to `compact`.
    public func makeCompact(
        image: UnsafePointer<UInt8>, width: Int, height: Int, compact: UnsafeMutablePointer<UInt8>, runner: NetworkRunner
    ) throws(AllocationFailure) {
        precondition(width > 0 && height > 0)
        let cw = (width + 1) / 2, ch = (height + 1) / 2
        // The base, straight into the output: the network adds its residual in place. Averaging
        // the unpadded image with its edge replicated equals averaging the padded one.
        average2x2(src: image, srcWidth: width, srcHeight: height, channels: 3, dst: compact)
        guard let com else { return }
        let pw = 2 * cw, ph = 2 * ch
        if pw == width && ph == height {
            try runner.run(layers: com.packed, input: image, inputWidth: pw, inputHeight: ph,
                       base: compact, output: compact, outputWidth: cw, outputHeight: ch)
            return
        }
        let padded = try replicatePadToEven(image, width: width, height: height)
        defer { releaseLarge(padded) }
        try runner.run(layers: com.packed, input: padded, inputWidth: pw, inputHeight: ph,
                   base: compact, output: compact, outputWidth: cw, outputHeight: ch)
    }

    /// Writes the `width x height` reconstruction of the decoded compact image (which must be
    /// ceil(width / 2) x ceil(height / 2)) to `output`.
    public func reconstruct(
        compact: UnsafePointer<UInt8>, compactWidth: Int, compactHeight: Int,
        width: Int, height: Int, output: UnsafeMutablePointer<UInt8>, runner: NetworkRunner
    ) throws(AllocationFailure) {
        precondition(width > 0 && height > 0)
        precondition(compactWidth == (width + 1) / 2 && compactHeight == (height + 1) / 2,
                     "the compact image must be ceil(W/2) x ceil(H/2)")
        precondition(!isEnhancer, "an enhancer model has no compact image: use enhance")
        switch rec.role {
        case .reccnnDecoded:
            upsample2xBicubicFast(src: compact, srcWidth: compactWidth, srcHeight: compactHeight, channels: 3,
                              dst: output, dstWidth: width, rows: 0..<height)
            try runner.run(layers: rec.packed, input: compact, inputWidth: compactWidth, inputHeight: compactHeight,
                       base: output, output: output, outputWidth: width, outputHeight: height)
        case .reccnnUpsampled, .comcnn, .enhancer:
            let up = try allocateLarge(UInt8.self, count: width * height * 3)
            defer { releaseLarge(up) }
            upsample2xBicubicFast(src: compact, srcWidth: compactWidth, srcHeight: compactHeight, channels: 3,
                              dst: up, dstWidth: width, rows: 0..<height)
            try runner.run(layers: rec.packed, input: up, inputWidth: width, inputHeight: height,
                       base: up, output: output, outputWidth: width, outputHeight: height)
        }
    }

    /// Writes the enhancement of the decoded full-resolution `image` (`width x height`) to
    /// `output` (same size; it may not alias `image`).
    public func enhance(
        image: UnsafePointer<UInt8>, width: Int, height: Int, output: UnsafeMutablePointer<UInt8>, runner: NetworkRunner
    ) throws(AllocationFailure) {
        precondition(width > 0 && height > 0)
        precondition(isEnhancer, "enhance needs a full-resolution enhancer model")
        let halves = rec.shapes.contains { $0.stride == 2 }
        let pw = halves ? (width + 1) & ~1 : width, ph = halves ? (height + 1) & ~1 : height
        guard pw != width || ph != height else {
            try runner.run(layers: rec.packed, input: image, inputWidth: width, inputHeight: height,
                       base: image, output: output, outputWidth: width, outputHeight: height)
            return
        }
        let padded = try replicatePadToEven(image, width: width, height: height)
        defer { releaseLarge(padded) }
        try runner.run(layers: rec.packed, input: padded, inputWidth: pw, inputHeight: ph,
                   base: image, output: output, outputWidth: width, outputHeight: height)
    }
}

/// A new RGB8 copy of `image` with its last column and/or row repeated so that both sizes are
/// even (ComCNN's and the fast enhancer's input). The caller gives it back with `releaseLarge`.
private func replicatePadToEven(
    _ image: UnsafePointer<UInt8>, width: Int, height: Int
) throws(AllocationFailure) -> UnsafeMutablePointer<UInt8> {
    let pw = (width + 1) & ~1, ph = (height + 1) & ~1
    let padded = try allocateLarge(UInt8.self, count: pw * ph * 3)
    for y in 0..<ph {
        let src = image + min(y, height - 1) * width * 3, dst = padded + y * pw * 3
        dst.update(from: src, count: width * 3)
        if pw > width { (dst + width * 3).update(from: src + (width - 1) * 3, count: 3) }
    }
    return padded
}
