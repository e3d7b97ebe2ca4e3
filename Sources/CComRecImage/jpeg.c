// libjpeg (libjpeg-turbo) behind setjmp: see include/comrec_image.h.
//
// All state that must survive a longjmp lives in heap memory reached through a pointer that is not
// modified after setjmp, so it is well defined after the jump (C11 7.13.2.1).
#include "comrec_image.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

void crc_free(void *buffer) { free(buffer); }

static void set_error(char *error, const char *message) {
    if (error) snprintf(error, CRC_ERROR_SIZE, "%s", message);
}

// MARK: Error manager

typedef struct crc_error_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    int lenient;                          // count corrupt-data warnings instead of failing
    char first_warning[JMSG_LENGTH_MAX];  // the first counted warning ("" if none)
    long first_warning_row;               // rows decoded before it (0 while reading the header or scans)
    crc_jpeg_memory *memory;              // where libjpeg's memory for this object comes from (NULL: the heap)
} crc_error_mgr;

static void crc_error_exit(j_common_ptr cinfo) {
    crc_error_mgr *err = (crc_error_mgr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    if (cinfo->err->msg_code == JERR_OUT_OF_MEMORY) {
        // One prefix for every allocation that failed, libjpeg's or ours (comrec_image.h).
        char detail[JMSG_LENGTH_MAX];
        memcpy(detail, err->message, sizeof detail);
        snprintf(err->message, sizeof err->message, "%s in libjpeg (%.150s)", CRC_JPEG_OUT_OF_MEMORY, detail);
    }
    longjmp(err->jump, 1);
}

// Level -1 is a warning about corrupt data (truncated file, bad Huffman code, extraneous bytes).
// libjpeg would carry on and patch the image; a codec must not return invented pixels, so a
// warning is an error here, unless the caller asked to rescue what it can (lenient): then the
// warnings are counted for the caller to report. Levels >= 0 are trace messages: ignored.
static void crc_emit_message(j_common_ptr cinfo, int msg_level) {
    if (msg_level >= 0) return;
    crc_error_mgr *err = (crc_error_mgr *)cinfo->err;
    if (!err->lenient) crc_error_exit(cinfo);
    if (err->pub.num_warnings++ == 0) {
        (*cinfo->err->format_message)(cinfo, err->first_warning);
        err->first_warning_row = cinfo->is_decompressor ? (long)((j_decompress_ptr)cinfo)->output_scanline : 0;
    }
}

static void crc_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void install_error_manager(crc_error_mgr *err, struct jpeg_error_mgr **slot) {
    *slot = jpeg_std_error(&err->pub);
    err->pub.error_exit = crc_error_exit;
    err->pub.emit_message = crc_emit_message;
    err->pub.output_message = crc_output_message;
    err->message[0] = 0;
    err->lenient = 0;
    err->first_warning[0] = 0;
    err->first_warning_row = 0;
    err->memory = NULL;
}

// MARK: Memory destination (growable buffer we own, so an aborted encode can free it)

typedef struct crc_mem_dest {
    struct jpeg_destination_mgr pub;
    uint8_t *buffer;
    size_t capacity;
    size_t size;
} crc_mem_dest;

static void mem_init(j_compress_ptr cinfo) {
    crc_mem_dest *dest = (crc_mem_dest *)cinfo->dest;
    dest->capacity = 1 << 16;
    dest->buffer = malloc(dest->capacity);
    if (!dest->buffer) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 0);
    dest->pub.next_output_byte = dest->buffer;
    dest->pub.free_in_buffer = dest->capacity;
}

static boolean mem_empty(j_compress_ptr cinfo) {
    crc_mem_dest *dest = (crc_mem_dest *)cinfo->dest;
    size_t used = dest->capacity;  // libjpeg calls this only when the buffer is full
    uint8_t *grown = realloc(dest->buffer, 2 * dest->capacity);
    if (!grown) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 1);
    dest->buffer = grown;
    dest->capacity *= 2;
    dest->pub.next_output_byte = grown + used;
    dest->pub.free_in_buffer = dest->capacity - used;
    return TRUE;
}

static void mem_term(j_compress_ptr cinfo) {
    crc_mem_dest *dest = (crc_mem_dest *)cinfo->dest;
    dest->size = dest->capacity - dest->pub.free_in_buffer;
}

// MARK: Encode

// The settings every ComRec JPEG is written with (both encoders, so their bytes agree).
static void configure_compress(j_compress_ptr cinfo, uint32_t width, uint32_t height, int components,
                               const crc_jpeg_encode_options *options) {
    cinfo->image_width = width;
    cinfo->image_height = height;
    cinfo->input_components = components;
    cinfo->in_color_space = components == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(cinfo);
    jpeg_set_quality(cinfo, options->quality, TRUE);
    if (options->base_tables) {
        int scale = jpeg_quality_scaling(options->quality);
        jpeg_add_quant_table(cinfo, 0, options->base_tables, scale, TRUE);
        jpeg_add_quant_table(cinfo, 1, options->base_tables + 64, scale, TRUE);
    }
    cinfo->dct_method = JDCT_ISLOW;
    cinfo->optimize_coding = options->optimize_coding ? TRUE : FALSE;
    if (components == 3) {
        int luma = options->chroma444 ? 1 : 2;
        cinfo->comp_info[0].h_samp_factor = luma;
        cinfo->comp_info[0].v_samp_factor = luma;
        cinfo->comp_info[1].h_samp_factor = 1;
        cinfo->comp_info[1].v_samp_factor = 1;
        cinfo->comp_info[2].h_samp_factor = 1;
        cinfo->comp_info[2].v_samp_factor = 1;
    }
    if (options->scans == CRC_JPEG_SCANS_PROGRESSIVE) jpeg_simple_progression(cinfo);
}

// MARK: Scan scripts

// The progressive scripts CRC_JPEG_SCANS_SMALLEST tries beside one baseline scan. Chosen on
// training photos (docs/results.md, "Scan scripts"): each DC scan and each AC band gets its own
// optimised Huffman table, and chroma's long runs of empty blocks become end-of-band runs, which
// baseline cannot code. Which layout wins depends on the image and the rate: baseline mostly at
// the lowest rates (small files, where the scripts' extra tables cost more than they save), the
// scripts that send luma's AC in two halves of precision mostly at the higher ones.
#define SCAN(n, c0, c1, ss, se, ah, al) {n, {c0, c1, 0, 0}, ss, se, ah, al}
static const jpeg_scan_info colour_bands[] = {
    SCAN(1, 0, 0, 0, 0, 0, 0), SCAN(2, 1, 2, 0, 0, 0, 0),
    SCAN(1, 0, 0, 1, 63, 0, 0), SCAN(1, 1, 0, 1, 63, 0, 0), SCAN(1, 2, 0, 1, 63, 0, 0),
};
static const jpeg_scan_info colour_refined[] = {
    SCAN(1, 0, 0, 0, 0, 0, 0), SCAN(2, 1, 2, 0, 0, 0, 0),
    SCAN(1, 0, 0, 1, 63, 0, 1), SCAN(1, 1, 0, 1, 63, 0, 0), SCAN(1, 2, 0, 1, 63, 0, 0),
    SCAN(1, 0, 0, 1, 63, 1, 0),
};
static const jpeg_scan_info colour_low_band_refined[] = {
    SCAN(1, 0, 0, 0, 0, 0, 0), SCAN(2, 1, 2, 0, 0, 0, 0),
    SCAN(1, 0, 0, 1, 2, 0, 0), SCAN(1, 0, 0, 3, 63, 0, 1), SCAN(1, 1, 0, 1, 63, 0, 0), SCAN(1, 2, 0, 1, 63, 0, 0),
    SCAN(1, 0, 0, 3, 63, 1, 0),
};
static const jpeg_scan_info grey_bands[] = {SCAN(1, 0, 0, 0, 0, 0, 0), SCAN(1, 0, 0, 1, 63, 0, 0)};
static const jpeg_scan_info grey_refined[] = {
    SCAN(1, 0, 0, 0, 0, 0, 0), SCAN(1, 0, 0, 1, 63, 0, 1), SCAN(1, 0, 0, 1, 63, 1, 0),
};
static const jpeg_scan_info grey_low_band_refined[] = {
    SCAN(1, 0, 0, 0, 0, 0, 0), SCAN(1, 0, 0, 1, 2, 0, 0), SCAN(1, 0, 0, 3, 63, 0, 1), SCAN(1, 0, 0, 3, 63, 1, 0),
};
#undef SCAN

typedef struct scan_script {
    const jpeg_scan_info *scans;  // NULL: what the options say (one baseline scan for SMALLEST)
    int count;
} scan_script;

#define SCRIPT(a) {a, (int)(sizeof a / sizeof a[0])}
static const scan_script colour_scripts[] = {{NULL, 0}, SCRIPT(colour_bands), SCRIPT(colour_refined),
                                             SCRIPT(colour_low_band_refined)};
static const scan_script grey_scripts[] = {{NULL, 0}, SCRIPT(grey_bands), SCRIPT(grey_refined),
                                           SCRIPT(grey_low_band_refined)};
#undef SCRIPT

typedef struct encode_state {
    struct jpeg_compress_struct cinfo;
    crc_error_mgr jerr;
    crc_mem_dest dest;
    // The coefficient arrays of crc_jpeg_encode_coefficients: libjpeg keeps this pointer until
    // jpeg_finish_compress, so the list lives here, not on a stack frame that returns first.
    jvirt_barray_ptr arrays[3];
} encode_state;

// What every encoder refuses before touching libjpeg: 0, or -1 with a message.
static int check_encode_request(uint32_t width, uint32_t height, int components,
                                const crc_jpeg_encode_options *options, const crc_jpeg_marker *markers,
                                int marker_count, char *error) {
    if (components != 1 && components != 3) {
        set_error(error, "JPEG encoder takes 1 (grey) or 3 (RGB) components");
        return -1;
    }
    if (width == 0 || height == 0 || width > 65500 || height > 65500) {
        set_error(error, "a JPEG holds 1...65500 pixels per side");
        return -1;
    }
    if (options->quality < 1 || options->quality > 100) {
        set_error(error, "JPEG quality must be 1...100");
        return -1;
    }
    if (options->scans < CRC_JPEG_SCANS_BASELINE || options->scans > CRC_JPEG_SCANS_SMALLEST) {
        set_error(error, "JPEG scans must be CRC_JPEG_SCANS_BASELINE, _PROGRESSIVE or _SMALLEST");
        return -1;
    }
    for (int i = 0; i < marker_count; i++) {
        if (markers[i].length > 65533) {
            set_error(error, "JPEG marker segment longer than 65533 bytes");
            return -1;
        }
    }
    return 0;
}

static void write_markers(j_compress_ptr cinfo, const crc_jpeg_marker *markers, int marker_count) {
    for (int i = 0; i < marker_count; i++) {
        jpeg_write_marker(cinfo, markers[i].code, markers[i].data, (unsigned int)markers[i].length);
    }
}

int crc_jpeg_component_blocks(uint32_t width, uint32_t height, int components, int chroma444, int component,
                              uint32_t *width_in_blocks, uint32_t *height_in_blocks) {
    if (component < 0 || component >= components || width == 0 || height == 0) return -1;
    // libjpeg's rule (jcmaster.c initial_setup): ceil(size * own factor / (largest factor * 8)).
    uint32_t factor = (components == 3 && !chroma444 && component == 0) ? 2 : 1;
    uint32_t largest = (components == 3 && !chroma444) ? 2 : 1;
    *width_in_blocks = (uint32_t)(((uint64_t)width * factor + 8 * largest - 1) / (8 * largest));
    *height_in_blocks = (uint32_t)(((uint64_t)height * factor + 8 * largest - 1) / (8 * largest));
    return 0;
}

// Hands quantised coefficients to libjpeg (jpeg_write_coefficients): one array per component,
// padded to whole MCUs as libjpeg's coefficient writer reads them; it replaces the padding blocks
// with its own dummy blocks, so only the real ones are filled. `arrays` must outlive the encode.
static void write_coefficients(j_compress_ptr cinfo, const int16_t *const *blocks, int chroma444,
                               jvirt_barray_ptr *arrays) {
    int components = cinfo->input_components;
    for (int c = 0; c < components; c++) {
        jpeg_component_info *info = &cinfo->comp_info[c];
        uint32_t wide = 0, high = 0;
        crc_jpeg_component_blocks(cinfo->image_width, cinfo->image_height, components, chroma444, c, &wide, &high);
        JDIMENSION padded_wide = (JDIMENSION)((wide + info->h_samp_factor - 1) / info->h_samp_factor * info->h_samp_factor);
        JDIMENSION padded_high = (JDIMENSION)((high + info->v_samp_factor - 1) / info->v_samp_factor * info->v_samp_factor);
        arrays[c] = (*cinfo->mem->request_virt_barray)((j_common_ptr)cinfo, JPOOL_IMAGE, TRUE, padded_wide, padded_high,
                                                       (JDIMENSION)info->v_samp_factor);
    }
    (*cinfo->mem->realize_virt_arrays)((j_common_ptr)cinfo);
    for (int c = 0; c < components; c++) {
        uint32_t wide = 0, high = 0;
        crc_jpeg_component_blocks(cinfo->image_width, cinfo->image_height, components, chroma444, c, &wide, &high);
        for (uint32_t row = 0; row < high; row++) {
            JBLOCKARRAY line = (*cinfo->mem->access_virt_barray)((j_common_ptr)cinfo, arrays[c], row, 1, TRUE);
            const int16_t *source = blocks[c] + (size_t)row * wide * DCTSIZE2;
            for (uint32_t column = 0; column < wide; column++) {
                for (int k = 0; k < DCTSIZE2; k++) line[0][column][k] = (JCOEF)source[(size_t)column * DCTSIZE2 + k];
            }
        }
    }
    jpeg_write_coefficients(cinfo, arrays);
}

// One whole-image encode: from `pixels` (libjpeg's own DCT and rounding) or from quantised
// `blocks`, into a buffer of our own, with `script`'s scans when it has any.
static int encode_once(const uint8_t *pixels, const int16_t *const *blocks, uint32_t width, uint32_t height,
                       int components, const crc_jpeg_encode_options *options, const scan_script *script,
                       const crc_jpeg_marker *markers, int marker_count,
                       uint8_t **out, size_t *out_size, char *error) {
    *out = NULL;
    *out_size = 0;
    encode_state *s = calloc(1, sizeof *s);
    if (!s) {
        set_error(error, "out of memory");
        return -1;
    }
    install_error_manager(&s->jerr, &s->cinfo.err);
    if (setjmp(s->jerr.jump)) {
        set_error(error, s->jerr.message);
        jpeg_destroy_compress(&s->cinfo);
        free(s->dest.buffer);
        free(s);
        return -1;
    }
    jpeg_create_compress(&s->cinfo);
    s->dest.pub.init_destination = mem_init;
    s->dest.pub.empty_output_buffer = mem_empty;
    s->dest.pub.term_destination = mem_term;
    s->cinfo.dest = &s->dest.pub;
    configure_compress(&s->cinfo, width, height, components, options);
    if (script->scans) {
        s->cinfo.scan_info = script->scans;
        s->cinfo.num_scans = script->count;
    }

    if (blocks) {
        write_coefficients(&s->cinfo, blocks, options->chroma444, s->arrays);
        write_markers(&s->cinfo, markers, marker_count);
    } else {
        jpeg_start_compress(&s->cinfo, TRUE);
        write_markers(&s->cinfo, markers, marker_count);
        size_t stride = (size_t)width * (size_t)components;
        while (s->cinfo.next_scanline < s->cinfo.image_height) {
            JSAMPROW row = (JSAMPROW)(pixels + (size_t)s->cinfo.next_scanline * stride);
            jpeg_write_scanlines(&s->cinfo, &row, 1);
        }
    }
    jpeg_finish_compress(&s->cinfo);
    jpeg_destroy_compress(&s->cinfo);
    *out = s->dest.buffer;
    *out_size = s->dest.size;
    free(s);
    return 0;
}

// Both whole-image encoders: the options' one layout of scans, or with CRC_JPEG_SCANS_SMALLEST
// each of the scripts above in turn, keeping the first smallest file (the same coefficients each
// time, so the same pixels; only one encoder's state is alive at a time).
static int encode_in_memory(const uint8_t *pixels, const int16_t *const *blocks, uint32_t width, uint32_t height,
                            int components, const crc_jpeg_encode_options *options,
                            const crc_jpeg_marker *markers, int marker_count,
                            uint8_t **out, size_t *out_size, char *error) {
    *out = NULL;
    *out_size = 0;
    if (check_encode_request(width, height, components, options, markers, marker_count, error) != 0) return -1;
    const scan_script *scripts = components == 3 ? colour_scripts : grey_scripts;
    int candidates = options->scans == CRC_JPEG_SCANS_SMALLEST ? 4 : 1;
    for (int i = 0; i < candidates; i++) {
        uint8_t *bytes = NULL;
        size_t size = 0;
        if (encode_once(pixels, blocks, width, height, components, options, &scripts[i], markers, marker_count,
                        &bytes, &size, error) != 0) {
            free(*out);
            *out = NULL;
            *out_size = 0;
            return -1;
        }
        if (!*out || size < *out_size) {
            free(*out);
            *out = bytes;
            *out_size = size;
        } else {
            free(bytes);
        }
    }
    return 0;
}

int crc_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int components,
                    const crc_jpeg_encode_options *options,
                    const crc_jpeg_marker *markers, int marker_count,
                    uint8_t **out, size_t *out_size, char *error) {
    return encode_in_memory(pixels, NULL, width, height, components, options, markers, marker_count, out, out_size,
                            error);
}

int crc_jpeg_encode_coefficients(uint32_t width, uint32_t height, int components,
                                 const crc_jpeg_encode_options *options, const int16_t *const *blocks,
                                 const crc_jpeg_marker *markers, int marker_count,
                                 uint8_t **out, size_t *out_size, char *error) {
    return encode_in_memory(NULL, blocks, width, height, components, options, markers, marker_count, out, out_size,
                            error);
}

// MARK: Encode a row at a time to a callback

struct crc_jpeg_row_encoder {
    struct jpeg_compress_struct cinfo;
    crc_error_mgr jerr;
    crc_jpeg_memory *memory;  // where the encoder itself lives (NULL: the heap)
    size_t memory_mark;       // memory->used before it was made
    struct jpeg_destination_mgr dest;
    crc_write_fn write;
    void *user;
    uint32_t components;
    uint8_t buffer[4096];
};

// A failed write callback ends the encode through the error manager's jump, like a libjpeg error.
static void callback_write(crc_jpeg_row_encoder *e, const uint8_t *bytes, size_t size) {
    if (size > 0 && e->write(e->user, bytes, size) != 0) {
        snprintf(e->jerr.message, sizeof e->jerr.message, "the write callback failed");
        longjmp(e->jerr.jump, 1);
    }
}

static void callback_init(j_compress_ptr cinfo) {
    crc_jpeg_row_encoder *e = (crc_jpeg_row_encoder *)cinfo->client_data;
    e->dest.next_output_byte = e->buffer;
    e->dest.free_in_buffer = sizeof e->buffer;
}

static boolean callback_empty(j_compress_ptr cinfo) {
    crc_jpeg_row_encoder *e = (crc_jpeg_row_encoder *)cinfo->client_data;
    callback_write(e, e->buffer, sizeof e->buffer);  // libjpeg asks only when the buffer is full
    e->dest.next_output_byte = e->buffer;
    e->dest.free_in_buffer = sizeof e->buffer;
    return TRUE;
}

static void callback_term(j_compress_ptr cinfo) {
    crc_jpeg_row_encoder *e = (crc_jpeg_row_encoder *)cinfo->client_data;
    callback_write(e, e->buffer, sizeof e->buffer - e->dest.free_in_buffer);
}

static void *memory_take(crc_jpeg_memory *memory, size_t size);
static void memory_give_back(crc_jpeg_memory *memory, void *object);

crc_jpeg_row_encoder *crc_jpeg_row_encoder_create(uint32_t width, uint32_t height, int components,
                                                  const crc_jpeg_encode_options *options,
                                                  const crc_jpeg_marker *markers, int marker_count,
                                                  crc_write_fn write, void *user, char *error) {
    return crc_jpeg_row_encoder_create_in(width, height, components, options, markers, marker_count, write, user,
                                          NULL, error);
}

/// Gives back the encoder's own memory (libjpeg's is given back before).
static void free_row_encoder(crc_jpeg_row_encoder *e) {
    crc_jpeg_memory *memory = e->memory;
    size_t mark = e->memory_mark;
    memory_give_back(memory, e);
    if (memory) memory->used = mark;
}

crc_jpeg_row_encoder *crc_jpeg_row_encoder_create_in(uint32_t width, uint32_t height, int components,
                                                     const crc_jpeg_encode_options *options,
                                                     const crc_jpeg_marker *markers, int marker_count,
                                                     crc_write_fn write, void *user, crc_jpeg_memory *memory,
                                                     char *error) {
    if (check_encode_request(width, height, components, options, markers, marker_count, error) != 0) return NULL;
    if (options->scans == CRC_JPEG_SCANS_SMALLEST) {
        set_error(error, "a JPEG written a row at a time has one layout of scans: the smallest of several needs the whole image");
        return NULL;
    }
    size_t mark = memory ? memory->used : 0;
    crc_jpeg_row_encoder *e = memory_take(memory, sizeof *e);
    if (!e) {
        set_error(error, CRC_JPEG_OUT_OF_MEMORY " for the JPEG encoder");
        return NULL;
    }
    memset(e, 0, sizeof *e);
    e->memory = memory;
    e->memory_mark = mark;
    e->write = write;
    e->user = user;
    e->components = (uint32_t)components;
    install_error_manager(&e->jerr, &e->cinfo.err);
    e->jerr.memory = memory;
    if (setjmp(e->jerr.jump)) {
        set_error(error, e->jerr.message);
        jpeg_destroy_compress(&e->cinfo);
        free_row_encoder(e);
        return NULL;
    }
    jpeg_create_compress(&e->cinfo);
    e->cinfo.client_data = e;
    e->dest.init_destination = callback_init;
    e->dest.empty_output_buffer = callback_empty;
    e->dest.term_destination = callback_term;
    e->cinfo.dest = &e->dest;
    configure_compress(&e->cinfo, width, height, components, options);
    jpeg_start_compress(&e->cinfo, TRUE);
    write_markers(&e->cinfo, markers, marker_count);
    return e;
}

// What libjpeg-turbo's compressor allocates for a sequential 4:2:0 colour JPEG written a row at a
// time with standard Huffman tables, measured with the memory hooks below over widths 1 to 65500:
// 28.6 KB up to 64 pixels (its state and the first pool), then 30 bytes per pixel of width (its
// colour conversion, downsampling and MCU rows). The bound leaves half as much again on top;
// scripts/boards.sh's api-test checks on every target that such an encode takes nothing from the
// heap. Optimised Huffman tables keep the whole image's coefficients (about 3.6 bytes per stored
// pixel), which this does not cover.
size_t crc_jpeg_row_encode_bytes(uint32_t width) {
    return sizeof(crc_jpeg_row_encoder) + 32 * 1024 + (size_t)48 * ((size_t)width + 64);
}

int crc_jpeg_row_encoder_write(crc_jpeg_row_encoder *encoder, const uint8_t *row, char *error) {
    crc_jpeg_row_encoder *e = encoder;
    if (e->cinfo.next_scanline >= e->cinfo.image_height) {
        set_error(error, "more JPEG rows than the image has");
        return -1;
    }
    if (setjmp(e->jerr.jump)) {
        set_error(error, e->jerr.message);
        jpeg_abort_compress(&e->cinfo);
        return -1;
    }
    JSAMPROW rows[1] = {(JSAMPROW)row};
    jpeg_write_scanlines(&e->cinfo, rows, 1);
    return 0;
}

int crc_jpeg_row_encoder_finish(crc_jpeg_row_encoder *encoder, char *error) {
    crc_jpeg_row_encoder *e = encoder;
    if (e->cinfo.next_scanline != e->cinfo.image_height) {
        set_error(error, "the JPEG is missing rows");
        return -1;
    }
    if (setjmp(e->jerr.jump)) {
        set_error(error, e->jerr.message);
        jpeg_abort_compress(&e->cinfo);
        return -1;
    }
    jpeg_finish_compress(&e->cinfo);
    return 0;
}

void crc_jpeg_row_encoder_destroy(crc_jpeg_row_encoder *encoder) {
    if (!encoder) return;
    jpeg_destroy_compress(&encoder->cinfo);
    free_row_encoder(encoder);
}

// MARK: Decode

// APPn and COM segments are read by our own marker processor rather than jpeg_save_markers:
// libjpeg appends each saved segment by walking its list (quadratic time: a million empty
// segments took minutes), and it has no limit on their number. Here a segment is appended in
// constant time, and the header is refused past the rules' limits (docs/format.md).

crc_jpeg_rules crc_jpeg_default_rules(void) {
    return (crc_jpeg_rules){CRC_JPEG_DEFAULT_MAX_SCANS, CRC_JPEG_DEFAULT_MAX_SEGMENTS,
                            CRC_JPEG_DEFAULT_MAX_SEGMENT_BYTES, 0, 0};
}

struct crc_jpeg_decoder {
    struct jpeg_decompress_struct cinfo;
    crc_error_mgr jerr;
    // Each scan of a progressive JPEG passes over the whole coefficient buffer: a small file of
    // thousands of legal scans costs minutes. The monitor refuses the file past rules.max_scans.
    struct jpeg_progress_mgr progress;
    crc_jpeg_rules rules;
    crc_jpeg_marker *segments;  // owned copies of the payloads, in file order
    int segment_count;
    int segment_capacity;
    size_t segment_bytes;
    int keep_marker;           // 0: keep every segment; -1: none; else only those with this marker
    crc_jpeg_memory *memory;   // where this decoder's memory comes from (NULL: the heap)
    size_t memory_mark;        // memory->used before this decoder was made
};

// MARK: Memory

/// `size` bytes from `memory` (16-byte aligned), or from the heap when `memory` is NULL or full
/// (a progressive file's coefficients, which no width-based size covers); NULL when neither has
/// room.
static void *memory_take(crc_jpeg_memory *memory, size_t size) {
    if (memory) {
        size_t start = (memory->used + 15) & ~(size_t)15;
        if (start >= memory->used && start <= memory->size && size <= memory->size - start) {
            memory->used = start + size;
            return memory->base + start;
        }
    }
    return malloc(size ? size : 1);
}

/// Frees what memory_take gave from the heap; memory's own bytes come back when their decoder goes.
static void memory_give_back(crc_jpeg_memory *memory, void *object) {
    uint8_t *p = object;
    if (memory && p >= memory->base && p < memory->base + memory->size) return;
    free(object);
}

// libjpeg takes its memory through the system-dependent functions of jmemsys.h, which a port is
// meant to supply (libjpeg's jmemnobs.c is the malloc version). Built with CRC_JPEG_MEMORY_HOOKS
// and linked before a static libjpeg, these replace jmemnobs.o: the linker takes an archive
// member only for a symbol still undefined, and this file defines all eight. A decoder made in a
// crc_jpeg_memory gets it there; every other libjpeg object (compressors, and any the program
// makes itself) gets exactly what jmemnobs.c gives: the heap, max_memory_to_use respected, no
// backing store. So the hooks are harmless where they interpose a shared libjpeg's own too.
#ifdef CRC_JPEG_MEMORY_HOOKS
/// The memory of a decoder made by crc_jpeg_decoder_create_in or a row encoder made by
/// crc_jpeg_row_encoder_create_in, NULL for any other libjpeg object. Ours are the objects with
/// crc_error_exit, installed before jpeg_create_decompress or jpeg_create_compress makes its first
/// allocation; their error manager records the memory.
static crc_jpeg_memory *memory_of(j_common_ptr cinfo) {
    if (!cinfo->err || cinfo->err->error_exit != crc_error_exit) return NULL;
    return ((crc_error_mgr *)cinfo->err)->memory;
}
void *jpeg_get_small(j_common_ptr cinfo, size_t size) { return memory_take(memory_of(cinfo), size); }
void jpeg_free_small(j_common_ptr cinfo, void *object, size_t size) {
    (void)size;
    memory_give_back(memory_of(cinfo), object);
}
void *jpeg_get_large(j_common_ptr cinfo, size_t size) { return memory_take(memory_of(cinfo), size); }
void jpeg_free_large(j_common_ptr cinfo, void *object, size_t size) {
    (void)size;
    memory_give_back(memory_of(cinfo), object);
}
size_t jpeg_mem_available(j_common_ptr cinfo, size_t min_bytes_needed, size_t max_bytes_needed, size_t already_allocated) {
    (void)min_bytes_needed;
    // As jmemnobs.c: everything in memory, within the object's own limit if it set one.
    size_t limit = (size_t)cinfo->mem->max_memory_to_use;
    if (limit) return limit > already_allocated ? limit - already_allocated : 0;
    return max_bytes_needed;
}
void jpeg_open_backing_store(j_common_ptr cinfo, void *info, long total_bytes_needed) {
    (void)info, (void)total_bytes_needed;
    ERREXIT(cinfo, JERR_NO_BACKING_STORE);
}
long jpeg_mem_init(j_common_ptr cinfo) {
    (void)cinfo;
    return 0;
}
void jpeg_mem_term(j_common_ptr cinfo) { (void)cinfo; }
#endif

// What libjpeg-turbo's decompressor allocates for a sequential JPEG, measured with the hooks above
// over widths 64 to 8192: about 20 KB at any width (its state and the first pool, for which it
// asks 16 KB), then per pixel of width 8 (grey), 18 to 35 (colour, sampling 2x1, 1x1 and 2x2)
// and 44 bytes (1x2, the most: the main controller keeps 2 * 16 + 4 rows of every component
// for fancy upsampling). The bound below leaves half as much again on top; scripts/boards.sh's
// api-test checks it on every target.
size_t crc_jpeg_row_decode_bytes(uint32_t width) {
    return sizeof(crc_jpeg_decoder) + 32 * 1024 + (size_t)64 * ((size_t)width + 64);
}

static int read_byte(j_decompress_ptr cinfo) {
    struct jpeg_source_mgr *src = cinfo->src;
    // The memory source never suspends: at the end of the data it warns (an error here, through
    // crc_emit_message) and supplies an EOI marker.
    if (src->bytes_in_buffer == 0) (*src->fill_input_buffer)(cinfo);
    src->bytes_in_buffer--;
    return *src->next_input_byte++;
}

static void fail_with(j_decompress_ptr cinfo, const char *message) {
    crc_error_mgr *err = (crc_error_mgr *)cinfo->err;
    snprintf(err->message, sizeof err->message, "%s", message);
    longjmp(err->jump, 1);
}

static void refuse_scans(crc_jpeg_decoder *d) {
    char message[JMSG_LENGTH_MAX];
    snprintf(message, sizeof message, "the JPEG has more than %d scans (refused: each scan of a progressive JPEG passes over the whole image)",
             d->rules.max_scans);
    fail_with(&d->cinfo, message);
}

/// libjpeg's progress hook, called as it reads each part of the input: refuses a file past the
/// decoder's scan limit before the next scan is decoded.
static void scan_limit(j_common_ptr cinfo) {
    crc_jpeg_decoder *d = (crc_jpeg_decoder *)cinfo;  // cinfo is the decoder's first member
    if (d->cinfo.input_scan_number > d->rules.max_scans) refuse_scans(d);
}

/// The processor of every APPn and COM marker: keeps a copy of the segment's payload.
static boolean keep_segment(j_decompress_ptr cinfo) {
    crc_jpeg_decoder *d = (crc_jpeg_decoder *)cinfo;  // cinfo is the decoder's first member
    int high = read_byte(cinfo), low = read_byte(cinfo);
    long length = ((long)high << 8 | low) - 2;
    if (length < 0) fail_with(cinfo, "a marker segment has a length below 2");
    if (d->segment_count >= d->rules.max_segments) {
        char message[JMSG_LENGTH_MAX];
        snprintf(message, sizeof message, "more than %d APPn or COM segments", d->rules.max_segments);
        fail_with(cinfo, message);
    }
    if (d->segment_bytes + (size_t)length > d->rules.max_segment_bytes) {
        char message[JMSG_LENGTH_MAX];
        size_t limit = d->rules.max_segment_bytes, mb = (size_t)1 << 20;
        if (limit > 0 && limit % mb == 0) {
            snprintf(message, sizeof message, "more than %zu MB of APPn or COM segments", limit / mb);
        } else {
            snprintf(message, sizeof message, "more than %zu bytes of APPn or COM segments", limit);
        }
        fail_with(cinfo, message);
    }
    d->segment_bytes += (size_t)length;
    if (d->keep_marker && cinfo->unread_marker != d->keep_marker) {
        if (length > 0) (*cinfo->src->skip_input_data)(cinfo, length);
        return TRUE;
    }
    if (d->segment_count == d->segment_capacity) {
        int capacity = d->segment_capacity ? 2 * d->segment_capacity : 16;
        crc_jpeg_marker *grown = memory_take(d->memory, (size_t)capacity * sizeof *grown);
        if (!grown) fail_with(cinfo, CRC_JPEG_OUT_OF_MEMORY " for the JPEG's marker segments");
        if (d->segment_count) memcpy(grown, d->segments, (size_t)d->segment_count * sizeof *grown);
        memory_give_back(d->memory, d->segments);
        d->segments = grown;
        d->segment_capacity = capacity;
    }
    uint8_t *data = memory_take(d->memory, (size_t)length);
    if (!data) fail_with(cinfo, CRC_JPEG_OUT_OF_MEMORY " for the JPEG's marker segments");
    // Registered before it is filled, so that a failure while reading it frees it too.
    d->segments[d->segment_count++] = (crc_jpeg_marker){cinfo->unread_marker, data, (size_t)length};
    for (long i = 0; i < length; i++) data[i] = (uint8_t)read_byte(cinfo);
    return TRUE;
}

static void free_segments(crc_jpeg_decoder *d) {
    for (int i = 0; i < d->segment_count; i++) memory_give_back(d->memory, (void *)d->segments[i].data);
    memory_give_back(d->memory, d->segments);
    d->segments = NULL;
    d->segment_count = d->segment_capacity = 0;
}

/// Frees the decoder's own memory (libjpeg's is freed before).
static void free_decoder(crc_jpeg_decoder *d) {
    free_segments(d);
    crc_jpeg_memory *memory = d->memory;
    size_t mark = d->memory_mark;
    memory_give_back(memory, d);  // the decoder itself may be on the heap, where memory was full
    if (memory) memory->used = mark;
}

crc_jpeg_decoder *crc_jpeg_decoder_create(const uint8_t *data, size_t size, const crc_jpeg_rules *rules, char *error) {
    return crc_jpeg_decoder_create_in(data, size, rules, NULL, 0, error);
}

crc_jpeg_decoder *crc_jpeg_decoder_create_in(const uint8_t *data, size_t size, const crc_jpeg_rules *rules,
                                             crc_jpeg_memory *memory, int keep_marker, char *error) {
    size_t mark = memory ? memory->used : 0;
    crc_jpeg_decoder *d = memory_take(memory, sizeof *d);
    if (!d) {
        set_error(error, CRC_JPEG_OUT_OF_MEMORY " for the JPEG decoder");
        return NULL;
    }
    memset(d, 0, sizeof *d);
    d->memory = memory;
    d->memory_mark = mark;
    d->keep_marker = keep_marker;
    install_error_manager(&d->jerr, &d->cinfo.err);
    d->jerr.memory = memory;
    d->rules = rules ? *rules : crc_jpeg_default_rules();
    if (d->rules.max_scans < 1) d->rules.max_scans = 1;
    if (d->rules.max_segments < 0) d->rules.max_segments = 0;
    d->jerr.lenient = d->rules.lenient ? 1 : 0;
    if (setjmp(d->jerr.jump)) {
        set_error(error, d->jerr.message);
        jpeg_destroy_decompress(&d->cinfo);
        free_decoder(d);
        return NULL;
    }
    jpeg_create_decompress(&d->cinfo);
    jpeg_mem_src(&d->cinfo, data, (unsigned long)size);
    for (int n = 0; n < 16; n++) jpeg_set_marker_processor(&d->cinfo, JPEG_APP0 + n, keep_segment);
    jpeg_set_marker_processor(&d->cinfo, JPEG_COM, keep_segment);
    jpeg_read_header(&d->cinfo, TRUE);
    d->progress.progress_monitor = scan_limit;
    d->cinfo.progress = &d->progress;
    return d;
}

int crc_jpeg_warning_count(const crc_jpeg_decoder *decoder) { return (int)decoder->jerr.pub.num_warnings; }
uint32_t crc_jpeg_first_warning_row(const crc_jpeg_decoder *decoder) { return (uint32_t)decoder->jerr.first_warning_row; }
const char *crc_jpeg_first_warning(const crc_jpeg_decoder *decoder) { return decoder->jerr.first_warning; }

void crc_jpeg_decoder_destroy(crc_jpeg_decoder *decoder) {
    if (!decoder) return;
    jpeg_destroy_decompress(&decoder->cinfo);
    free_decoder(decoder);
}

uint32_t crc_jpeg_width(const crc_jpeg_decoder *decoder) { return decoder->cinfo.image_width; }
uint32_t crc_jpeg_height(const crc_jpeg_decoder *decoder) { return decoder->cinfo.image_height; }
int crc_jpeg_components(const crc_jpeg_decoder *decoder) { return decoder->cinfo.num_components; }
int crc_jpeg_progressive(const crc_jpeg_decoder *decoder) {
    return decoder->cinfo.progressive_mode ? 1 : 0;
}

int crc_jpeg_quant_table(const crc_jpeg_decoder *decoder, int component, uint16_t table[64]) {
    const struct jpeg_decompress_struct *c = &decoder->cinfo;
    if (component < 0 || component >= c->num_components) return -1;
    int slot = c->comp_info[component].quant_tbl_no;
    if (slot < 0 || slot >= NUM_QUANT_TBLS || !c->quant_tbl_ptrs[slot]) return -1;
    // libjpeg stores quantval in natural order (jdmarker.c un-zigzags the DQT segment).
    for (int i = 0; i < 64; i++) table[i] = c->quant_tbl_ptrs[slot]->quantval[i];
    return 0;
}

int crc_jpeg_marker_count(const crc_jpeg_decoder *decoder) { return decoder->segment_count; }

int crc_jpeg_marker_at(const crc_jpeg_decoder *decoder, int index, crc_jpeg_marker *marker) {
    if (index < 0 || index >= decoder->segment_count) return -1;
    *marker = decoder->segments[index];
    return 0;
}

/// The SOS markers in `data` (the input after the first scan's header) up to EOI: marker segments
/// are skipped by their lengths and entropy-coded data read byte by byte, so that no byte inside
/// a segment is taken for a marker (in entropy-coded data 0xFF is followed by 0x00 or RSTn).
static long count_scans(const uint8_t *data, size_t size) {
    long scans = 0;
    size_t i = 0;
    while (i + 1 < size) {
        uint8_t marker = data[i + 1];
        if (data[i] != 0xFF || marker == 0x00 || marker == 0xFF || (marker >= 0xD0 && marker <= 0xD7)) {
            i++;
        } else if (marker == 0xD9 || i + 3 >= size) {
            break;
        } else {
            if (marker == 0xDA) scans++;
            i += 2 + ((size_t)data[i + 2] << 8 | data[i + 3]);
        }
    }
    return scans;
}

int crc_jpeg_start_rgb_rows(crc_jpeg_decoder *decoder, char *error) {
    crc_jpeg_decoder *d = decoder;
    if (setjmp(d->jerr.jump)) {
        set_error(error, d->jerr.message);
        jpeg_abort_decompress(&d->cinfo);
        return -1;
    }
    if (d->cinfo.arith_code && !d->rules.allow_arithmetic) {
        fail_with(&d->cinfo, "the JPEG is arithmetic-coded: refused by default, as a few hundred bytes of "
                             "arithmetic-coded data can legally make the largest image allowed (--allow-arithmetic reads it)");
    }
    // jpeg_start_decompress reads every scan of a progressive JPEG into a coefficient buffer of
    // the whole image (200 MB at 8192 x 8192) before the first row: counting the scans first
    // refuses a file of too many without that memory. The progress hook stays as the backstop.
    if (d->cinfo.progressive_mode &&
        1 + count_scans(d->cinfo.src->next_input_byte, d->cinfo.src->bytes_in_buffer) > d->rules.max_scans) {
        refuse_scans(d);
    }
    d->cinfo.out_color_space = JCS_RGB;
    d->cinfo.dct_method = JDCT_ISLOW;
    d->cinfo.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&d->cinfo);
    if (d->cinfo.output_components != 3) {
        set_error(error, "libjpeg did not produce RGB output");
        jpeg_abort_decompress(&d->cinfo);
        return -1;
    }
    return 0;
}

int crc_jpeg_read_rgb_row(crc_jpeg_decoder *decoder, uint8_t *row, char *error) {
    crc_jpeg_decoder *d = decoder;
    if (setjmp(d->jerr.jump)) {
        set_error(error, d->jerr.message);
        jpeg_abort_decompress(&d->cinfo);
        return -1;
    }
    if (d->cinfo.output_scanline >= d->cinfo.output_height) {
        set_error(error, "no JPEG rows left");
        return -1;
    }
    JSAMPROW rows[1] = {row};
    while (jpeg_read_scanlines(&d->cinfo, rows, 1) == 0) {
        // The memory source never suspends; a zero count would otherwise loop forever.
        set_error(error, "libjpeg returned no row");
        jpeg_abort_decompress(&d->cinfo);
        return -1;
    }
    return 0;
}

int crc_jpeg_finish_rows(crc_jpeg_decoder *decoder, char *error) {
    crc_jpeg_decoder *d = decoder;
    if (setjmp(d->jerr.jump)) {
        set_error(error, d->jerr.message);
        jpeg_abort_decompress(&d->cinfo);
        return -1;
    }
    jpeg_finish_decompress(&d->cinfo);
    return 0;
}

int crc_jpeg_decode_rgb(crc_jpeg_decoder *decoder, uint8_t *rgb, char *error) {
    if (crc_jpeg_start_rgb_rows(decoder, error) != 0) return -1;
    size_t stride = (size_t)decoder->cinfo.output_width * 3;
    for (size_t y = 0; y < decoder->cinfo.output_height; y++) {
        if (crc_jpeg_read_rgb_row(decoder, rgb + y * stride, error) != 0) return -1;
    }
    return crc_jpeg_finish_rows(decoder, error);
}
