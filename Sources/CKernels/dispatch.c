// Which path this CPU runs: cpuid for the instructions, xgetbv for the OS saving their registers.
#include "paths.h"

#if defined(__x86_64__)
#include <cpuid.h>

static uint64_t xcr0(void) {
    uint32_t low, high;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    return ((uint64_t)high << 32) | low;
}

static int detect(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return MLK_PORTABLE;
    int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx) return MLK_PORTABLE;
    uint64_t state = xcr0();
    int ymm = (state & 0x6) == 0x6, zmm = (state & 0xe6) == 0xe6;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return MLK_PORTABLE;
    int avx2 = (b >> 5) & 1, f512 = (b >> 16) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1, vnni = (c >> 11) & 1;
    unsigned a1 = 0, b1, c1, d1;
    int bf16 = 0;
    if (a >= 1 && __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1)) bf16 = (a1 >> 5) & 1;
    if (zmm && avx2 && fma && f512 && bw && vl && vnni && bf16) return MLK_AVX512;
    if (ymm && avx2 && fma) return MLK_AVX2;
    return MLK_PORTABLE;
}
#else
static int detect(void) { return MLK_PORTABLE; }
#endif

int mlk_cpu_path(void) {
    // Detected once; two threads racing here both store the same value.
    static int cached = -1;
    int path = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (path < 0) {
        path = detect();
        __atomic_store_n(&cached, path, __ATOMIC_RELAXED);
    }
    return path;
}

const char *mlk_path_name(int path) {
    switch (path) {
    case MLK_AVX512: return "avx512";
    case MLK_AVX2: return "avx2";
    case MLK_PORTABLE: return "portable";
    default: return "unknown";
    }
}
