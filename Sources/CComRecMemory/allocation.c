// Memory for ComRec's large buffers: see include/CComRecMemory.h.
#include "CComRecMemory.h"

#include <stdlib.h>

// Per thread, so that a test's limit never reaches another test running beside it.
static _Thread_local size_t fail_above;

void *crc_allocate(size_t bytes, size_t alignment) {
    if (fail_above != 0 && bytes > fail_above) return NULL;
    void *block = NULL;
    if (alignment < sizeof(void *)) alignment = sizeof(void *);
    if (posix_memalign(&block, alignment, bytes == 0 ? 1 : bytes) != 0) return NULL;
    return block;
}

void crc_release(void *block) { free(block); }

size_t crc_allocation_fail_above(size_t bytes) {
    size_t previous = fail_above;
    fail_above = bytes;
    return previous;
}
