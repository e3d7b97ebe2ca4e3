// Removing temporary output files when comrec is interrupted (SIGINT, SIGTERM, SIGHUP).
//
// ComRecIO's AtomicOutput registers each temporary file while it exists. The handler, once
// installed, unlinks every registered path (unlink is async-signal-safe) and then re-raises the
// signal with its default action, so the exit status still says "killed by SIGINT". The registry
// is a fixed array of C strings: a signal handler may not allocate or take locks.
#ifndef COMREC_SIGNALS_H
#define COMREC_SIGNALS_H

#ifdef __cplusplus
extern "C" {
#endif

/// Registers `path` (copied). Returns a slot for crc_cleanup_remove, or -1 when the registry is full
/// or out of memory (the file then only misses this extra cleanup).
int crc_cleanup_add(const char *path);

/// Forgets the path in `slot` (from crc_cleanup_add; -1 is ignored).
void crc_cleanup_remove(int slot);

/// Installs the handler for SIGINT, SIGTERM and SIGHUP and unblocks them in the calling thread.
/// Idempotent.
void crc_cleanup_install(void);

/// An unnamed file in `directory` (Linux O_TMPFILE), open for writing: nothing is left behind if
/// the process dies, even by SIGKILL. Returns the descriptor, or -1 with errno (EOPNOTSUPP, EISDIR
/// or EINVAL where the system or file system has no unnamed files).
int crc_open_unnamed(const char *directory);

/// Gives the unnamed file open as `fd` the name `path` (linkat through /proc/self/fd). Fails with
/// EEXIST, never replacing, when `path` exists. Returns 0, or -1 with errno.
int crc_name_unnamed(int fd, const char *path);

/// A scratch file with no name, open for reading and writing, for output that goes to standard
/// output only once it is complete: memory (memfd_create) where the system has it, otherwise an
/// unnamed or at once unlinked file in $TMPDIR or /tmp. Returns the descriptor, or -1 with errno.
int crc_open_scratch(void);

/// Ignores SIGPIPE, so that writing to a closed pipe fails with EPIPE (a message) instead of
/// killing the process without one.
void crc_ignore_sigpipe(void);

#ifdef __cplusplus
}
#endif

#endif
