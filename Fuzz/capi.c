/*
 * libFuzzer target: the C API's decode entry points (include/comrec.h, Sources/ComRecC) as a C
 * caller uses them: comrec_read_info, comrec_decode_arena_bytes_for_file, then comrec_decode
 * into an arena malloc'ed to exactly the size asked for (so AddressSanitizer sees any byte
 * outside it), with each convolution choice. One context of one thread, limited to 4096 pixels.
 * Properties: no crash, no sanitizer report, no leak; info fields in range and the profile
 * NUL-terminated; a file whose arena size is known has info, and that size is at most what
 * comrec_decode_arena_bytes says for its profile, mode and width (for a profile this build has;
 * a file naming another profile decodes only in full mode without a network); a successful decode gives every
 * row once, top to bottom, at the info's width; an arena one byte short is refused, except that
 * the measured choice may fall back to direct convolutions, whose smaller arena one byte short is
 * refused; a file refused by the arena query is refused by comrec_decode too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comrec.h"

static comrec_context *context;

#define REQUIRE(condition, ...)                                  \
    do {                                                         \
        if (!(condition)) {                                      \
            fprintf(stderr, "fuzz property failed: " __VA_ARGS__); \
            fprintf(stderr, "\n");                               \
            abort();                                             \
        }                                                        \
    } while (0)

struct rows {
    uint32_t next, width;
    uint64_t sum;
};

static int on_row(void *user, uint32_t y, const uint8_t *rgb, uint32_t width) {
    struct rows *rows = user;
    REQUIRE(y == rows->next, "row %u given where row %u was due", y, rows->next);
    REQUIRE(width == rows->width, "a row of %u pixels in an image %u wide", width, rows->width);
    rows->next++;
    for (uint32_t i = 0; i < 3 * width; i++) rows->sum += rgb[i]; /* every byte is readable */
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    if (comrec_context_create(1, &context) != COMREC_OK) abort();
    if (comrec_context_set_max_pixels(context, 4096) != COMREC_OK) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    comrec_info info;
    memset(&info, 0xA5, sizeof info);
    int info_status = comrec_read_info(data, size, &info);
    (void)strlen(comrec_status_string(info_status));
    if (info_status == COMREC_OK) {
        REQUIRE(memchr(info.profile, 0, sizeof info.profile) != NULL, "the profile name is not NUL-terminated");
        REQUIRE(info.mode == COMREC_MODE_HALF || info.mode == COMREC_MODE_FULL, "mode %d", info.mode);
        REQUIRE(info.quality >= 1 && info.quality <= 100, "quality %d", info.quality);
        REQUIRE(info.width >= 1 && info.height >= 1, "size %u x %u", info.width, info.height);
        REQUIRE(info.progressive == 0 || info.progressive == 1, "progressive %d", info.progressive);
        REQUIRE(info.decodable == 0 || info.decodable == 1, "decodable %d", info.decodable);
    }

    int choice = (int)(size % 3);
    REQUIRE(comrec_context_set_convolution(context, choice) == COMREC_OK, "convolution choice refused");
    size_t needed = 0;
    int status = comrec_decode_arena_bytes_for_file(context, data, size, &needed);
    (void)strlen(comrec_context_message(context));
    struct rows rows = {0, info_status == COMREC_OK ? info.width : 0, 0};
    if (status != COMREC_OK) {
        uint8_t arena[256];
        int decoded = comrec_decode(context, data, size, arena, sizeof arena, on_row, &rows);
        REQUIRE(decoded != COMREC_OK, "a file refused by the arena query (status %d) was decoded", status);
        (void)strlen(comrec_context_message(context));
        return 0;
    }
    REQUIRE(info_status == COMREC_OK, "the arena of a file without info (status %d) is known", info_status);
    int known = 0;
    for (int i = 0; i < comrec_profile_count(); i++) known |= strcmp(comrec_profile_name(i), info.profile) == 0;
    if (known) {
        size_t bound = comrec_decode_arena_bytes(context, info.profile, info.mode, info.width);
        REQUIRE(needed <= bound, "the file needs %zu arena bytes, its profile %s at width %u at most %zu", needed,
                info.profile, info.width, bound);
    } else {
        /* Only a full-mode file without a network (a plain JPEG) decodes whatever profile it names;
         * comrec_decode_arena_bytes knows only this build's profiles and says 0. */
        REQUIRE(info.mode == COMREC_MODE_FULL, "a half-mode file of the unknown profile %s is decodable", info.profile);
    }

    uint8_t *arena = malloc(needed > 0 ? needed : 1);
    REQUIRE(arena != NULL, "out of memory");
    if (needed > 0) {
        int refused = comrec_decode(context, data, size, arena, needed - 1, on_row, &rows);
        if (choice == COMREC_CONVOLUTION_MEASURED && refused != COMREC_ERROR_ARENA_TOO_SMALL) {
            /* The fallback to direct convolutions: it must need less, and one byte short of that
             * is refused. */
            REQUIRE(refused != COMREC_OK || rows.next == info.height, "%u of %u rows decoded", rows.next, info.height);
            size_t least = 0;
            REQUIRE(comrec_context_set_convolution(context, COMREC_CONVOLUTION_DIRECT) == COMREC_OK
                        && comrec_decode_arena_bytes_for_file(context, data, size, &least) == COMREC_OK
                        && comrec_context_set_convolution(context, COMREC_CONVOLUTION_MEASURED) == COMREC_OK,
                    "the direct arena of a file whose measured arena is known");
            REQUIRE(least < needed, "one byte short of %zu decoded, but direct needs %zu", needed, least);
            rows = (struct rows){0, info.width, 0};
            if (least > 0) {
                int short_of_least = comrec_decode(context, data, size, arena, least - 1, on_row, &rows);
                REQUIRE(short_of_least == COMREC_ERROR_ARENA_TOO_SMALL, "one byte short of the least arena gave status %d",
                        short_of_least);
                REQUIRE(rows.next == 0, "one byte short of the least arena decoded rows");
            }
        } else {
            REQUIRE(refused == COMREC_ERROR_ARENA_TOO_SMALL, "an arena one byte short gave status %d", refused);
            REQUIRE(rows.next == 0, "an arena one byte short decoded rows");
        }
        rows = (struct rows){0, info.width, 0};
    }
    int decoded = comrec_decode(context, data, size, arena, needed, on_row, &rows);
    (void)strlen(comrec_context_message(context));
    if (decoded == COMREC_OK) {
        REQUIRE(rows.next == info.height, "%u of %u rows decoded", rows.next, info.height);
    }
    free(arena);
    return 0;
}
