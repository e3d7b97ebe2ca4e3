// Memory for ComRec's large buffers (images, planes, a network's scratch) from the C library, with
// failure as a null pointer that the Swift side turns into an error naming the bytes; Swift's own
// allocation stops the process when the system refuses. Below ComRecKernels, so that Embedded
// builds have it too.
#ifndef CCOMREC_MEMORY_H
#define CCOMREC_MEMORY_H

#include <stddef.h>

/// A block of `bytes` (at least 1) aligned to `alignment` (a power of two, at least the size of a
/// pointer), or NULL when the system refuses it or when this thread's test limit forbids it.
void *crc_allocate(size_t bytes, size_t alignment);

/// Gives back a block of crc_allocate (NULL: nothing).
void crc_release(void *block);

/// Whether the system grants a block of `bytes` now (1) or refuses it (0), without keeping it or
/// touching it: asked before memory that Swift's own allocator will take (which stops the process
/// on a refusal). Honours this thread's test limit like crc_allocate.
int crc_grantable(size_t bytes);

/// For tests: on the calling thread, every crc_allocate of more than `bytes` fails as if the system
/// had refused it, and so does crc_grantable (0: no limit, the default). Returns the previous limit.
size_t crc_allocation_fail_above(size_t bytes);

#endif
