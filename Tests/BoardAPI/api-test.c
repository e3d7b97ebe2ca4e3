/*
 * The C API's behaviour on bad input and its guarantees, through include/comrec.h only. Built and
 * run by scripts/boards.sh for every target (under qemu for ARM). Usage:
 *
 *   api-test FILE.jpg     FILE: a half-mode file of profile fast (made by `comrec encode`)
 *
 * Prints one line per failed check and ends with "api-test: N passed, M failed"; exits 1 on any
 * failure. A crash is a failure too (the script sees the signal).
 *
 * Link with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=posix_memalign,--wrap=aligned_alloc
 * (scripts/boards.sh does): the test counts what the library takes from the heap.
 */
#include "comrec.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

/* Heap allocations made by the library (and libjpeg) while `counting` is set. */
typedef struct heap_use {
    long calls;
    size_t bytes;
} heap_use;
static int counting;
static heap_use heap;
static void count(size_t bytes) {
    if (!__atomic_load_n(&counting, __ATOMIC_SEQ_CST)) return;
    /* Atomic: a context's worker threads allocate (or not) at the same time as its caller. */
    __atomic_fetch_add(&heap.calls, 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&heap.bytes, bytes, __ATOMIC_SEQ_CST);
}
void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *pointer, size_t size);
int __real_posix_memalign(void **pointer, size_t alignment, size_t size);
void *__real_aligned_alloc(size_t alignment, size_t size);
void *__wrap_malloc(size_t size) {
    count(size);
    return __real_malloc(size);
}
void *__wrap_calloc(size_t n, size_t size) {
    count(n * size);
    return __real_calloc(n, size);
}
void *__wrap_realloc(void *pointer, size_t size) {
    count(size);
    return __real_realloc(pointer, size);
}
int __wrap_posix_memalign(void **pointer, size_t alignment, size_t size) {
    count(size);
    return __real_posix_memalign(pointer, alignment, size);
}
void *__wrap_aligned_alloc(size_t alignment, size_t size) {
    count(size);
    return __real_aligned_alloc(alignment, size);
}

#define CHECK(condition, ...)                                          \
    do {                                                               \
        if (condition) {                                               \
            passed++;                                                  \
        } else {                                                       \
            failed++;                                                  \
            printf("FAIL line %d: ", __LINE__);                        \
            printf(__VA_ARGS__);                                       \
            printf("\n");                                              \
        }                                                              \
    } while (0)

static uint8_t *read_file(const char *path, size_t *size) {
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    fseek(file, 0, SEEK_END);
    long length = ftell(file);
    fseek(file, 0, SEEK_SET);
    uint8_t *data = malloc((size_t)length);
    *size = fread(data, 1, (size_t)length, file);
    fclose(file);
    return data;
}

/* A sink that hashes the rows (FNV-1a) and counts them; stops when told to. */
typedef struct sink {
    uint64_t hash;
    uint32_t rows;
    uint32_t stop_at;  /* 0: never */
} sink;

static int take_row(void *user, uint32_t y, const uint8_t *rgb, uint32_t width) {
    sink *s = user;
    if (y != s->rows) return 1;  /* out of order: stop (the test then fails on the status) */
    if (s->stop_at && y + 1 == s->stop_at) return 1;
    for (uint32_t i = 0; i < width * 3; i++) s->hash = (s->hash ^ rgb[i]) * 0x100000001b3ULL;
    s->rows++;
    return 0;
}

static comrec_status decode(comrec_context *context, const uint8_t *data, size_t size, sink *s) {
    size_t bytes = 0;
    comrec_status status = comrec_decode_arena_bytes_for_file(context, data, size, &bytes);
    if (status != COMREC_OK) return status;
    void *arena = malloc(bytes);
    s->hash = 0xcbf29ce484222325ULL;
    s->rows = 0;
    status = comrec_decode(context, data, size, arena, bytes, take_row, s);
    free(arena);
    return status;
}

/* Where the segment's profile name "fast" (length byte 4) starts; the model hash (8 bytes), the
 * width and the height (4 bytes each, big-endian) follow it. */
static long find_profile(const uint8_t *data, size_t size) {
    for (size_t i = 0; i + 5 < size; i++) {
        if (data[i] == 4 && memcmp(data + i + 1, "fast", 4) == 0) return (long)i;
    }
    return -1;
}

typedef struct thread_job {
    const uint8_t *data;
    size_t size;
    sink result;
    comrec_status status;
} thread_job;

static void *decode_in_thread(void *raw) {
    thread_job *job = raw;
    comrec_context *context = NULL;
    job->status = comrec_context_create(2, &context);
    if (job->status == COMREC_OK) job->status = decode(context, job->data, job->size, &job->result);
    comrec_context_destroy(context);
    return NULL;
}

static int read_nothing(void *user, uint32_t y, uint8_t *rgb, uint32_t width) {
    (void)user;
    memset(rgb, (int)(y * 7), (size_t)width * 3);
    return 0;
}

/* Colour rows (no two channels equal), so that every encode path stores them in colour. */
static int read_colour(void *user, uint32_t y, uint8_t *rgb, uint32_t width) {
    (void)user;
    for (uint32_t x = 0; x < width; x++) {
        rgb[3 * x] = (uint8_t)(x * 5 + y * 3);
        rgb[3 * x + 1] = (uint8_t)(x * 3 + 80);
        rgb[3 * x + 2] = (uint8_t)(y * 7 + 160);
    }
    return 0;
}

static int refuse_row(void *user, uint32_t y, uint8_t *rgb, uint32_t width) {
    (void)user;
    memset(rgb, 0, (size_t)width * 3);
    return y == 3;
}

/* A write callback that appends to a growing buffer. */
typedef struct bytes_out {
    uint8_t *data;
    size_t size;
} bytes_out;

static int keep_bytes(void *user, const uint8_t *bytes, size_t size) {
    bytes_out *out = user;
    uint8_t *grown = realloc(out->data, out->size + size);
    if (!grown) return 1;
    memcpy(grown + out->size, bytes, size);
    out->data = grown;
    out->size += size;
    return 0;
}

/* The heap use of one decode of `data` in an arena of the size comrec_decode_arena_bytes_for_file
 * says (COMREC_ERROR_* on failure: calls -1). */
static heap_use decode_heap_use(comrec_context *context, const uint8_t *data, size_t size) {
    size_t bytes = 0;
    heap_use failed_use = {-1, 0};
    if (comrec_decode_arena_bytes_for_file(context, data, size, &bytes) != COMREC_OK) return failed_use;
    void *arena = malloc(bytes);
    sink s = {.hash = 0xcbf29ce484222325ULL};
    heap = (heap_use){0, 0};
    counting = 1;
    comrec_status status = comrec_decode(context, data, size, arena, bytes, take_row, &s);
    counting = 0;
    free(arena);
    return status == COMREC_OK ? heap : failed_use;
}

static int discard_bytes(void *user, const uint8_t *bytes, size_t size) {
    (void)bytes;
    *(size_t *)user += size;
    return 0;
}

/* The heap use of one streamed encode of a `width` x `height` image with `options` (calls -1 on failure). */
static heap_use encode_heap_use(comrec_context *context, const comrec_encode_options *options, uint32_t width,
                                uint32_t height) {
    heap_use failed_use = {-1, 0};
    size_t need = comrec_encode_arena_bytes(context, options, width);
    void *arena = malloc(need);
    size_t written = 0;
    heap = (heap_use){0, 0};
    counting = 1;
    comrec_status status = comrec_encode(context, width, height, read_nothing, NULL, options, arena, need, discard_bytes, &written);
    counting = 0;
    free(arena);
    return status == COMREC_OK && written > 0 ? heap : failed_use;
}

static int refuse_bytes(void *user, const uint8_t *bytes, size_t size) {
    (void)user;
    (void)bytes;
    (void)size;
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: api-test FILE.jpg (a half-mode file of profile fast)\n");
        return 2;
    }
    size_t size = 0;
    uint8_t *file = read_file(argv[1], &size);
    if (!file) {
        fprintf(stderr, "api-test: cannot read %s\n", argv[1]);
        return 2;
    }
    CHECK(comrec_api_version() == COMREC_API_VERSION, "API version %d", comrec_api_version());
    CHECK(comrec_profile_count() >= 2 && comrec_profile_name(comrec_profile_count()) == NULL, "profile list");
    CHECK(strlen(comrec_status_string(12345)) > 0 && strlen(comrec_status_string(COMREC_ERROR_CORRUPT)) > 0, "messages");

    comrec_context *context = NULL;
    CHECK(comrec_context_create(0, &context) == COMREC_ERROR_ARGUMENT && context == NULL, "0 threads");
    CHECK(comrec_context_create(65, &context) == COMREC_ERROR_ARGUMENT, "65 threads");
    CHECK(comrec_context_create(1, NULL) == COMREC_ERROR_ARGUMENT, "NULL result pointer");
    CHECK(comrec_context_create(1, &context) == COMREC_OK && context != NULL, "1 thread");

    comrec_info info;
    CHECK(comrec_read_info(file, size, &info) == COMREC_OK && info.mode == COMREC_MODE_HALF && info.decodable == 1
              && strcmp(info.profile, "fast") == 0,
          "info of the sample");
    CHECK(comrec_read_info(NULL, size, &info) == COMREC_ERROR_ARGUMENT, "info of NULL");
    CHECK(comrec_read_info(file, size, NULL) == COMREC_ERROR_ARGUMENT, "info into NULL");

    /* A good decode, the reference for what follows. */
    sink good = {0};
    CHECK(decode(context, file, size, &good) == COMREC_OK && good.rows == info.height, "decode the sample");

    /* Arena: too small is refused; a sufficient one is not written outside (guard zones). */
    size_t need = 0;
    CHECK(comrec_decode_arena_bytes_for_file(context, file, size, &need) == COMREC_OK && need > 0, "arena size");
    CHECK(need <= comrec_decode_arena_bytes(context, "fast", COMREC_MODE_HALF, info.width), "file arena <= width arena");
    CHECK(comrec_decode_arena_bytes(context, "nonesuch", COMREC_MODE_HALF, 100) == 0, "unknown profile arena");
    /* A plain full-mode file needs a row and the JPEG decoder: more than the row, less than fast's enhancer. */
    size_t plain = comrec_decode_arena_bytes(context, NULL, COMREC_MODE_FULL, 100);
    CHECK(plain > 100 * 3 && plain < comrec_decode_arena_bytes(context, "fast", COMREC_MODE_FULL, 100), "plain full-mode arena %zu", plain);
    CHECK(comrec_decode_arena_bytes(context, NULL, COMREC_MODE_HALF, 100) == 0, "no half-mode arena without a profile");
    /* The least arena is direct convolution's; under MEASURED a decode given only that falls back
     * to direct convolutions, and one byte less is refused. */
    size_t least = 0;
    CHECK(comrec_context_set_convolution(context, COMREC_CONVOLUTION_DIRECT) == COMREC_OK
              && comrec_decode_arena_bytes_for_file(context, file, size, &least) == COMREC_OK
              && comrec_context_set_convolution(context, COMREC_CONVOLUTION_MEASURED) == COMREC_OK && least <= need,
          "least arena %zu <= measured arena %zu", least, need);
    CHECK(comrec_decode_arena_bytes_minimum(context, "fast", COMREC_MODE_HALF, info.width)
              <= comrec_decode_arena_bytes(context, "fast", COMREC_MODE_HALF, info.width),
          "minimum arena <= arena");
    uint8_t *guarded = malloc(need + 512);
    for (int pass = 0; pass < 2; pass++) {
        size_t given = pass == 0 ? need : least;
        memset(guarded, 0xA5, need + 512);
        sink s = {.hash = 0xcbf29ce484222325ULL};
        CHECK(comrec_decode(context, file, size, guarded + 256, given - 1, take_row, &s)
                  == (pass == 0 && least < need ? COMREC_OK : COMREC_ERROR_ARENA_TOO_SMALL),
              "arena of %zu bytes, one short of %s", given, pass == 0 ? "the measured need" : "the least");
        s = (sink){.hash = 0xcbf29ce484222325ULL};
        CHECK(comrec_decode(context, file, size, guarded + 256, given, take_row, &s) == COMREC_OK && s.hash == good.hash,
              "decode in a guarded arena of %zu bytes", given);
        int clean = 1;
        for (size_t i = 0; i < 256; i++) clean &= guarded[i] == 0xA5 && guarded[given + 256 + i] == 0xA5;
        CHECK(clean, "no write outside the arena of %zu bytes", given);
    }
    free(guarded);
    /* A forced choice has no fallback. */
    if (least < need) {
        void *small = malloc(least);
        sink s = {.hash = 0xcbf29ce484222325ULL};
        CHECK(comrec_context_set_convolution(context, COMREC_CONVOLUTION_WINOGRAD) == COMREC_OK
                  && comrec_decode(context, file, size, small, least, take_row, &s) == COMREC_ERROR_ARENA_TOO_SMALL
                  && comrec_context_set_convolution(context, COMREC_CONVOLUTION_MEASURED) == COMREC_OK,
              "forced Winograd refuses direct's arena");
        free(small);
    }

    /* Direct and Winograd convolutions: the same rows; direct never needs more arena. */
    size_t arenas[3];
    for (int choice = COMREC_CONVOLUTION_MEASURED; choice <= COMREC_CONVOLUTION_WINOGRAD; choice++) {
        CHECK(comrec_context_set_convolution(context, choice) == COMREC_OK, "set convolution %d", choice);
        arenas[choice] = comrec_decode_arena_bytes(context, "fast", COMREC_MODE_HALF, 8192);
        sink other = {0};
        CHECK(decode(context, file, size, &other) == COMREC_OK && other.hash == good.hash, "convolution %d: same rows", choice);
    }
    CHECK(arenas[COMREC_CONVOLUTION_DIRECT] <= arenas[COMREC_CONVOLUTION_MEASURED]
              && arenas[COMREC_CONVOLUTION_MEASURED] <= arenas[COMREC_CONVOLUTION_WINOGRAD]
              && arenas[COMREC_CONVOLUTION_DIRECT] < arenas[COMREC_CONVOLUTION_WINOGRAD],
          "arena: direct %zu <= measured %zu <= Winograd %zu", arenas[1], arenas[0], arenas[2]);
    CHECK(comrec_context_set_convolution(context, 7) == COMREC_ERROR_ARGUMENT, "unknown convolution choice");
    CHECK(comrec_context_set_convolution(context, COMREC_CONVOLUTION_MEASURED) == COMREC_OK, "back to measured");

    /* NULL arguments. */
    sink s = {.hash = 0xcbf29ce484222325ULL};
    void *arena = malloc(need);
    CHECK(comrec_decode(context, file, size, arena, need, NULL, &s) == COMREC_ERROR_ARGUMENT, "NULL row callback");
    CHECK(comrec_decode(context, NULL, size, arena, need, take_row, &s) == COMREC_ERROR_ARGUMENT, "NULL data");
    CHECK(comrec_decode(context, file, size, NULL, need, take_row, &s) == COMREC_ERROR_ARGUMENT, "NULL arena");
    CHECK(comrec_decode(NULL, file, size, arena, need, take_row, &s) == COMREC_ERROR_ARGUMENT, "NULL context");

    /* A callback that stops. */
    s = (sink){.hash = 0xcbf29ce484222325ULL, .stop_at = 2};
    CHECK(comrec_decode(context, file, size, arena, need, take_row, &s) == COMREC_ERROR_CALLBACK
              && strlen(comrec_context_message(context)) > 0,
          "row callback stops");

    /* Wrong magic: not ComRec. */
    uint8_t *copy = malloc(size);
    memcpy(copy, file, size);
    copy[0] = 0x89;
    CHECK(comrec_decode(context, copy, size, arena, need, take_row, &s) == COMREC_ERROR_NOT_COMREC, "wrong magic");

    /* A different model hash, an absurd size. */
    long at = find_profile(file, size);
    CHECK(at > 0, "the segment's profile name is in the sample");
    if (at > 0) {
        memcpy(copy, file, size);
        copy[at + 5] ^= 0x40;
        CHECK(comrec_decode(context, copy, size, arena, need, take_row, &s) == COMREC_ERROR_MODEL_MISMATCH, "model hash");
        memcpy(copy, file, size);
        copy[at + 13] = 0x7F;  /* width ~2^31 */
        copy[at + 17] = 0x7F;
        comrec_status status = comrec_decode(context, copy, size, arena, need, take_row, &s);
        CHECK(status == COMREC_ERROR_TOO_LARGE, "absurd size: %s", comrec_status_string(status));
        memcpy(copy, file, size);
        copy[at + 16] ^= 0x01;  /* width off by one: the stored JPEG no longer matches */
        status = comrec_decode(context, copy, size, arena, need, take_row, &s);
        CHECK(status == COMREC_ERROR_CORRUPT, "mismatched size: %s", comrec_status_string(status));
    }
    CHECK(comrec_context_set_max_pixels(context, 10) == COMREC_OK, "set the pixel limit");
    CHECK(comrec_decode(context, file, size, arena, need, take_row, &s) == COMREC_ERROR_TOO_LARGE, "over the limit");
    CHECK(comrec_context_set_max_pixels(context, 100000000) == COMREC_OK, "reset the pixel limit");

    /* Every truncation is an error (never a crash, never success with missing rows). */
    int truncations_refused = 1;
    for (size_t cut = 0; cut < size; cut += cut < 64 ? 1 : 97) {
        s = (sink){.hash = 0xcbf29ce484222325ULL};
        comrec_status status = comrec_decode(context, file, cut, arena, need, take_row, &s);
        if (status != COMREC_ERROR_CORRUPT && status != COMREC_ERROR_NOT_COMREC) {
            truncations_refused = 0;
            printf("  truncated at %zu: %s\n", cut, comrec_status_string(status));
        }
    }
    CHECK(truncations_refused, "truncated files");

    /* Flipped bytes in the entropy-coded data: an error or an image, never a crash or a bad row count. */
    int corrupt_ok = 1;
    for (size_t i = size / 2; i + 2 < size; i += size / 16 + 1) {
        memcpy(copy, file, size);
        copy[i] ^= 0x5A;
        s = (sink){.hash = 0xcbf29ce484222325ULL};
        comrec_status status = comrec_decode(context, copy, size, arena, need, take_row, &s);
        if (!(status == COMREC_ERROR_CORRUPT || (status == COMREC_OK && s.rows == info.height))) corrupt_ok = 0;
    }
    CHECK(corrupt_ok, "corrupt data");
    free(copy);
    free(arena);

    /* Encode: bad options and callbacks. */
    comrec_encode_options options;
    comrec_encode_options_init(&options);
    CHECK(options.quality == 75 && options.mode == COMREC_MODE_HALF && options.profile == NULL && options.effort == 1
              && options.max_bits_per_pixel == 0 && options.trellis == 1 && options.optimize_huffman == 1
              && options.tables == 0,
          "default options");
    size_t encode_need = comrec_encode_arena_bytes(context, &options, 40);
    /* One buffer for every encode below: as large as the largest arena they ask for (the streamed
     * half mode's with rounding, which gives libjpeg's compressor its part too). */
    comrec_encode_options rounding;
    comrec_encode_options_init(&rounding);
    rounding.trellis = 0;
    size_t encode_buffer = comrec_encode_arena_bytes(context, &rounding, 40);
    if (encode_buffer < encode_need) encode_buffer = encode_need;
    void *encode_arena = malloc(encode_buffer);
    size_t written = 0;
    CHECK(comrec_encode(context, 40, 30, read_nothing, NULL, &options, encode_arena, encode_buffer, discard_bytes, &written)
              == COMREC_OK && written > 0,
          "encode 40x30");
    CHECK(comrec_encode(context, 40, 30, NULL, NULL, &options, encode_arena, encode_buffer, discard_bytes, &written)
              == COMREC_ERROR_ARGUMENT,
          "NULL read callback");
    CHECK(comrec_encode(context, 40, 30, read_nothing, NULL, &options, encode_arena, encode_need / 2, discard_bytes,
                        &written) == COMREC_ERROR_ARENA_TOO_SMALL,
          "encode arena too small");
    CHECK(comrec_encode(context, 40, 30, refuse_row, NULL, &options, encode_arena, encode_buffer, discard_bytes, &written)
              == COMREC_ERROR_CALLBACK,
          "read callback stops");
    CHECK(comrec_encode(context, 40, 30, read_nothing, NULL, &options, encode_arena, encode_buffer, refuse_bytes, NULL)
              == COMREC_ERROR_CALLBACK,
          "write callback stops");
    CHECK(comrec_encode(context, 0, 30, read_nothing, NULL, &options, encode_arena, encode_buffer, discard_bytes, &written)
              != COMREC_OK,
          "empty image");
    /* Sizes no JPEG holds are refused before any arithmetic on them (Int is 32 bits on armv7). */
    CHECK(comrec_encode(context, UINT32_MAX, 30, read_nothing, NULL, &options, encode_arena, encode_buffer, discard_bytes,
                        &written) == COMREC_ERROR_TOO_LARGE,
          "a width of UINT32_MAX: %s", comrec_context_message(context));
    CHECK(comrec_encode(context, 20000000, 1, read_nothing, NULL, &options, encode_arena, encode_buffer, discard_bytes,
                        &written) == COMREC_ERROR_TOO_LARGE,
          "a width of 20,000,000: %s", comrec_context_message(context));
    CHECK(comrec_encode_arena_bytes(context, &options, UINT32_MAX) == 0, "the arena for a width of UINT32_MAX");
    char long_name[200];
    memset(long_name, 'f', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    options.profile = long_name;
    CHECK(comrec_encode(context, 40, 30, read_nothing, NULL, &options, encode_arena, encode_buffer, discard_bytes, &written)
              == COMREC_ERROR_ARGUMENT,
          "a profile name of 199 bytes: %s", comrec_context_message(context));
    CHECK(strstr(comrec_context_message(context), "longer than 64 bytes") != NULL, "read no further than 65 bytes: %s",
          comrec_context_message(context));
    CHECK(comrec_decode_arena_bytes(context, long_name, COMREC_MODE_HALF, 100) == 0, "the arena of a 199-byte profile name");
    options.profile = NULL;
    /* AUTO mode and a size target: the whole-image path, with a small arena. */
    comrec_encode_options automatic;
    comrec_encode_options_init(&automatic);
    automatic.mode = COMREC_MODE_AUTO;
    automatic.max_bits_per_pixel = 8.0; /* 1200 bytes for 40 x 30: room for the JPEG headers */
    size_t small_arena = comrec_encode_arena_bytes(context, &automatic, 40);
    CHECK(small_arena > 0 && small_arena < encode_need, "auto-mode arena %zu", small_arena);
    written = 0;
    CHECK(comrec_encode(context, 40, 30, read_nothing, NULL, &automatic, encode_arena, small_arena, discard_bytes,
                        &written) == COMREC_OK && written > 0 && written * 8 <= 8 * 40 * 30,
          "auto mode at 8 bits per pixel: %zu bytes", written);
    automatic.max_bits_per_pixel = 1e300; /* a target beyond any file: no limit */
    written = 0;
    CHECK(comrec_encode(context, 40, 30, read_nothing, NULL, &automatic, encode_arena, small_arena, discard_bytes,
                        &written) == COMREC_OK && written > 0,
          "auto mode at 1e300 bits per pixel: %zu bytes (%s)", written, comrec_context_message(context));
    automatic.max_bits_per_pixel = -1;
    CHECK(comrec_encode(context, 40, 30, read_nothing, NULL, &automatic, encode_arena, small_arena, discard_bytes,
                        &written) == COMREC_ERROR_ARGUMENT,
          "negative bits per pixel");
    automatic.max_bits_per_pixel = 0;
    automatic.effort = 3;
    CHECK(comrec_encode(context, 40, 30, read_nothing, NULL, &automatic, encode_arena, small_arena, discard_bytes,
                        &written) == COMREC_ERROR_ARGUMENT,
          "effort 3");
    /* FULL mode: trellis reads the whole image (a small arena), rounding streams (the row's arena). */
    comrec_encode_options full;
    comrec_encode_options_init(&full);
    full.mode = COMREC_MODE_FULL;
    size_t trellis_arena = comrec_encode_arena_bytes(context, &full, 40);
    full.trellis = 0;
    size_t rounding_arena = comrec_encode_arena_bytes(context, &full, 40);
    CHECK(trellis_arena > 0 && trellis_arena < rounding_arena, "full-mode arenas: trellis %zu, rounding %zu", trellis_arena,
          rounding_arena);
    for (int trellis = 0; trellis <= 1; trellis++) {
        full.trellis = trellis;
        written = 0;
        CHECK(comrec_encode(context, 40, 30, read_nothing, NULL, &full, encode_arena, encode_buffer, discard_bytes, &written)
                  == COMREC_OK && written > 0,
              "full mode, trellis %d", trellis);
    }
    full.trellis = 2;
    CHECK(comrec_encode(context, 40, 30, read_nothing, NULL, &full, encode_arena, encode_buffer, discard_bytes, &written)
              == COMREC_ERROR_ARGUMENT,
          "trellis 2");
    /* HALF mode of `fast`: with trellis the compact image (a quarter of the pixels) is kept whole and
     * quantised as a whole, so the arena holds only ComCNN's rows; rounding streams it into libjpeg. */
    comrec_encode_options half;
    comrec_encode_options_init(&half);
    size_t half_trellis_arena = comrec_encode_arena_bytes(context, &half, 40);
    half.trellis = 0;
    size_t half_rounding_arena = comrec_encode_arena_bytes(context, &half, 40);
    CHECK(half_trellis_arena > 0 && half_trellis_arena < half_rounding_arena,
          "half-mode arenas: trellis %zu, rounding %zu", half_trellis_arena, half_rounding_arena);
    for (int trellis = 0; trellis <= 1; trellis++) {
        half.trellis = trellis;
        written = 0;
        CHECK(comrec_encode(context, 40, 30, read_nothing, NULL, &half, encode_arena,
                            trellis ? half_trellis_arena : half_rounding_arena, discard_bytes, &written)
                  == COMREC_OK && written > 0,
              "half mode, trellis %d", trellis);
    }
    half.trellis = 1;
    CHECK(comrec_encode(context, 40, 30, refuse_row, NULL, &half, encode_arena, half_trellis_arena, discard_bytes,
                        &written) == COMREC_ERROR_CALLBACK,
          "half mode with trellis: read callback stops");
    CHECK(comrec_encode(context, 40, 30, read_nothing, NULL, &half, encode_arena, half_trellis_arena, refuse_bytes, NULL)
              == COMREC_ERROR_CALLBACK,
          "half mode with trellis: write callback stops");
    full.trellis = 1;
    for (int tables = 0; tables <= 2; tables++) {
        full.tables = tables;
        written = 0;
        CHECK(comrec_encode(context, 40, 30, read_nothing, NULL, &full, encode_arena, encode_buffer, discard_bytes, &written)
                  == COMREC_OK && written > 0,
              "full mode, tables %d", tables);
    }
    full.tables = 3;
    CHECK(comrec_encode(context, 40, 30, read_nothing, NULL, &full, encode_arena, encode_buffer, discard_bytes, &written)
              == COMREC_ERROR_ARGUMENT,
          "tables 3");
    full.tables = 0;
    options.quality = 0;
    CHECK(comrec_encode(context, 40, 30, read_nothing, NULL, &options, encode_arena, encode_buffer, discard_bytes, &written)
              == COMREC_ERROR_ARGUMENT,
          "quality 0");
    options.quality = 75;
    options.profile = "nonesuch";
    CHECK(comrec_encode(context, 40, 30, read_nothing, NULL, &options, encode_arena, encode_buffer, discard_bytes, &written)
              == COMREC_ERROR_ARGUMENT,
          "unknown profile");
    /* Metadata: stored as `comrec encode` stores an input's, refused where a JPEG cannot hold it. */
    static const uint8_t exif[] = {'I', 'I', '*', 0, 8, 0, 0, 0, 0, 0};
    static const uint8_t not_tiff[] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', '*', 0};
    static const uint8_t icc[] = "not a real profile, but bytes to carry";
    comrec_encode_options with_metadata;
    comrec_encode_options_init(&with_metadata);
    with_metadata.exif = exif;
    with_metadata.exif_bytes = sizeof exif;
    with_metadata.icc = icc;
    with_metadata.icc_bytes = sizeof icc;
    bytes_out tagged = {NULL, 0};
    CHECK(comrec_encode(context, 40, 30, read_nothing, NULL, &with_metadata, encode_arena, encode_buffer, keep_bytes,
                        &tagged) == COMREC_OK,
          "encode with EXIF and an ICC profile");
    int has_exif = 0, has_icc = 0;
    for (size_t i = 0; i + 16 < tagged.size; i++) {
        has_exif |= memcmp(tagged.data + i, "Exif\0\0II*\0", 10) == 0;
        has_icc |= memcmp(tagged.data + i, "ICC_PROFILE\0\1\1not a real", 22) == 0;
    }
    CHECK(has_exif && has_icc, "the file holds the EXIF (%d) and the ICC profile (%d)", has_exif, has_icc);
    comrec_info tagged_info;
    CHECK(comrec_read_info(tagged.data, tagged.size, &tagged_info) == COMREC_OK && tagged_info.width == 40,
          "info of a file with metadata");
    free(tagged.data);
    with_metadata.exif = not_tiff;
    with_metadata.exif_bytes = sizeof not_tiff;
    written = 0;
    CHECK(comrec_encode(context, 40, 30, read_nothing, NULL, &with_metadata, encode_arena, encode_buffer, discard_bytes,
                        &written) == COMREC_ERROR_ARGUMENT && written == 0,
          "EXIF without a TIFF header refused: %s", comrec_context_message(context));
    uint8_t *large_exif = calloc(70000, 1);
    memcpy(large_exif, exif, sizeof exif);
    with_metadata.exif = large_exif;
    with_metadata.exif_bytes = 70000;
    CHECK(comrec_encode(context, 40, 30, read_nothing, NULL, &with_metadata, encode_arena, encode_buffer, discard_bytes,
                        &written) == COMREC_ERROR_ARGUMENT && written == 0,
          "EXIF over one segment refused");
    with_metadata.exif_bytes = SIZE_MAX;
    CHECK(comrec_encode(context, 40, 30, read_nothing, NULL, &with_metadata, encode_arena, encode_buffer, discard_bytes,
                        &written) == COMREC_ERROR_ARGUMENT && written == 0,
          "an EXIF size of SIZE_MAX refused before it is read: %s", comrec_context_message(context));
    free(large_exif);
    free(encode_arena);

    /* What a decode takes from the heap does not grow with the image: the file is read where it
     * is, libjpeg's state and every row live in the arena (libjpeg's alone is over 20 KB), and
     * only a few small records of the decode's plan come from the heap, the same for the sample
     * and an image 16 times wider and of another height. */
    bytes_out wide = {NULL, 0};
    comrec_encode_options wide_options;
    comrec_encode_options_init(&wide_options);
    size_t wide_need = comrec_encode_arena_bytes(context, &wide_options, 16 * info.width);
    void *wide_arena = malloc(wide_need);
    CHECK(comrec_encode(context, 16 * info.width, 40, read_nothing, NULL, &wide_options, wide_arena, wide_need,
                        keep_bytes, &wide) == COMREC_OK,
          "encode a wide image");
    free(wide_arena);
    heap_use narrow_use = decode_heap_use(context, file, size);
    heap_use wide_use = decode_heap_use(context, wide.data, wide.size);
    comrec_context *threaded = NULL;
    CHECK(comrec_context_create(4, &threaded) == COMREC_OK, "a context with 4 threads");
    heap_use threaded_use = decode_heap_use(threaded, file, size);
    CHECK(narrow_use.calls == 0 && narrow_use.bytes == 0 && wide_use.calls == 0 && threaded_use.calls == 0,
          "heap use of a decode: %ld allocations, %zu bytes; %ld, %zu for the wide image; %ld, %zu with 4 threads",
          narrow_use.calls, narrow_use.bytes, wide_use.calls, wide_use.bytes, threaded_use.calls, threaded_use.bytes);
    printf("heap use of a decode: %ld allocations, %zu bytes (1 thread; 4 threads: %ld, %zu; arena of the sample: %zu bytes)\n",
           narrow_use.calls, narrow_use.bytes, threaded_use.calls, threaded_use.bytes, need);
    /* A streamed encode's records come from the context and libjpeg's compressor from the arena:
     * with standard Huffman tables it takes nothing from the heap; with optimised ones (the
     * default) only libjpeg's buffer of the image's coefficients, which grows with the image. */
    for (int mode = COMREC_MODE_HALF; mode <= COMREC_MODE_FULL; mode++) {
        const char *name = mode == COMREC_MODE_HALF ? "half" : "full";
        comrec_encode_options streamed;
        comrec_encode_options_init(&streamed);
        streamed.mode = mode;
        streamed.trellis = 0;
        streamed.optimize_huffman = 0;
        heap_use narrow_encode = encode_heap_use(context, &streamed, info.width, 400);
        heap_use wide_encode = encode_heap_use(context, &streamed, 16 * info.width, 40);
        heap_use threaded_encode = encode_heap_use(threaded, &streamed, info.width, 400);
        CHECK(narrow_encode.calls == 0 && wide_encode.calls == 0 && threaded_encode.calls == 0,
              "heap use of a %s-mode encode with standard Huffman tables: %ld allocations; %ld for the wide image, "
              "%ld with 4 threads", name, narrow_encode.calls, wide_encode.calls, threaded_encode.calls);
        streamed.optimize_huffman = 1;
        heap_use optimised = encode_heap_use(context, &streamed, info.width, 400);
        heap_use optimised_wide = encode_heap_use(context, &streamed, 16 * info.width, 400);
        CHECK(optimised.calls > 0 && optimised_wide.bytes > optimised.bytes,
              "a %s-mode encode with optimised Huffman tables keeps its coefficients on the heap: %zu bytes, %zu wide",
              name, optimised.bytes, optimised_wide.bytes);
        printf("heap use of a streamed %s-mode encode: 0 allocations with standard Huffman tables; optimised: %ld "
               "allocations, %zu bytes (%zu 16 times wider)\n",
               name, optimised.calls, optimised.bytes, optimised_wide.bytes);
    }
    comrec_context_destroy(threaded);
    free(wide.data);

    /* A progressive file decodes in the arena the query gives (its coefficients, which grow with
     * the height, come from the heap). */
    bytes_out progressive = {NULL, 0};
    wide_options.progressive = 1;
    wide_need = comrec_encode_arena_bytes(context, &wide_options, info.width);
    wide_arena = malloc(wide_need);
    CHECK(comrec_encode(context, info.width, 300, read_nothing, NULL, &wide_options, wide_arena, wide_need, keep_bytes,
                        &progressive) == COMREC_OK,
          "encode a progressive file");
    free(wide_arena);
    comrec_info progressive_info;
    heap_use progressive_use = decode_heap_use(context, progressive.data, progressive.size);
    CHECK(comrec_read_info(progressive.data, progressive.size, &progressive_info) == COMREC_OK
              && progressive_info.progressive == 1 && progressive_use.calls >= 0
              && progressive_use.bytes > narrow_use.bytes,
          "decode a progressive file: %ld allocations, %zu bytes from the heap", progressive_use.calls,
          progressive_use.bytes);
    free(progressive.data);

    /* The smallest layout of scans (progressive 2, what `comrec encode` writes by default; a
     * whole-image encode) is never larger than one baseline scan of the same colour image (a
     * streamed one); an unknown layout is refused. */
    bytes_out layouts[2] = {{NULL, 0}, {NULL, 0}};
    for (int i = 0; i < 2; i++) {
        wide_options.progressive = i == 0 ? 0 : 2;
        wide_need = comrec_encode_arena_bytes(context, &wide_options, info.width);
        wide_arena = malloc(wide_need);
        CHECK(wide_need > 0 && comrec_encode(context, info.width, 300, read_colour, NULL, &wide_options, wide_arena,
                                             wide_need, keep_bytes, &layouts[i]) == COMREC_OK,
              "encode with progressive %d", wide_options.progressive);
        free(wide_arena);
    }
    CHECK(layouts[1].size > 0 && layouts[1].size <= layouts[0].size,
          "the smallest layout of scans: %zu bytes against %zu for baseline", layouts[1].size, layouts[0].size);
    for (int i = 0; i < 2; i++) free(layouts[i].data);
    /* Half mode stores half the width whether it streams or not: 131000 pixels fit. */
    CHECK(comrec_encode_arena_bytes(context, &wide_options, 131000) > 0
              && comrec_encode_arena_bytes(context, &wide_options, 131002) == 0,
          "progressive 2, half mode: the arena of a 131000-pixel-wide image, none for 131002");
    wide_options.progressive = 3;
    CHECK(comrec_encode_arena_bytes(context, &wide_options, info.width) == 0, "progressive 3 is refused");
    comrec_context_destroy(context);

    /* The widest image on the most threads: every thread's scratch at 131070 pixels passes a
     * 32-bit address space, so there the arena query says 0 (cannot), never aborts. */
    comrec_context *many = NULL;
    CHECK(comrec_context_create(64, &many) == COMREC_OK, "64 threads");
    size_t widest = comrec_decode_arena_bytes(many, "fast", COMREC_MODE_HALF, 2 * 65535);
    size_t widest_encode = comrec_encode_arena_bytes(many, NULL, 2 * 65500);
    CHECK(sizeof(size_t) == 4 ? widest == 0 : widest > 64 * (size_t)65535 * 64,
          "the arena of a %d-pixel-wide half-mode decode on 64 threads: %zu", 2 * 65535, widest);
    CHECK(sizeof(size_t) == 4 ? widest_encode == 0 : widest_encode > 64 * (size_t)65500 * 64,
          "the arena of a %d-pixel-wide half-mode encode on 64 threads: %zu", 2 * 65500, widest_encode);
    comrec_context_destroy(many);

    /* Two contexts on two threads at once give the single decode's rows. */
    thread_job jobs[2] = {{file, size, {0}, COMREC_OK}, {file, size, {0}, COMREC_OK}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, decode_in_thread, &jobs[i]);
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    CHECK(jobs[0].status == COMREC_OK && jobs[1].status == COMREC_OK && jobs[0].result.hash == good.hash
              && jobs[1].result.hash == good.hash,
          "two contexts on two threads");

    free(file);
    printf("api-test: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
