/*
 * ComRec C API: encode and decode ComRec files (JPEGs with a ComRec segment) from C, on boards
 * and hosts alike. Link libcomrec.a (or libcomrec.so) and libjpeg; nothing else. docs/embedding.md
 * explains the memory model, the threads and every function with an example.
 *
 * Conventions:
 * - Every function that can fail returns a comrec_status; comrec_status_string() gives a static
 *   one-line message for it, and comrec_context_message() the details of a context's last failure.
 * - Nothing prints, aborts or exits. No global mutable state: contexts share nothing but the
 *   read-only weights, so two contexts may run on two threads at once. One context runs one call
 *   at a time.
 * - Pixel memory comes only from the caller: decoding and encoding use the caller's arena (sized
 *   by the *_arena_bytes functions, which depend on the width and not on the height) and hand
 *   rows to and take rows from the caller's callbacks. A decode reads the caller's file bytes in
 *   place and, in the static libraries, keeps libjpeg's state in the arena too; a few small
 *   records of its plan come from the heap (the same for every file; docs/embedding.md). From the
 *   heap as well: a progressive file's DCT coefficients, and an encode's libjpeg state and (with
 *   the optimised Huffman tables every ComRec file has) the stored image's coefficients.
 * - Images are interleaved 8-bit RGB, rows of width * 3 bytes.
 */
#ifndef COMREC_H
#define COMREC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Version of this header's API; comrec_api_version() returns the library's. */
#define COMREC_API_VERSION 6

typedef enum comrec_status {
    COMREC_OK = 0,
    /** A NULL pointer where one is needed, a value out of range, an unknown profile name. */
    COMREC_ERROR_ARGUMENT = 1,
    /** Not a JPEG, or a JPEG without a ComRec segment. */
    COMREC_ERROR_NOT_COMREC = 2,
    /** Truncated or corrupt JPEG data or ComRec segment. */
    COMREC_ERROR_CORRUPT = 3,
    /** A format version, mode or profile that this build does not have. */
    COMREC_ERROR_UNSUPPORTED = 4,
    /** The file was made with other weights than this build's for its profile. */
    COMREC_ERROR_MODEL_MISMATCH = 5,
    /** More pixels than the context's limit (or than JPEG allows), an auto-mode or size-target
     *  encode whose whole image needs more memory than the system grants, or memory of the
     *  image's size that the system refused during the call (comrec_context_message names the
     *  bytes). */
    COMREC_ERROR_TOO_LARGE = 6,
    /** The arena is smaller than the matching *_arena_bytes function says. */
    COMREC_ERROR_ARENA_TOO_SMALL = 7,
    /** A callback returned non-zero: the call stopped there. */
    COMREC_ERROR_CALLBACK = 8,
    /** The context's threads could not be created. */
    COMREC_ERROR_THREADS = 9,
    /** libjpeg could not encode. */
    COMREC_ERROR_ENCODE = 10,
} comrec_status;

/** Whether a file stores a half-size compact image (rebuilt by a network) or the image itself;
 *  AUTO (encode only) chooses per image as `comrec encode --mode auto` does. */
#define COMREC_MODE_HALF 0
#define COMREC_MODE_FULL 1
#define COMREC_MODE_AUTO 2

/* ---- Build information ---------------------------------------------------------------------- */

/** A static one-line message for `status` (never NULL; unknown codes get a message too). */
const char *comrec_status_string(int status);
/** The library's API version (COMREC_API_VERSION of the header it was built with). */
int comrec_api_version(void);
/** The library version, e.g. "0.2.0". */
const char *comrec_version(void);
/** The convolution kernel family compiled in: "neondot", "neon" or "portable". */
const char *comrec_kernel_family(void);
/** Number of profiles in this build; names by index (NULL out of range). */
int comrec_profile_count(void);
const char *comrec_profile_name(int index);
/** The model hash a file of profile `index` records in `mode` (0 out of range; in full mode,
 *  for qualities the profile's enhancer improves, the enhancer of trellis-quantised files, the
 *  default: a file written with `trellis = 0` records the profile's enhancer for rounded JPEGs,
 *  which for `tiny` and `fast` is another network, docs/format.md). */
uint64_t comrec_profile_model_hash(int index, int mode);

/* ---- Contexts ------------------------------------------------------------------------------- */

typedef struct comrec_context comrec_context;

/** Creates a context that runs networks on `threads` threads (1...64; 1 creates no thread, the
 *  caller's thread does all the work). Decodes the weights of every profile once. */
comrec_status comrec_context_create(int threads, comrec_context **context);
/** Joins the context's threads and frees it (NULL is ignored). */
void comrec_context_destroy(comrec_context *context);
/** Details of the context's last failure ("" after a success); valid until its next call. */
const char *comrec_context_message(const comrec_context *context);
/** The largest image (in pixels) the context decodes or encodes; default 100 000 000. */
comrec_status comrec_context_set_max_pixels(comrec_context *context, uint64_t max_pixels);

/** How the context computes its 3x3 convolutions (the bytes are the same either way):
 *  MEASURED (the default) picks per layer whatever measured faster for the build's kernels;
 *  DIRECT needs the least arena (Winograd layers keep 5 rows per layer instead of 3); WINOGRAD
 *  uses Winograd F(2x2, 3x3) wherever a layer allows it. The arena sizes depend on this choice:
 *  query them after setting it. */
#define COMREC_CONVOLUTION_MEASURED 0
#define COMREC_CONVOLUTION_DIRECT 1
#define COMREC_CONVOLUTION_WINOGRAD 2
comrec_status comrec_context_set_convolution(comrec_context *context, int choice);

/* ---- Reading a file's facts ----------------------------------------------------------------- */

typedef struct comrec_info {
    uint32_t width, height;               /**< the image's size */
    uint32_t stored_width, stored_height; /**< the JPEG's size (half of it in half mode) */
    int mode;                             /**< COMREC_MODE_HALF or COMREC_MODE_FULL */
    int quality;                          /**< JPEG quality of the stored image */
    int progressive;                      /**< 1 for a progressive JPEG */
    int decodable;                        /**< 1 when this build has the file's model */
    uint64_t model_hash;
    char profile[17];                     /**< NUL-terminated */
} comrec_info;

/** Reads the segment and JPEG header of `data` (no pixels decoded). */
comrec_status comrec_read_info(const uint8_t *data, size_t size, comrec_info *info);

/* ---- Decoding ------------------------------------------------------------------------------- */

/** Receives output row `y` (top to bottom, each once): `width` RGB pixels, valid during the
 *  call. Return 0 to go on, non-zero to stop the decode with COMREC_ERROR_CALLBACK. */
typedef int (*comrec_row_callback)(void *user, uint32_t y, const uint8_t *rgb, uint32_t width);

/** Arena bytes that decoding any file of profile `profile` in `mode` with images up to `width`
 *  pixels wide needs, whatever the height, with the context's convolution choice (0 for an
 *  unknown profile, a width of 0, or an arena larger than the address space: on a 32-bit board,
 *  a very wide image on many threads). A NULL profile in COMREC_MODE_FULL gives the arena of a
 *  full-mode file that holds a plain JPEG (no enhancer), which every build decodes whatever its
 *  profile. */
size_t comrec_decode_arena_bytes(const comrec_context *context, const char *profile, int mode, uint32_t width);
/** The smallest arena that decodes the same files: with COMREC_CONVOLUTION_MEASURED, a decode
 *  given less than comrec_decode_arena_bytes but at least this runs with direct convolutions
 *  (slower where Winograd measured faster; the same bytes). Equal to comrec_decode_arena_bytes
 *  when the caller forced a convolution choice. */
size_t comrec_decode_arena_bytes_minimum(const comrec_context *context, const char *profile, int mode, uint32_t width);
/** Arena bytes that decoding the file `data` needs with the context's convolution choice (at most
 *  comrec_decode_arena_bytes; less will do down to the minimum above). */
comrec_status comrec_decode_arena_bytes_for_file(
    const comrec_context *context, const uint8_t *data, size_t size, size_t *bytes);
/** Decodes the ComRec file `data`, giving each row of the image to `row`. The arena (any
 *  alignment) must hold the bytes the functions above say: what the context's convolution choice
 *  needs, or with COMREC_CONVOLUTION_MEASURED at least what direct convolutions need. */
comrec_status comrec_decode(
    comrec_context *context, const uint8_t *data, size_t size, void *arena, size_t arena_bytes,
    comrec_row_callback row, void *user);

/* ---- Encoding ------------------------------------------------------------------------------- */

/** Fills `rgb` with input row `y` (asked top to bottom, each once): `width` RGB pixels. Return 0,
 *  or non-zero to stop the encode with COMREC_ERROR_CALLBACK. */
typedef int (*comrec_read_callback)(void *user, uint32_t y, uint8_t *rgb, uint32_t width);
/** Receives the next `size` bytes of the file. Return 0, or non-zero to stop the encode with
 *  COMREC_ERROR_CALLBACK (the bytes written so far are not a file). */
typedef int (*comrec_write_callback)(void *user, const uint8_t *bytes, size_t size);

typedef struct comrec_encode_options {
    const char *profile; /**< a profile name; NULL: "fast" (what `comrec encode` uses) */
    int quality;         /**< JPEG quality 1...100 of the stored image (in AUTO mode, the size
                              budget of a plain JPEG at that quality); default 75 */
    int mode;            /**< COMREC_MODE_HALF (default), COMREC_MODE_FULL or COMREC_MODE_AUTO */
    int progressive;     /**< the layout of the JPEG's scans (the same pixels whichever): 0
                              (default) one baseline scan, which a decoder streams a row at a time
                              without holding the coefficients; 1 libjpeg's standard progression
                              (`--scans progressive`); 2 the smallest of baseline and three
                              progressive scripts, each written in full (`--scans smallest`, what
                              `comrec encode` writes by default): a few percent smaller from about
                              0.3 bits per pixel up; such an encode holds the image whole (never
                              streamed) */
    double max_bits_per_pixel; /**< > 0: the largest file of at most this many bits per pixel
                                    (`comrec encode --bpp`), `quality` ignored; default 0 */
    int effort;          /**< AUTO mode: 1 by the profile's rule (docs/modes.md), 2 by encoding and
                              decoding both modes (`--effort`); default 1 */
    /* Metadata written into the file as `comrec encode` writes an input's (docs/format.md,
     * "Metadata"); each NULL (the default) for none, else valid for the call. */
    const uint8_t *exif; /**< the EXIF block: a TIFF structure ("II*\0" or "MM\0*"), without
                              JPEG's "Exif\0\0"; at most 65527 bytes (one APP1 segment) */
    size_t exif_bytes;
    const uint8_t *xmp;  /**< the XMP packet (UTF-8 XML); at most 65504 bytes */
    size_t xmp_bytes;
    const uint8_t *icc;  /**< the ICC colour profile; at most 255 APP2 chunks (16.7 MB) */
    size_t icc_bytes;
    int trellis;         /**< 1 (default): the stored JPEG is trellis-quantised (smaller for the
                              same error, as `comrec encode`); 0: rounded by libjpeg's own encoder
                              (`--no-trellis`). In half mode only where the profile's RecCNN learnt
                              from trellis JPEGs (`fast` with its own tables); else rounded. */
    int optimize_huffman; /**< 1 (default): Huffman tables made for the image, as `comrec encode`
                               writes (a few percent smaller; libjpeg then keeps the stored image's
                               coefficients, about 3.6 bytes per stored pixel, on the heap); 0:
                               JPEG's standard tables, and a streamed encode (HALF, or FULL with
                               trellis 0) takes nothing from the heap: docs/embedding.md
                               (progressive scans, `progressive` 1 or 2, always get tables made
                               for the image: libjpeg has no standard ones for them) */
    int tables;          /**< the stored JPEG's quantisation tables: 0 (default) the profile's, those
                              its networks learnt from (ComRec's; the standard's for `paper`), as
                              `comrec encode`; 1 ComRec's, made for squared error (`--tables
                              comrec`); 2 the JPEG standard's, as plain libjpeg (`--tables
                              standard`). Either way an ordinary JPEG: docs/format.md */
} comrec_encode_options;

/** Fills `options` with the defaults: profile fast, quality 75, half mode, baseline (progressive
 *  0), no size target, effort 1, trellis 1, optimize_huffman 1, tables 0. (The CLI's default mode
 *  is auto and its default scans the smallest, progressive 2: see comrec_encode.) */
void comrec_encode_options_init(comrec_encode_options *options);
/** Arena bytes that encoding an image up to `width` pixels wide with `options` (NULL: the
 *  defaults) needs, whatever the height (0 for invalid options, a width of 0, a width whose
 *  stored JPEG would be wider than 65500 pixels, or an arena larger than the address space). */
size_t comrec_encode_arena_bytes(const comrec_context *context, const comrec_encode_options *options, uint32_t width);
/** Encodes a `width` x `height` image whose rows `read` gives into a ComRec file that goes to
 *  `write` (`options` NULL: the defaults): the bytes of `comrec encode --profile P --mode M
 *  --quality Q --scans S` (or `--bpp B`, `--effort E`) on the same image, S being baseline,
 *  progressive or smallest for `progressive` 0, 1 or 2.
 *  HALF at a quality, and FULL at a quality with trellis 0, stream (unless progressive is 2):
 *  the rows go through the networks into libjpeg as they come, in the arena; where HALF's compact
 *  image is trellis-quantised (`fast`'s, trellis 1), the rows stream through ComCNN in the arena
 *  into a compact image of a quarter of the pixels, held whole (about 10 bytes per compact pixel
 *  of memory of its own) for the trellis. AUTO mode, a bits-per-pixel target, FULL with trellis
 *  (which chooses each block's coefficients from the whole image's statistics) and progressive 2
 *  (each layout of scans written in full) read the whole image into memory of their own (width x
 *  height x 3 bytes, the candidates' files, and for trellis 6 bytes per pixel of planes and
 *  coefficients) and need only a small arena. */
comrec_status comrec_encode(
    comrec_context *context, uint32_t width, uint32_t height, comrec_read_callback read, void *read_user,
    const comrec_encode_options *options, void *arena, size_t arena_bytes, comrec_write_callback write,
    void *write_user);

#ifdef __cplusplus
}
#endif

#endif
