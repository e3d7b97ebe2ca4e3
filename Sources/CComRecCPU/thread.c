// Thread naming, for ComRecRuntime's worker threads: names show in `top -H`, `ps -L` and
// debuggers, so a process that embeds the codec can tell its threads from the codec's.
#define _GNU_SOURCE
#include "CComRecCPU.h"

#include <pthread.h>
#include <string.h>

void ccomrec_name_this_thread(const char *name) {
#if defined(__linux__)
    char shortened[16];  // the kernel's limit, terminator included; longer names are refused
    strncpy(shortened, name, sizeof shortened - 1);
    shortened[sizeof shortened - 1] = 0;
    pthread_setname_np(pthread_self(), shortened);
#elif defined(__APPLE__)
    pthread_setname_np(name);
#else
    (void)name;
#endif
}
