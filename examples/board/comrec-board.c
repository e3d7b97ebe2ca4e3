/*
 * comrec-board: encode and decode ComRec files through the C API only (include/comrec.h), as a
 * board's firmware tool would. Rows stream between the files and the library: the tool holds one
 * row and the library its arena, whatever the image height.
 *
 *   comrec-board encode IN.ppm OUT.jpg [QUALITY]   binary PPM (P6, maxval 255) -> ComRec file
 *   comrec-board decode IN.jpg OUT.ppm             ComRec file -> binary PPM
 *   comrec-board info IN.jpg
 *   comrec-board arena WIDTH                       arena bytes per profile and mode for that width
 *
 * Environment: COMREC_THREADS (threads, default 1), COMREC_PROFILE (default fast), COMREC_MODE
 * (half, the default, full or auto), COMREC_BPP (a size target in bits per pixel, like
 * `comrec encode --bpp`), COMREC_CONV (measured, the default, direct or winograd). Output goes to OUT.tmp-PID and is renamed to OUT only when
 * complete: a failure leaves no partial file and never replaces an existing OUT.
 */
#include "comrec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what, const char *detail) {
    fprintf(stderr, "comrec-board: %s%s%s\n", what, detail && detail[0] ? ": " : "", detail ? detail : "");
    return 1;
}

static int fail_status(const char *what, comrec_status status, const comrec_context *context) {
    fprintf(stderr, "comrec-board: %s: %s", what, comrec_status_string(status));
    const char *detail = context ? comrec_context_message(context) : "";
    if (detail[0]) fprintf(stderr, " (%s)", detail);
    fprintf(stderr, "\n");
    return 1;
}

/* An output file written under a temporary name and renamed when complete. */
typedef struct output {
    char temporary[4096];
    const char *path;
    FILE *file;
} output;

static int output_open(output *out, const char *path) {
    if (access(path, F_OK) == 0) return fail("output exists (remove it first)", path);
    out->path = path;
    snprintf(out->temporary, sizeof out->temporary, "%s.tmp-%ld", path, (long)getpid());
    out->file = fopen(out->temporary, "wbx");
    if (!out->file) return fail("cannot create", strerror(errno));
    return 0;
}

static void output_discard(output *out) {
    if (out->file) fclose(out->file);
    out->file = NULL;
    remove(out->temporary);
}

static int output_commit(output *out) {
    /* On disk before it gets its name: after a power loss OUT is complete or absent. */
    int failed = fflush(out->file) != 0 || ferror(out->file) || fsync(fileno(out->file)) != 0;
    failed |= fclose(out->file) != 0;
    out->file = NULL;
    if (failed) {
        remove(out->temporary);
        return fail("cannot write", out->path);
    }
    if (link(out->temporary, out->path) != 0) {  /* fails if OUT appeared meanwhile */
        int code = errno;
        /* File systems without hard links (FAT, exFAT): a rename, after checking OUT again. */
        int no_links = code == EPERM || code == ENOTSUP || code == EOPNOTSUPP || code == ENOSYS;
        if (no_links && access(out->path, F_OK) != 0) {
            if (rename(out->temporary, out->path) == 0) return 0;
            code = errno;
        } else if (no_links) {
            code = EEXIST;
        }
        remove(out->temporary);
        return fail("cannot create", code == EEXIST ? "output exists" : strerror(code));
    }
    remove(out->temporary);
    return 0;
}

static int threads_from_environment(void) {
    const char *text = getenv("COMREC_THREADS");
    if (!text || !text[0]) return 1;
    char *end;
    long n = strtol(text, &end, 10);
    if (*end || n < 1 || n > 64) return -1;
    return (int)n;
}

/* Reads a P6 header: width, height, maxval 255. Comments (#...) may sit between the fields. */
static int read_ppm_header(FILE *file, uint32_t *width, uint32_t *height) {
    char magic[3] = {0};
    if (fread(magic, 1, 2, file) != 2 || strcmp(magic, "P6") != 0) return -1;
    unsigned long values[3];
    for (int i = 0; i < 3; i++) {
        int c = fgetc(file);
        for (;;) {
            while (c == ' ' || c == '\t' || c == '\n' || c == '\r') c = fgetc(file);
            if (c != '#') break;
            while (c != '\n' && c != EOF) c = fgetc(file);
        }
        if (c < '0' || c > '9') return -1;
        unsigned long v = 0;
        while (c >= '0' && c <= '9') {
            v = v * 10 + (unsigned long)(c - '0');
            if (v > 1000000) return -1;
            c = fgetc(file);
        }
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return -1;
        values[i] = v;
    }
    if (values[0] == 0 || values[1] == 0 || values[2] != 255) return -1;
    *width = (uint32_t)values[0];
    *height = (uint32_t)values[1];
    return 0;
}

static int read_row(void *user, uint32_t y, uint8_t *rgb, uint32_t width) {
    (void)y;
    return fread(rgb, 3, width, (FILE *)user) == width ? 0 : 1;
}

static int write_bytes(void *user, const uint8_t *bytes, size_t size) {
    return fwrite(bytes, 1, size, (FILE *)user) == size ? 0 : 1;
}

static int write_row(void *user, uint32_t y, const uint8_t *rgb, uint32_t width) {
    (void)y;
    return fwrite(rgb, 3, width, (FILE *)user) == width ? 0 : 1;
}

/* The whole input file (ComRec files are small: the compact image's JPEG). */
static uint8_t *read_file(const char *path, size_t *size) {
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    size_t capacity = 1 << 16, used = 0;
    uint8_t *data = malloc(capacity);
    while (data) {
        used += fread(data + used, 1, capacity - used, file);
        if (used < capacity) break;
        uint8_t *grown = capacity < ((size_t)1 << 30) ? realloc(data, capacity * 2) : NULL;
        if (!grown) {
            free(data);
            data = NULL;
            break;
        }
        data = grown;
        capacity *= 2;
    }
    int failed = ferror(file);
    fclose(file);
    if (failed) {
        free(data);
        return NULL;
    }
    *size = used;
    return data;
}

static int encode(comrec_context *context, const char *in, const char *out_path, const char *quality_text) {
    comrec_encode_options options;
    comrec_encode_options_init(&options);
    if (quality_text) {
        char *end;
        long q = strtol(quality_text, &end, 10);
        if (*end || q < 1 || q > 100) return fail("QUALITY must be 1...100, not", quality_text);
        options.quality = (int)q;
    }
    const char *profile = getenv("COMREC_PROFILE");
    if (profile && profile[0]) options.profile = profile;
    const char *mode = getenv("COMREC_MODE");
    if (mode && strcmp(mode, "full") == 0) options.mode = COMREC_MODE_FULL;
    else if (mode && strcmp(mode, "auto") == 0) options.mode = COMREC_MODE_AUTO;
    else if (mode && mode[0] && strcmp(mode, "half") != 0) return fail("COMREC_MODE must be half, full or auto, not", mode);
    const char *bpp = getenv("COMREC_BPP");
    if (bpp && bpp[0]) {
        char *end;
        options.max_bits_per_pixel = strtod(bpp, &end);
        if (*end || !(options.max_bits_per_pixel > 0)) return fail("COMREC_BPP must be a positive number, not", bpp);
    }

    FILE *input = fopen(in, "rb");
    if (!input) return fail("cannot open", in);
    uint32_t width, height;
    if (read_ppm_header(input, &width, &height) != 0) {
        fclose(input);
        return fail("not a binary PPM (P6, maxval 255)", in);
    }
    size_t arena_bytes = comrec_encode_arena_bytes(context, &options, width);
    if (arena_bytes == 0) {
        fclose(input);
        return fail("unknown profile or image too wide", options.profile ? options.profile : "fast");
    }
    void *arena = malloc(arena_bytes);
    output out = {0};
    if (!arena || output_open(&out, out_path) != 0) {
        free(arena);
        fclose(input);
        return arena ? 1 : fail("out of memory for the arena", NULL);
    }
    comrec_status status =
        comrec_encode(context, width, height, read_row, input, &options, arena, arena_bytes, write_bytes, out.file);
    free(arena);
    int truncated = status == COMREC_ERROR_CALLBACK && (feof(input) || ferror(input));
    fclose(input);
    if (status != COMREC_OK) {
        output_discard(&out);
        if (truncated) return fail("the PPM is truncated", in);
        return fail_status("encode failed", status, context);
    }
    return output_commit(&out);
}

static int decode(comrec_context *context, const char *in, const char *out_path) {
    size_t size = 0;
    uint8_t *data = read_file(in, &size);
    if (!data) return fail("cannot read", in);
    comrec_info info;
    comrec_status status = comrec_read_info(data, size, &info);
    size_t arena_bytes = 0;
    if (status == COMREC_OK) status = comrec_decode_arena_bytes_for_file(context, data, size, &arena_bytes);
    if (status != COMREC_OK) {
        free(data);
        return fail_status(in, status, context);
    }
    void *arena = malloc(arena_bytes);
    output out = {0};
    if (!arena || output_open(&out, out_path) != 0) {
        free(arena);
        free(data);
        return arena ? 1 : fail("out of memory for the arena", NULL);
    }
    fprintf(out.file, "P6\n%u %u\n255\n", info.width, info.height);
    status = comrec_decode(context, data, size, arena, arena_bytes, write_row, out.file);
    free(arena);
    free(data);
    if (status != COMREC_OK) {
        output_discard(&out);
        return fail_status("decode failed", status, context);
    }
    return output_commit(&out);
}

static int info(const char *in) {
    size_t size = 0;
    uint8_t *data = read_file(in, &size);
    if (!data) return fail("cannot read", in);
    comrec_info facts;
    comrec_status status = comrec_read_info(data, size, &facts);
    free(data);
    if (status != COMREC_OK) return fail_status(in, status, NULL);
    printf("%s: %u x %u, %s mode, stored %u x %u, quality %d, profile %s, model %016llx%s\n", in, facts.width,
           facts.height, facts.mode == COMREC_MODE_HALF ? "half" : "full", facts.stored_width, facts.stored_height,
           facts.quality, facts.profile, (unsigned long long)facts.model_hash,
           facts.decodable ? "" : " (not in this build)");
    return 0;
}

static int arena(comrec_context *context, const char *width_text) {
    char *end;
    long width = strtol(width_text, &end, 10);
    if (*end || width < 1 || width > 65500) return fail("WIDTH must be 1...65500, not", width_text);
    for (int i = 0; i < comrec_profile_count(); i++) {
        const char *name = comrec_profile_name(i);
        comrec_encode_options options;
        comrec_encode_options_init(&options);
        options.profile = name;
        printf("%s: decode half %zu (least %zu), decode full %zu (least %zu), encode half %zu bytes\n", name,
               comrec_decode_arena_bytes(context, name, COMREC_MODE_HALF, (uint32_t)width),
               comrec_decode_arena_bytes_minimum(context, name, COMREC_MODE_HALF, (uint32_t)width),
               comrec_decode_arena_bytes(context, name, COMREC_MODE_FULL, (uint32_t)width),
               comrec_decode_arena_bytes_minimum(context, name, COMREC_MODE_FULL, (uint32_t)width),
               comrec_encode_arena_bytes(context, &options, (uint32_t)width));
    }
    return 0;
}

static int usage(void) {
    fprintf(stderr,
            "usage: comrec-board encode IN.ppm OUT.jpg [QUALITY]\n"
            "       comrec-board decode IN.jpg OUT.ppm\n"
            "       comrec-board info IN.jpg\n"
            "       comrec-board arena WIDTH\n"
            "environment: COMREC_THREADS (default 1), COMREC_PROFILE (default fast), COMREC_MODE (half|full|auto),\n"
            "             COMREC_BPP (bits per pixel), COMREC_CONV (measured|direct|winograd)\n"
            "ComRec %s, C API %d, %s kernels\n",
            comrec_version(), comrec_api_version(), comrec_kernel_family());
    return 2;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "info") == 0) return info(argv[2]);
    int is_arena = argc == 3 && strcmp(argv[1], "arena") == 0;
    int is_encode = argc >= 4 && argc <= 5 && strcmp(argv[1], "encode") == 0;
    int is_decode = argc == 4 && strcmp(argv[1], "decode") == 0;
    if (!is_encode && !is_decode && !is_arena) return usage();
    int threads = threads_from_environment();
    if (threads < 0) return fail("COMREC_THREADS must be 1...64, not", getenv("COMREC_THREADS"));
    comrec_context *context = NULL;
    comrec_status status = comrec_context_create(threads, &context);
    if (status != COMREC_OK) return fail_status("cannot start", status, NULL);
    const char *conv = getenv("COMREC_CONV");
    if (conv && conv[0]) {
        int choice = strcmp(conv, "measured") == 0 ? COMREC_CONVOLUTION_MEASURED
                     : strcmp(conv, "direct") == 0 ? COMREC_CONVOLUTION_DIRECT
                     : strcmp(conv, "winograd") == 0 ? COMREC_CONVOLUTION_WINOGRAD : -1;
        if (choice < 0) {
            comrec_context_destroy(context);
            return fail("COMREC_CONV must be measured, direct or winograd, not", conv);
        }
        comrec_context_set_convolution(context, choice);
    }
    int result = is_arena    ? arena(context, argv[2])
                 : is_encode ? encode(context, argv[2], argv[3], argc == 5 ? argv[4] : NULL)
                             : decode(context, argv[2], argv[3]);
    comrec_context_destroy(context);
    return result;
}
