// A fixed pool of pthreads, and a heap for one call in the caller's memory, for the board
// libraries (ComRecC), in C so that Embedded Swift, which has no C library module of its own, needs
// only this header. One pool per comrec_context, one call heap per call: two contexts on two
// threads share nothing.
#ifndef CCOMREC_POOL_H
#define CCOMREC_POOL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One task: `task` in 0..<tasks, `worker` in 0..<threads (the caller of crc_pool_run is 0); no
/// two tasks running at once have the same worker.
typedef void (*crc_pool_task)(void *context, int task, int worker);

typedef struct crc_pool crc_pool;

/// Starts `threads - 1` worker threads (`threads` >= 1; 1 starts none). NULL when a thread
/// cannot be created (none is left running).
crc_pool *crc_pool_create(int threads);

/// Runs every task once on the pool's threads and the caller's, and returns when all are done.
/// Not re-entrant: one run at a time per pool.
void crc_pool_run(crc_pool *pool, int tasks, crc_pool_task function, void *context);

/// Stops and joins the workers and frees the pool (NULL is ignored).
void crc_pool_destroy(crc_pool *pool);

/// A heap for the small records one C API call makes (plans, headers, messages), in memory the
/// caller set aside (ComRecC: its context's, allocated at creation), so that the call takes nothing
/// from the C library's heap. Between
/// crc_call_heap_begin and crc_call_heap_end, every allocation the calling thread's Swift code makes
/// comes from it: scripts/boards.sh renames the Embedded Swift runtime's `posix_memalign` and `free`
/// to crc_call_heap_posix_memalign and crc_call_heap_free in the library's Swift objects. Blocks are
/// given back in stack order; what does not fit comes from the C library (`overflowed` counts it).
/// Outside a call, and on the pool's worker threads, those functions are the C library's.
typedef struct crc_call_heap {
    unsigned char *base;
    size_t size;
    size_t used;
    /// Blocks allocated and not yet freed; crc_call_heap_end returns it (0 unless a record
    /// outlives the call: then the memory must not be reused, since something still points there).
    size_t live;
    size_t peak;
    size_t overflowed;
    struct crc_call_heap_block *top;
    struct crc_call_heap *previous;
} crc_call_heap;

void crc_call_heap_init(crc_call_heap *heap, void *base, size_t size);

/// Makes `heap` this thread's heap until crc_call_heap_end(heap) (calls nest).
void crc_call_heap_begin(crc_call_heap *heap);

/// Gives the thread back the heap it had before; returns the blocks still live.
size_t crc_call_heap_end(crc_call_heap *heap);

int crc_call_heap_posix_memalign(void **out, size_t alignment, size_t size);
void crc_call_heap_free(void *pointer);

#ifdef __cplusplus
}
#endif

#endif
