// See include/comrec_signals.h.
#define _POSIX_C_SOURCE 200809L
#define _GNU_SOURCE  /* O_TMPFILE */
#include "comrec_signals.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define CRC_CLEANUP_SLOTS 64

// Written only with the three signals blocked (and under the mutex, for threads); read by the
// handler, which therefore never sees a half-updated slot.
static char *volatile slots[CRC_CLEANUP_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void block(sigset_t *previous) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, previous);
}

int crc_cleanup_add(const char *path) {
    char *copy = strdup(path);
    if (!copy) return -1;
    sigset_t previous;
    block(&previous);
    pthread_mutex_lock(&lock);
    int slot = -1;
    for (int i = 0; i < CRC_CLEANUP_SLOTS; i++) {
        if (!slots[i]) {
            slots[i] = copy;
            slot = i;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (slot < 0) free(copy);
    return slot;
}

void crc_cleanup_remove(int slot) {
    if (slot < 0 || slot >= CRC_CLEANUP_SLOTS) return;
    sigset_t previous;
    block(&previous);
    pthread_mutex_lock(&lock);
    char *path = slots[slot];
    slots[slot] = NULL;
    pthread_mutex_unlock(&lock);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    free(path);
}

static void handler(int sig) {
    for (int i = 0; i < CRC_CLEANUP_SLOTS; i++) {
        char *path = slots[i];
        if (path) unlink(path);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void crc_cleanup_install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    sigaddset(&action.sa_mask, SIGINT);
    sigaddset(&action.sa_mask, SIGTERM);
    sigaddset(&action.sa_mask, SIGHUP);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGHUP, &action, NULL);
    // A parent may have started us with these signals blocked (the mask survives exec); then
    // Ctrl-C would do nothing until exit. Unblock them in this (the main) thread.
    pthread_sigmask(SIG_UNBLOCK, &action.sa_mask, NULL);
}

int crc_open_unnamed(const char *directory) {
#ifdef O_TMPFILE
    return open(directory, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
#else
    (void)directory;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

int crc_name_unnamed(int fd, const char *path) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
}

int crc_open_scratch(void) {
#if defined(__linux__) && defined(MFD_CLOEXEC)
    int fd = memfd_create("comrec-output", MFD_CLOEXEC);
    if (fd >= 0) return fd;
#endif
    const char *directory = getenv("TMPDIR");
    if (directory == NULL || directory[0] == 0) directory = "/tmp";
#ifdef O_TMPFILE
    int unnamed = open(directory, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (unnamed >= 0) return unnamed;
#endif
    char path[4096];
    if (snprintf(path, sizeof path, "%s/.comrec-output-XXXXXX", directory) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int named = mkstemp(path);
    if (named < 0) return -1;
    unlink(path);  // nothing to clean up later: the file lives while the descriptor is open
    return named;
}

void crc_ignore_sigpipe(void) {
    signal(SIGPIPE, SIG_IGN);
}
