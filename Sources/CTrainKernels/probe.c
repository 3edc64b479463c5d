/* Loops of the machine probe (`w2v-pipe probe`): peak multiply-add rate, streaming read
   bandwidth, dependent-load latency and the cache-line round trip between two cores. Each returns
   what it did (flops, bytes, a checksum), and the caller times it. */
#include "train_kernels.h"

typedef float v8 __attribute__((vector_size(32), aligned(32)));
typedef float v16 __attribute__((vector_size(64), aligned(64)));
#pragma clang fp contract(fast)

/* Ten independent multiply-add chains of vectors of type V (8 or 16 lanes): enough to cover the
   FMA latency on current x86 cores. Returns the flops done (2 per lane per step); *sink keeps the
   result alive. */
#define FMA_BODY(V)                                                                                \
    V a[10];                                                                                       \
    for (int k = 0; k < 10; k++) a[k] = ((V){0} + 1.0f) * (float)(k + 1);                          \
    const V m = (V){0} + 0.999999f;                                                                \
    const V c = (V){0} + 1e-6f;                                                                    \
    for (int64_t s = 0; s < steps; s++)                                                            \
        for (int k = 0; k < 10; k++) a[k] = a[k] * m + c;                                          \
    V t = a[0];                                                                                    \
    for (int k = 1; k < 10; k++) t += a[k];                                                        \
    *sink = t[0] + t[7];                                                                           \
    return (double)steps * 10 * (sizeof(V) / sizeof(float)) * 2;

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static double fma_avx2(int64_t steps, float *sink) { FMA_BODY(v8) }
__attribute__((target("avx512f,avx2,fma"))) static double fma_avx512(int64_t steps, float *sink) { FMA_BODY(v16) }
#endif
static double fma_generic(int64_t steps, float *sink) { FMA_BODY(v8) }

double w2v_probe_fma(int isa, int64_t steps, float *sink) {
#if defined(__x86_64__)
    if (isa == W2V_ISA_AVX512) return fma_avx512(steps, sink);
    if (isa == W2V_ISA_AVX2) return fma_avx2(steps, sink);
#endif
    return fma_generic(steps, sink);
}

/* Reads n floats (n a multiple of 64) once, summing every 16th: one load per cache line, the
   rest of the line streams in with it. Returns the bytes read. */
double w2v_probe_read(const float *p, int64_t n, float *sink) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int64_t i = 0; i + 64 <= n; i += 64) {
        s0 += p[i]; s1 += p[i + 16]; s2 += p[i + 32]; s3 += p[i + 48];
    }
    *sink = s0 + s1 + s2 + s3;
    return (double)n * sizeof(float);
}

/* Follows a chain of indices `steps` times (each load waits for the previous one). */
uint32_t w2v_probe_chase(const uint32_t *next, int64_t steps) {
    uint32_t i = 0;
    for (int64_t s = 0; s < steps; s++) i = next[i];
    return i;
}

/* Two threads pass a counter back and forth `rounds` times through one cache line: side 0 writes
   odd values and waits for the next even one, side 1 the reverse. */
void w2v_probe_pingpong(int64_t *flag, int side, int64_t rounds) {
    for (int64_t r = 0; r < rounds; r++) {
        if (side == 0) {
            __atomic_store_n(flag, 2 * r + 1, __ATOMIC_RELEASE);
            while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) != 2 * r + 2) {}
        } else {
            while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) != 2 * r + 1) {}
            __atomic_store_n(flag, 2 * r + 2, __ATOMIC_RELEASE);
        }
    }
}
