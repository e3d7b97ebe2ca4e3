// A fixed pool of pthreads for the board libraries (ComRecC), in C so that Embedded Swift, which
// has no C library module of its own, needs only this header. One pool per comrec_context: two
// contexts on two threads share nothing.
#ifndef CCOMREC_POOL_H
#define CCOMREC_POOL_H

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

#ifdef __cplusplus
}
#endif

#endif
