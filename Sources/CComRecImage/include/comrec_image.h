// C wrappers around libjpeg (libjpeg-turbo) and libpng for ComRecIO.
//
// Both libraries report fatal errors by calling an error handler that must not return: the
// default one calls exit(), and the usual fix is setjmp/longjmp, which Swift code cannot survive.
// Every call into the libraries therefore happens in this target, behind setjmp; a failure comes
// back as a non-zero return (or NULL) and a one-line message in the caller's `error` buffer.
// Nothing here prints, exits or aborts.
#ifndef COMREC_IMAGE_H
#define COMREC_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Size of every `error` buffer passed to this API (message plus terminating NUL).
#define CRC_ERROR_SIZE 256

/// Frees a buffer returned by crc_jpeg_encode or crc_png_encode.
void crc_free(void *buffer);

// MARK: JPEG

typedef struct crc_jpeg_encode_options {
    int quality;          ///< 1...100, libjpeg's scale (jpeg_set_quality, baseline tables forced)
    /// NULL: the example tables of the JPEG standard (Annex K), as libjpeg writes them. Otherwise
    /// 128 values, luma then chroma, natural (row-major) order: the tables at quality 50, scaled
    /// for `quality` as libjpeg scales Annex K's (jpeg_quality_scaling, values 1...255).
    const unsigned int *base_tables;
    int chroma444;        ///< 0: 4:2:0 (chroma halved both ways), 1: 4:4:4 (full chroma)
    int optimize_coding;  ///< 1: optimised Huffman tables (two passes), 0: standard tables
    int scans;            ///< CRC_JPEG_SCANS_BASELINE, _PROGRESSIVE or _SMALLEST
} crc_jpeg_encode_options;

/// How the coefficients are laid out in scans. Every choice stores the same coefficients, so the
/// same pixels; only the file's size and how a decoder reads it differ.
enum {
    /// One sequential scan: a decoder can stream rows without holding the coefficients.
    CRC_JPEG_SCANS_BASELINE = 0,
    /// libjpeg's standard progression (jpeg_simple_progression: 10 scans for colour).
    CRC_JPEG_SCANS_PROGRESSIVE = 1,
    /// The smallest file of one baseline scan and three progressive scripts of 5 to 7 scans (2 to
    /// 4 for grey; spectral selection and one bit of successive approximation for luma), each
    /// written in full. Only the whole-image encoders; the row encoder refuses it.
    CRC_JPEG_SCANS_SMALLEST = 2,
};

/// An APPn or COM segment: `code` is the marker (0xE0 + n for APPn, 0xFE for COM), `data` the
/// payload after the two length bytes (at most 65533 bytes).
typedef struct crc_jpeg_marker {
    int code;
    const uint8_t *data;
    size_t length;
} crc_jpeg_marker;

/// Compresses `width` x `height` interleaved 8-bit pixels (`components` 1: grey, 3: RGB, rows
/// packed) into a new buffer (*out, *out_size; free with crc_free). The markers are written right
/// after the JFIF APP0 segment, in order. Returns 0 on success, -1 with a message on failure.
int crc_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int components,
                    const crc_jpeg_encode_options *options,
                    const crc_jpeg_marker *markers, int marker_count,
                    uint8_t **out, size_t *out_size, char *error);

/// Blocks of 8x8 coefficients of one component of a `width` x `height` image with `components`
/// (1 or 3) and 4:2:0 (chroma444 0) or 4:4:4 sampling, as libjpeg counts them (without the
/// padding to whole MCUs). Returns 0, or -1 for an invalid component or size.
int crc_jpeg_component_blocks(uint32_t width, uint32_t height, int components, int chroma444, int component,
                              uint32_t *width_in_blocks, uint32_t *height_in_blocks);

/// Writes a JPEG from quantised coefficients (jpeg_write_coefficients) with the quantisation
/// tables, sampling and coding that crc_jpeg_encode uses for `options`. `blocks[c]` holds component
/// c's blocks row by row (crc_jpeg_component_blocks), 64 coefficients each in natural (row-major)
/// order, already divided by the table's steps. Output and errors as crc_jpeg_encode.
int crc_jpeg_encode_coefficients(uint32_t width, uint32_t height, int components,
                                 const crc_jpeg_encode_options *options, const int16_t *const *blocks,
                                 const crc_jpeg_marker *markers, int marker_count,
                                 uint8_t **out, size_t *out_size, char *error);

/// Receives encoded bytes; returns 0, or non-zero to stop the encode (an error).
typedef int (*crc_write_fn)(void *user, const uint8_t *bytes, size_t size);

/// The same encode (same settings, same bytes) a row at a time, the file going to `write` in
/// pieces of at most 4096 bytes. Memory: libjpeg's state, which with optimised Huffman tables or
/// progressive coding holds the image's coefficients. Create (NULL with a message on failure),
/// write each row top to bottom (width * components bytes), finish; each returns 0, or -1 with a
/// message, after which only destroy is allowed.
typedef struct crc_jpeg_row_encoder crc_jpeg_row_encoder;
crc_jpeg_row_encoder *crc_jpeg_row_encoder_create(uint32_t width, uint32_t height, int components,
                                                  const crc_jpeg_encode_options *options,
                                                  const crc_jpeg_marker *markers, int marker_count,
                                                  crc_write_fn write, void *user, char *error);
int crc_jpeg_row_encoder_write(crc_jpeg_row_encoder *encoder, const uint8_t *row, char *error);
int crc_jpeg_row_encoder_finish(crc_jpeg_row_encoder *encoder, char *error);
void crc_jpeg_row_encoder_destroy(crc_jpeg_row_encoder *encoder);

/// A JPEG decoder that has read the file's header (everything up to the first scan).
typedef struct crc_jpeg_decoder crc_jpeg_decoder;

/// What a decoder accepts (docs/security.md): the limits that bound the work of a hostile file,
/// and whether damaged data is an error.
typedef struct crc_jpeg_rules {
    /// Scans a progressive JPEG may have (each scan costs a pass over the whole image); >= 1.
    int max_scans;
    /// APPn and COM segments before the image data, and their payload bytes in all.
    int max_segments;
    size_t max_segment_bytes;
    /// 0: libjpeg's corrupt-data warnings (truncated file, bad Huffman code, ...) are errors.
    /// 1: they are counted (crc_jpeg_warning_count) and libjpeg patches the image as it can.
    int lenient;
    /// 0: an arithmetic-coded JPEG's pixels are refused (its header can be read). An arithmetic
    /// decoder goes on with zeros where the data ends, legally, so a few hundred bytes can make
    /// the largest image the pixel limit allows. 1: decoded.
    int allow_arithmetic;
} crc_jpeg_rules;

#define CRC_JPEG_DEFAULT_MAX_SCANS 100
#define CRC_JPEG_DEFAULT_MAX_SEGMENTS 4096
#define CRC_JPEG_DEFAULT_MAX_SEGMENT_BYTES (16u << 20)
/// The defaults above, strict.
crc_jpeg_rules crc_jpeg_default_rules(void);

/// Reads the header of the JPEG in `data` (which must stay valid until crc_jpeg_decoder_destroy),
/// keeping a copy of every APPn and COM segment before the image data, within `rules` (NULL: the
/// defaults). Returns NULL with a message on failure.
crc_jpeg_decoder *crc_jpeg_decoder_create(const uint8_t *data, size_t size, const crc_jpeg_rules *rules, char *error);

/// Memory for decoders taken from a caller's buffer instead of the heap: a bump allocator over
/// `base[0 ..< size]`. A decoder created in it puts there itself, its copies of the segments and,
/// in a build with CRC_JPEG_MEMORY_HOOKS linked with a static libjpeg (jpeg.c says how), every
/// allocation libjpeg makes for it. What does not fit comes from the heap: a progressive or
/// multi-scan file's whole-image coefficients, which crc_jpeg_row_decode_bytes does not cover.
/// Destroying the decoder gives back everything it took (decoders in one memory are destroyed
/// last-made first).
typedef struct crc_jpeg_memory {
    uint8_t *base;
    size_t size;
    size_t used;
} crc_jpeg_memory;

/// crc_jpeg_decoder_create in `memory` (NULL: the heap), keeping only the segments whose marker
/// is `keep_marker` (0: every APPn and COM segment; -1: none). Segments not kept still count
/// against the rules' limits. When memory runs out (the heap too) the decoder fails with a
/// message that begins with CRC_JPEG_OUT_OF_MEMORY.
crc_jpeg_decoder *crc_jpeg_decoder_create_in(const uint8_t *data, size_t size, const crc_jpeg_rules *rules,
                                             crc_jpeg_memory *memory, int keep_marker, char *error);
#define CRC_JPEG_OUT_OF_MEMORY "out of memory"
/// Memory that always suffices for a decoder in a crc_jpeg_memory and its row decode, without
/// segment copies: a sequential (one-scan) JPEG `width` pixels wide, of up to 3 components with
/// sampling factors up to 2.
size_t crc_jpeg_row_decode_bytes(uint32_t width);

/// crc_jpeg_row_encoder_create in `memory` (NULL: the heap): the encoder and, with
/// CRC_JPEG_MEMORY_HOOKS and a static libjpeg, every allocation libjpeg makes for it; what does
/// not fit (with optimised Huffman tables, the whole image's coefficients) comes from the heap.
/// Destroying the encoder gives its memory back.
crc_jpeg_row_encoder *crc_jpeg_row_encoder_create_in(uint32_t width, uint32_t height, int components,
                                                     const crc_jpeg_encode_options *options,
                                                     const crc_jpeg_marker *markers, int marker_count,
                                                     crc_write_fn write, void *user, crc_jpeg_memory *memory,
                                                     char *error);
/// Memory that always suffices for a row encoder in a crc_jpeg_memory writing a 4:2:0 colour JPEG
/// `width` pixels wide with standard Huffman tables (optimize_coding 0).
size_t crc_jpeg_row_encode_bytes(uint32_t width);

/// Corrupt-data warnings so far (always 0 for a strict decoder: the first one is an error), and
/// the first one's message ("" if none).
int crc_jpeg_warning_count(const crc_jpeg_decoder *decoder);
const char *crc_jpeg_first_warning(const crc_jpeg_decoder *decoder);
/// The rows already decoded when the first warning came: every later row may hold patched
/// pixels (0 when it came while reading the header or a progressive file's scans).
uint32_t crc_jpeg_first_warning_row(const crc_jpeg_decoder *decoder);
void crc_jpeg_decoder_destroy(crc_jpeg_decoder *decoder);

uint32_t crc_jpeg_width(const crc_jpeg_decoder *decoder);
uint32_t crc_jpeg_height(const crc_jpeg_decoder *decoder);
/// Number of colour components in the file (1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK).
int crc_jpeg_components(const crc_jpeg_decoder *decoder);
/// 1 when the file is progressive.
int crc_jpeg_progressive(const crc_jpeg_decoder *decoder);

/// The quantisation table of component `component` (0-based) in natural (row-major) order, as
/// the header's DQT segments define it. Returns 0, or -1 when the component does not exist or its
/// table has not been defined before the frame header.
int crc_jpeg_quant_table(const crc_jpeg_decoder *decoder, int component, uint16_t table[64]);

int crc_jpeg_marker_count(const crc_jpeg_decoder *decoder);
/// The `index`th saved segment, in file order. Returns 0, or -1 when `index` is out of range.
int crc_jpeg_marker_at(const crc_jpeg_decoder *decoder, int index, crc_jpeg_marker *marker);

/// Decodes the image as interleaved RGB (3 bytes per pixel, rows packed) into `rgb`, which must
/// hold width * height * 3 bytes. Uses the accurate integer inverse DCT (JDCT_ISLOW) and fancy
/// upsampling, so output is deterministic for a given libjpeg-turbo. Corrupt-data warnings
/// (truncated file, bad Huffman code, ...) are errors unless the rules are lenient.
/// Returns 0 on success, -1 with a message on failure. Call at most once per decoder.
int crc_jpeg_decode_rgb(crc_jpeg_decoder *decoder, uint8_t *rgb, char *error);

/// The same decode a row at a time, so that memory does not grow with the image height (except
/// libjpeg's own coefficient buffer of a progressive file): start once, read each row top to
/// bottom into `row` (width * 3 bytes), then finish (which checks the rest of the data). Each
/// returns 0, or -1 with a message; after a failure the decoder only accepts destroy.
int crc_jpeg_start_rgb_rows(crc_jpeg_decoder *decoder, char *error);
int crc_jpeg_read_rgb_row(crc_jpeg_decoder *decoder, uint8_t *row, char *error);
int crc_jpeg_finish_rows(crc_jpeg_decoder *decoder, char *error);


// MARK: PNG

/// A PNG reader that has read the file's header (signature, IHDR and chunks before IDAT).
typedef struct crc_png_reader crc_png_reader;

/// Reads the header of the PNG in `data` (which must stay valid until crc_png_reader_destroy).
/// Returns NULL with a message on failure.
crc_png_reader *crc_png_reader_create(const uint8_t *data, size_t size, char *error);
void crc_png_reader_destroy(crc_png_reader *reader);

uint32_t crc_png_width(const crc_png_reader *reader);
uint32_t crc_png_height(const crc_png_reader *reader);
int crc_png_bit_depth(const crc_png_reader *reader);
/// PNG colour type: 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGB + alpha.
int crc_png_color_type(const crc_png_reader *reader);
/// 1 when the image has an alpha channel or a tRNS chunk (transparency may still be unused).
int crc_png_has_alpha(const crc_png_reader *reader);

/// Decodes to interleaved 8-bit pixels: `channels` 3 (RGB) or 4 (RGBA; alpha 255 where the file
/// has none). Palette and grey expand to RGB, tRNS to alpha, 16-bit samples scale to 8 bits with
/// rounding (png_set_scale_16). Interlaced images are handled. The whole file is read, so a file
/// truncated anywhere before IEND is an error. Gamma and colour chunks are ignored (samples are
/// taken as they are stored). Returns 0, or -1 with a message. Call at most once per reader.
int crc_png_decode(crc_png_reader *reader, uint8_t *pixels, int channels, char *error);

/// A chunk the writers put into the PNG as given (metadata: eXIf, iTXt, iCCP): `name` is the
/// four-letter chunk type, `data` its complete data (libpng adds the length and the CRC).
typedef struct crc_png_chunk {
    char name[5];
    const uint8_t *data;
    size_t length;
} crc_png_chunk;

/// Writes `width` x `height` interleaved 8-bit pixels (`channels` 1: grey, 3: RGB, 4: RGBA) as a
/// non-interlaced 8-bit PNG into a new buffer (*out, *out_size; free with crc_free), with zlib
/// compression `level` (0-9; libpng's adaptive row filters). The `chunks` are written after IHDR,
/// before the image data, in order. Returns 0, or -1 with a message.
int crc_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels, int level,
                   const crc_png_chunk *chunks, int chunk_count, uint8_t **out, size_t *out_size, char *error);

/// A PNG written a row at a time straight to a file descriptor (memory: one row and zlib's state).
typedef struct crc_png_writer crc_png_writer;

/// Starts a non-interlaced 8-bit PNG of `width` x `height` (`channels` 1, 3 or 4) on `fd`, zlib
/// `level` 0-9, and writes the header: IHDR, then `chunks` in order (so metadata precedes the
/// first row's image data). Returns NULL with a message on failure.
crc_png_writer *crc_png_writer_create(int fd, uint32_t width, uint32_t height, int channels, int level,
                                      const crc_png_chunk *chunks, int chunk_count, char *error);
/// Writes the next row (width * channels bytes). Returns 0, or -1 with a message.
int crc_png_writer_row(crc_png_writer *writer, const uint8_t *row, char *error);
/// Writes the end of the file after the last row. Returns 0, or -1 with a message.
int crc_png_writer_finish(crc_png_writer *writer, char *error);
void crc_png_writer_destroy(crc_png_writer *writer);

// MARK: zlib (PNG metadata chunks: iCCP profiles, compressed iTXt)

/// Compresses `size` bytes into a new zlib stream (*out, *out_size; free with crc_free) at zlib's
/// level 9. Returns 0, or -1 with a message.
int crc_zlib_compress(const uint8_t *data, size_t size, uint8_t **out, size_t *out_size, char *error);
/// Inflates the complete zlib stream in `data` into a new buffer (*out, *out_size; free with
/// crc_free), refusing a stream that is corrupt, ends early or inflates to more than `max_size`
/// bytes. Returns 0, or -1 with a message.
int crc_zlib_inflate(const uint8_t *data, size_t size, size_t max_size, uint8_t **out, size_t *out_size, char *error);
/// The CRC-32 of `size` bytes, as PNG chunks and zlib use it.
uint32_t crc_crc32(const uint8_t *data, size_t size);

#ifdef __cplusplus
}
#endif

#endif
