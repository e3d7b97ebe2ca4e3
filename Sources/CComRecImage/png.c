// libpng behind setjmp: see include/comrec_image.h.
//
// State that must survive a longjmp lives in heap structs reached through pointers that are not
// modified after setjmp (C11 7.13.2.1).
#include "comrec_image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#include <png.h>
#include <zlib.h>

static void set_error(char *error, const char *message) {
    if (error) snprintf(error, CRC_ERROR_SIZE, "%s", message);
}

// Both readers and writers start with this, so the error callbacks can find the message buffers.
typedef struct png_messages {
    char message[CRC_ERROR_SIZE];
    char warning[CRC_ERROR_SIZE];  // the last warning, empty if none
} png_messages;

static void png_error_fn(png_structp png, png_const_charp text) {
    png_messages *m = png_get_error_ptr(png);
    // libpng says what is wrong with a header in a warning ("Image width is zero in IHDR") and
    // then fails with a generic "Invalid IHDR data": keep the useful part.
    if (m->warning[0] && strstr(text, "IHDR"))
        snprintf(m->message, sizeof m->message, "%s: %s", text, m->warning);
    else
        snprintf(m->message, sizeof m->message, "%s", text);
    png_longjmp(png, 1);
}

// Warnings (bad ancillary chunk CRC, unknown sRGB profile, ...) do not change the pixels; the
// last one is kept only to explain a following error.
static void png_warning_fn(png_structp png, png_const_charp text) {
    png_messages *m = png_get_error_ptr(png);
    snprintf(m->warning, sizeof m->warning, "%s", text);
}

// MARK: Read

struct crc_png_reader {
    png_messages messages;  // first member: the error pointer is the reader itself
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t size;
    size_t offset;
    png_bytep *rows;
};

static void read_fn(png_structp png, png_bytep out, size_t length) {
    crc_png_reader *r = png_get_io_ptr(png);
    if (length > r->size - r->offset) png_error(png, "unexpected end of file (the PNG is truncated)");
    memcpy(out, r->data + r->offset, length);
    r->offset += length;
}

crc_png_reader *crc_png_reader_create(const uint8_t *data, size_t size, char *error) {
    crc_png_reader *r = calloc(1, sizeof *r);
    if (!r) {
        set_error(error, "out of memory");
        return NULL;
    }
    r->data = data;
    r->size = size;
    r->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, r, png_error_fn, png_warning_fn);
    if (r->png) r->info = png_create_info_struct(r->png);
    if (!r->png || !r->info) {
        set_error(error, "cannot initialise libpng (out of memory or library version mismatch)");
        crc_png_reader_destroy(r);
        return NULL;
    }
    if (setjmp(png_jmpbuf(r->png))) {
        set_error(error, r->messages.message);
        crc_png_reader_destroy(r);
        return NULL;
    }
    png_set_read_fn(r->png, r, read_fn);
    // Size limits are the caller's (checked before any pixel memory is allocated), so lift
    // libpng's own default of 1,000,000 pixels per side to PNG's maximum.
    png_set_user_limits(r->png, 0x7fffffff, 0x7fffffff);
    png_read_info(r->png, r->info);
    return r;
}

void crc_png_reader_destroy(crc_png_reader *reader) {
    if (!reader) return;
    free(reader->rows);
    if (reader->png) png_destroy_read_struct(&reader->png, reader->info ? &reader->info : NULL, NULL);
    free(reader);
}

uint32_t crc_png_width(const crc_png_reader *r) { return png_get_image_width(r->png, r->info); }
uint32_t crc_png_height(const crc_png_reader *r) { return png_get_image_height(r->png, r->info); }
int crc_png_bit_depth(const crc_png_reader *r) { return png_get_bit_depth(r->png, r->info); }
int crc_png_color_type(const crc_png_reader *r) { return png_get_color_type(r->png, r->info); }

int crc_png_has_alpha(const crc_png_reader *r) {
    int type = png_get_color_type(r->png, r->info);
    return (type & PNG_COLOR_MASK_ALPHA) || png_get_valid(r->png, r->info, PNG_INFO_tRNS) ? 1 : 0;
}

// Reads every row of the image (after png_read_update_info) into `base`, rows `stride` bytes
// apart, then the rest of the file up to IEND: a file cut short anywhere is an error.
static void read_rows(crc_png_reader *r, uint8_t *base, size_t stride, uint32_t height) {
    r->rows = malloc(sizeof(png_bytep) * (height ? height : 1));
    if (!r->rows) png_error(r->png, "out of memory");
    for (uint32_t y = 0; y < height; y++) r->rows[y] = base + (size_t)y * stride;
    png_read_image(r->png, r->rows);
    png_read_end(r->png, NULL);
    free(r->rows);
    r->rows = NULL;
}

// A palette image is read as indices and expanded here rather than by libpng: libpng expands an
// index past the end of the palette to black (invented pixels) and, with 8-bit indices, does not
// report it. The indices are read into the tail of `pixels` (width * height bytes) and expanded
// front to back in place: pixel i's colour ends before index i + 1 starts. Errors longjmp to the
// caller's setjmp.
static void read_palette_image(crc_png_reader *r, uint8_t *pixels, int channels) {
    png_structp png = r->png;
    png_infop info = r->info;
    png_colorp palette = NULL;
    int count = 0;
    if (!png_get_PLTE(png, info, &palette, &count) || count <= 0) png_error(png, "the palette PNG has no palette");
    png_bytep alpha = NULL;
    int alpha_count = 0;
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_get_tRNS(png, info, &alpha, &alpha_count, NULL);
    if (png_get_bit_depth(png, info) < 8) png_set_packing(png);  // one index per byte
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    uint32_t width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    if (png_get_rowbytes(png, info) != width) png_error(png, "unexpected PNG row size for a palette image");
    size_t n = (size_t)width * height;
    uint8_t *indices = pixels + n * (size_t)(channels - 1);
    read_rows(r, indices, width, height);
    for (size_t i = 0; i < n; i++) {
        int k = indices[i];
        if (k >= count) png_error(png, "the PNG has a palette index past the end of its palette (corrupt file)");
        uint8_t *out = pixels + i * (size_t)channels;
        out[0] = palette[k].red;
        out[1] = palette[k].green;
        out[2] = palette[k].blue;
        if (channels == 4) out[3] = k < alpha_count ? alpha[k] : 255;
    }
}

int crc_png_decode(crc_png_reader *reader, uint8_t *pixels, int channels, char *error) {
    crc_png_reader *r = reader;
    if (channels != 3 && channels != 4) {
        set_error(error, "PNG decoder gives 3 (RGB) or 4 (RGBA) channels");
        return -1;
    }
    if (setjmp(png_jmpbuf(r->png))) {
        set_error(error, r->messages.message);
        return -1;
    }
    png_structp png = r->png;
    png_infop info = r->info;
    int type = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    int alpha = crc_png_has_alpha(r);
    if (type == PNG_COLOR_TYPE_PALETTE) {
        read_palette_image(r, pixels, channels);
        return 0;
    }
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (depth == 16) png_set_scale_16(png);  // (v * 255 + 32895) >> 16: rounds, unlike strip_16
    if (type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    if (channels == 4 && !alpha) png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER);
    if (channels == 3 && alpha) png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    uint32_t width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    size_t stride = (size_t)width * (size_t)channels;
    if (png_get_rowbytes(png, info) != stride) png_error(png, "unexpected PNG row size after conversion");
    read_rows(r, pixels, stride, height);
    return 0;
}

// MARK: Write

typedef struct write_state {
    png_messages messages;  // first member, as for the reader
    png_structp png;
    png_infop info;
    uint8_t *buffer;
    size_t size;
    size_t capacity;
    png_bytep *rows;
} write_state;

static void write_fn(png_structp png, png_bytep data, size_t length) {
    write_state *s = png_get_io_ptr(png);
    if (length > s->capacity - s->size) {
        size_t capacity = s->capacity ? s->capacity : 1 << 16;
        while (length > capacity - s->size) capacity *= 2;
        uint8_t *grown = realloc(s->buffer, capacity);
        if (!grown) png_error(png, "out of memory");
        s->buffer = grown;
        s->capacity = capacity;
    }
    memcpy(s->buffer + s->size, data, length);
    s->size += length;
}

static void flush_fn(png_structp png) { (void)png; }

// Writes the caller's chunks right after png_write_info: after IHDR, before any IDAT (the first
// row starts the image data), which is where eXIf and iCCP must go. Errors longjmp.
static void write_chunks(png_structp png, const crc_png_chunk *chunks, int chunk_count) {
    for (int i = 0; i < chunk_count; i++) {
        png_write_chunk(png, (png_const_bytep)chunks[i].name, chunks[i].data, chunks[i].length);
    }
}

int crc_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels, int level,
                   const crc_png_chunk *chunks, int chunk_count, uint8_t **out, size_t *out_size, char *error) {
    *out = NULL;
    *out_size = 0;
    if (level < 0 || level > 9) {
        set_error(error, "PNG compression level must be 0...9");
        return -1;
    }
    int type;
    switch (channels) {
    case 1: type = PNG_COLOR_TYPE_GRAY; break;
    case 3: type = PNG_COLOR_TYPE_RGB; break;
    case 4: type = PNG_COLOR_TYPE_RGB_ALPHA; break;
    default:
        set_error(error, "PNG encoder takes 1, 3 or 4 channels");
        return -1;
    }
    write_state *s = calloc(1, sizeof *s);
    if (!s) {
        set_error(error, "out of memory");
        return -1;
    }
    s->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, s, png_error_fn, png_warning_fn);
    if (s->png) s->info = png_create_info_struct(s->png);
    if (!s->png || !s->info) {
        set_error(error, "cannot initialise libpng (out of memory or library version mismatch)");
        if (s->png) png_destroy_write_struct(&s->png, s->info ? &s->info : NULL);
        free(s);
        return -1;
    }
    if (setjmp(png_jmpbuf(s->png))) {
        set_error(error, s->messages.message);
        png_destroy_write_struct(&s->png, &s->info);
        free(s->rows);
        free(s->buffer);
        free(s);
        return -1;
    }
    png_set_write_fn(s->png, s, write_fn, flush_fn);
    png_set_compression_level(s->png, level);
    png_set_IHDR(s->png, s->info, width, height, 8, type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(s->png, s->info);
    write_chunks(s->png, chunks, chunk_count);
    size_t stride = (size_t)width * (size_t)channels;
    s->rows = malloc(sizeof(png_bytep) * (height ? height : 1));
    if (!s->rows) png_error(s->png, "out of memory");
    for (uint32_t y = 0; y < height; y++) s->rows[y] = (png_bytep)(pixels + (size_t)y * stride);
    png_write_image(s->png, s->rows);
    png_write_end(s->png, NULL);
    png_destroy_write_struct(&s->png, &s->info);
    *out = s->buffer;
    *out_size = s->size;
    free(s->rows);
    free(s);
    return 0;
}

// MARK: Write rows to a file descriptor

struct crc_png_writer {
    png_messages messages;  // first member, as for the reader
    png_structp png;
    png_infop info;
    int fd;
    uint32_t rows_left;
};

static void fd_write_fn(png_structp png, png_bytep data, size_t length) {
    crc_png_writer *w = png_get_io_ptr(png);
    while (length > 0) {
        ssize_t n = write(w->fd, data, length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            char message[CRC_ERROR_SIZE];
            snprintf(message, sizeof message, "cannot write the PNG: %s", n < 0 ? strerror(errno) : "nothing written");
            png_error(png, message);
        }
        data += n;
        length -= (size_t)n;
    }
}

crc_png_writer *crc_png_writer_create(int fd, uint32_t width, uint32_t height, int channels, int level,
                                      const crc_png_chunk *chunks, int chunk_count, char *error) {
    if (level < 0 || level > 9) {
        set_error(error, "PNG compression level must be 0...9");
        return NULL;
    }
    int type;
    switch (channels) {
    case 1: type = PNG_COLOR_TYPE_GRAY; break;
    case 3: type = PNG_COLOR_TYPE_RGB; break;
    case 4: type = PNG_COLOR_TYPE_RGB_ALPHA; break;
    default:
        set_error(error, "PNG encoder takes 1, 3 or 4 channels");
        return NULL;
    }
    crc_png_writer *w = calloc(1, sizeof *w);
    if (!w) {
        set_error(error, "out of memory");
        return NULL;
    }
    w->fd = fd;
    w->rows_left = height;
    w->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, w, png_error_fn, png_warning_fn);
    if (w->png) w->info = png_create_info_struct(w->png);
    if (!w->png || !w->info) {
        set_error(error, "cannot initialise libpng (out of memory or library version mismatch)");
        crc_png_writer_destroy(w);
        return NULL;
    }
    if (setjmp(png_jmpbuf(w->png))) {
        set_error(error, w->messages.message);
        crc_png_writer_destroy(w);
        return NULL;
    }
    png_set_write_fn(w->png, w, fd_write_fn, flush_fn);
    png_set_compression_level(w->png, level);
    png_set_IHDR(w->png, w->info, width, height, 8, type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(w->png, w->info);
    write_chunks(w->png, chunks, chunk_count);
    return w;
}

int crc_png_writer_row(crc_png_writer *writer, const uint8_t *row, char *error) {
    crc_png_writer *w = writer;
    if (w->rows_left == 0) {
        set_error(error, "more PNG rows than the image has");
        return -1;
    }
    if (setjmp(png_jmpbuf(w->png))) {
        set_error(error, w->messages.message);
        return -1;
    }
    png_write_row(w->png, (png_const_bytep)row);
    w->rows_left--;
    return 0;
}

int crc_png_writer_finish(crc_png_writer *writer, char *error) {
    crc_png_writer *w = writer;
    if (w->rows_left != 0) {
        set_error(error, "the PNG is missing rows");
        return -1;
    }
    if (setjmp(png_jmpbuf(w->png))) {
        set_error(error, w->messages.message);
        return -1;
    }
    png_write_end(w->png, NULL);
    return 0;
}

void crc_png_writer_destroy(crc_png_writer *writer) {
    if (!writer) return;
    if (writer->png) png_destroy_write_struct(&writer->png, writer->info ? &writer->info : NULL);
    free(writer);
}

// MARK: zlib

int crc_zlib_compress(const uint8_t *data, size_t size, uint8_t **out, size_t *out_size, char *error) {
    *out = NULL;
    *out_size = 0;
    uLongf capacity = compressBound((uLong)size);
    uint8_t *buffer = malloc(capacity ? capacity : 1);
    if (!buffer) {
        set_error(error, "out of memory");
        return -1;
    }
    int status = compress2(buffer, &capacity, data, (uLong)size, 9);
    if (status != Z_OK) {
        free(buffer);
        set_error(error, zError(status));
        return -1;
    }
    *out = buffer;
    *out_size = capacity;
    return 0;
}

int crc_zlib_inflate(const uint8_t *data, size_t size, size_t max_size, uint8_t **out, size_t *out_size, char *error) {
    *out = NULL;
    *out_size = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK) {
        set_error(error, "cannot initialise zlib");
        return -1;
    }
    size_t capacity = size * 4 + 1024, used = 0;
    if (capacity > max_size + 1) capacity = max_size + 1;
    uint8_t *buffer = malloc(capacity);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)size;
    int status = buffer ? Z_OK : Z_MEM_ERROR;
    while (status == Z_OK) {
        if (used == capacity) {
            // One byte over max_size is enough to know the stream is too large.
            size_t grown = capacity * 2 > max_size + 1 ? max_size + 1 : capacity * 2;
            if (grown == capacity) break;
            uint8_t *bigger = realloc(buffer, grown);
            if (!bigger) {
                status = Z_MEM_ERROR;
                break;
            }
            buffer = bigger;
            capacity = grown;
        }
        z.next_out = buffer + used;
        z.avail_out = (uInt)(capacity - used);
        status = inflate(&z, Z_NO_FLUSH);
        used = capacity - z.avail_out;
        if (status == Z_BUF_ERROR && z.avail_in == 0 && used < capacity) break;  // input ended early
        if (status == Z_BUF_ERROR) status = Z_OK;
    }
    inflateEnd(&z);
    if (status == Z_STREAM_END && used <= max_size) {
        *out = buffer;
        *out_size = used;
        return 0;
    }
    free(buffer);
    char message[CRC_ERROR_SIZE];
    if (status == Z_STREAM_END || (status == Z_OK && used > max_size)) {
        snprintf(message, sizeof message, "it inflates to more than %zu bytes", max_size);
    } else if (status == Z_MEM_ERROR) {
        snprintf(message, sizeof message, "out of memory");
    } else if (status == Z_DATA_ERROR) {
        snprintf(message, sizeof message, "corrupt zlib data: %s", z.msg ? z.msg : "data error");
    } else {
        snprintf(message, sizeof message, "the zlib data ends early");
    }
    set_error(error, message);
    return -1;
}

uint32_t crc_crc32(const uint8_t *data, size_t size) {
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), data, (uInt)size);
}
