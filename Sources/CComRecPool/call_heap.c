// A call's heap in the caller's memory: see CComRecPool.h.
#include "CComRecPool.h"

#include <stdint.h>
#include <stdlib.h>

// The heap this thread's Swift allocations go to (NULL: the C library's). Per thread, so that two
// calls on two threads never share one; the pool's workers have none and use the C library's.
static _Thread_local crc_call_heap *current_heap;

// Before every block: the heap's top before the block, the block below it, and whether it has been
// freed. Blocks are given back as in a stack: a freed block's memory returns to the heap once every
// block above it is freed too, which the last-in first-out order of a call's records makes prompt.
typedef struct crc_call_heap_block {
    size_t previous_used;
    struct crc_call_heap_block *below;
    size_t freed;
} block_header;

void crc_call_heap_init(crc_call_heap *heap, void *base, size_t size) {
    heap->base = (unsigned char *)base;
    heap->size = size;
    heap->used = 0;
    heap->live = 0;
    heap->peak = 0;
    heap->overflowed = 0;
    heap->top = NULL;
    heap->previous = NULL;
}

void crc_call_heap_begin(crc_call_heap *heap) {
    heap->previous = current_heap;
    current_heap = heap;
}

size_t crc_call_heap_end(crc_call_heap *heap) {
    current_heap = heap->previous;
    heap->previous = NULL;
    return heap->live;
}

static int owns(const crc_call_heap *heap, const void *pointer) {
    uintptr_t p = (uintptr_t)pointer, base = (uintptr_t)heap->base;
    return p >= base && p < base + heap->size;
}

int crc_call_heap_posix_memalign(void **out, size_t alignment, size_t size) {
    crc_call_heap *heap = current_heap;
    if (heap && alignment >= sizeof(void *) && (alignment & (alignment - 1)) == 0) {
        uintptr_t base = (uintptr_t)heap->base;
        uintptr_t start = base + heap->used + sizeof(block_header);
        uintptr_t block = (start + alignment - 1) & ~(uintptr_t)(alignment - 1);
        if (block >= start && block - base <= heap->size && size <= heap->size - (block - base)) {
            block_header *header = (block_header *)(block - sizeof(block_header));
            header->previous_used = heap->used;
            header->below = heap->top;
            header->freed = 0;
            heap->top = header;
            heap->used = block - base + size;
            heap->live++;
            if (heap->used > heap->peak) heap->peak = heap->used;
            *out = (void *)block;
            return 0;
        }
        heap->overflowed++;
    }
    return posix_memalign(out, alignment, size);
}

void crc_call_heap_free(void *pointer) {
    // A block of this thread's heap, or of one it interrupted (a call inside a call), is marked
    // free and the freed blocks at its top given back; anything else came from the C library.
    for (crc_call_heap *heap = current_heap; heap; heap = heap->previous) {
        if (!owns(heap, pointer)) continue;
        block_header *header = (block_header *)((uintptr_t)pointer - sizeof(block_header));
        header->freed = 1;
        heap->live--;
        while (heap->top && heap->top->freed) {
            heap->used = heap->top->previous_used;
            heap->top = heap->top->below;
        }
        return;
    }
    free(pointer);
}
