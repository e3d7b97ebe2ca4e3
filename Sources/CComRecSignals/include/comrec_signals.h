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

#ifdef __cplusplus
}
#endif

#endif
