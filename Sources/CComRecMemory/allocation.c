// Memory for ComRec's large buffers: see include/CComRecMemory.h.
#include "CComRecMemory.h"

#include <stdlib.h>

#ifdef __linux__
#include <sys/mman.h>
#endif

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

int crc_grantable(size_t bytes) {
    if (bytes == 0) return 1;
    if (fail_above != 0 && bytes > fail_above) return 0;
#ifdef __linux__
    // A mapping never touched commits nothing to RAM; it counts against `ulimit -v` and the
    // kernel's overcommit rule as malloc's own mapping of a block this large would.
    void *region = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) return 0;
    munmap(region, bytes);
    return 1;
#else
    // Through a volatile pointer, so that the compiler cannot remove the malloc and free pair.
    void *volatile block = malloc(bytes);
    if (!block) return 0;
    free(block);
    return 1;
#endif
}
