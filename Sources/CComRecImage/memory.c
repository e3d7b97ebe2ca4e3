// Whether the system grants a block of memory now: see include/comrec_image.h.
#include "comrec_image.h"

#include <stdlib.h>

#ifdef __linux__
#include <sys/mman.h>
#endif

int crc_memory_grantable(size_t bytes) {
    if (bytes == 0) return 1;
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
