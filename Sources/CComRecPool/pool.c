#include "CComRecPool.h"

#include <pthread.h>
#include <stdlib.h>

struct crc_pool {
    pthread_mutex_t mutex;
    pthread_cond_t wake;  // a new job, or stop
    pthread_cond_t done;  // the last worker finished the job
    pthread_t *threads;
    int workers;  // threads started
    // Guarded by mutex.
    crc_pool_task function;
    void *context;
    int tasks;
    int next_task;
    int busy;
    unsigned long generation;
    int stopping;
};

// Takes tasks until none are left; called and returns with the mutex held.
static void drain(crc_pool *pool, int worker) {
    while (pool->next_task < pool->tasks) {
        int task = pool->next_task++;
        crc_pool_task function = pool->function;
        void *context = pool->context;
        pthread_mutex_unlock(&pool->mutex);
        function(context, task, worker);
        pthread_mutex_lock(&pool->mutex);
    }
}

typedef struct worker_start {
    crc_pool *pool;
    int index;
} worker_start;

static void *worker_main(void *raw) {
    worker_start start = *(worker_start *)raw;
    free(raw);
    crc_pool *pool = start.pool;
    pthread_mutex_lock(&pool->mutex);
    unsigned long seen = 0;  // generation 0 is "no job yet"
    for (;;) {
        while (pool->generation == seen && !pool->stopping) pthread_cond_wait(&pool->wake, &pool->mutex);
        if (pool->stopping) break;
        seen = pool->generation;
        drain(pool, start.index);
        if (--pool->busy == 0) pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->mutex);
    return NULL;
}

crc_pool *crc_pool_create(int threads) {
    if (threads < 1) return NULL;
    crc_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    if (threads > 1) {
        pool->threads = calloc((size_t)threads - 1, sizeof *pool->threads);
        if (!pool->threads) {
            crc_pool_destroy(pool);
            return NULL;
        }
    }
    for (int i = 1; i < threads; i++) {
        worker_start *start = malloc(sizeof *start);
        if (!start) {
            crc_pool_destroy(pool);
            return NULL;
        }
        start->pool = pool;
        start->index = i;
        if (pthread_create(&pool->threads[i - 1], NULL, worker_main, start) != 0) {
            free(start);
            crc_pool_destroy(pool);
            return NULL;
        }
        pool->workers++;
    }
    return pool;
}

void crc_pool_run(crc_pool *pool, int tasks, crc_pool_task function, void *context) {
    if (tasks <= 0) return;
    if (pool->workers == 0 || tasks == 1) {
        for (int t = 0; t < tasks; t++) function(context, t, 0);
        return;
    }
    pthread_mutex_lock(&pool->mutex);
    pool->function = function;
    pool->context = context;
    pool->tasks = tasks;
    pool->next_task = 0;
    pool->busy = pool->workers;
    pool->generation++;
    pthread_cond_broadcast(&pool->wake);
    drain(pool, 0);
    while (pool->busy > 0) pthread_cond_wait(&pool->done, &pool->mutex);
    pool->function = NULL;
    pool->context = NULL;
    pthread_mutex_unlock(&pool->mutex);
}

void crc_pool_destroy(crc_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->mutex);
    pool->stopping = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    for (int i = 0; i < pool->workers; i++) pthread_join(pool->threads[i], NULL);
    free(pool->threads);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    pthread_mutex_destroy(&pool->mutex);
    free(pool);
}
