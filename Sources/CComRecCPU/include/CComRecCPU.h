// What ComRecRuntime needs from C: CPU feature detection for kernel dispatch (cpuid and xgetbv
// need inline assembly, which Swift does not have) and thread naming (pthread_setname_np needs
// _GNU_SOURCE, which Swift's Glibc module does not define).
#ifndef CCOMREC_CPU_H
#define CCOMREC_CPU_H

/// Bits returned by ccomrec_x86_features().
enum {
    /// AVX2, with the OS saving ymm state (XCR0 bits 1-2).
    CCOMREC_X86_AVX2 = 1,
    /// AVX-512 F, BW, DQ, VL and VNNI, with the OS saving opmask and zmm state (XCR0 0xE6).
    CCOMREC_X86_AVX512VNNI = 2,
};

/// The kernel-relevant x86 features this CPU and OS support; 0 on other architectures.
unsigned ccomrec_x86_features(void);

/// Names the calling thread (Linux keeps the first 15 bytes; a no-op where unsupported).
void ccomrec_name_this_thread(const char *name);

#endif
