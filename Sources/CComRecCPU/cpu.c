#include "CComRecCPU.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long xgetbv0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

unsigned ccomrec_x86_features(void) {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, 0) < 7 || !__get_cpuid(1, &a, &b, &c, &d)) return 0;
    // OSXSAVE (27) and AVX (28): without them xgetbv may fault or ymm state is not saved.
    if (!((c >> 27) & 1) || !((c >> 28) & 1)) return 0;
    unsigned long long xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    unsigned features = 0;
    if ((b >> 5) & 1) features |= CCOMREC_X86_AVX2;
    int avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1);  // F DQ BW VL
    int vnni = (c >> 11) & 1;
    if (avx512 && vnni && (xcr0 & 0xE6) == 0xE6) features |= CCOMREC_X86_AVX512VNNI;
    return features;
}
#else
unsigned ccomrec_x86_features(void) { return 0; }
#endif
