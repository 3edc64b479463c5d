#include "train_kernels.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define W2V_X86 1
#endif

/* Four, eight and sixteen floats, loaded and stored unaligned (rows are only 4-byte aligned in
   general). An operation on one is one instruction where the build has registers that wide (xmm,
   ymm with AVX2, zmm with AVX-512) and a few narrower ones otherwise. */
typedef float v4 __attribute__((vector_size(16), aligned(4)));
typedef float v8 __attribute__((vector_size(32), aligned(4)));
typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef int32_t i8 __attribute__((vector_size(32)));
typedef int32_t i16 __attribute__((vector_size(64)));

#define INLINE static inline __attribute__((always_inline))
#define SIG_RANGE 10.0f
#define SIG_SIZE 4096

#pragma clang fp contract(fast)

INLINE float sigmoid(float x, const float *sig) {
    if (x >= SIG_RANGE) return 1;
    if (!(x > -SIG_RANGE)) return 0;
    float t = (x + SIG_RANGE) * ((float)SIG_SIZE / (2 * SIG_RANGE));
    int i = (int)t;
    float f = t - (float)i;
    return sig[i] + f * (sig[i + 1] - sig[i]);
}

INLINE float log_sigmoid(float x, const float *logsig) {
    if (!(x > -SIG_RANGE && x < SIG_RANGE)) {
        if (x != x) return x;
        return fminf(x, 0) - log1pf(expf(-fabsf(x)));
    }
    float t = (x + SIG_RANGE) * ((float)SIG_SIZE / (2 * SIG_RANGE));
    int i = (int)t;
    float f = t - (float)i;
    return logsig[i] + f * (logsig[i + 1] - logsig[i]);
}

/* Targets handled together in registers (a block of KB; a last, partial block is padded with
   copies of its first row and zero gradients, so every loop has a constant trip count). */
#define KB 6
/* Floats of ebuf per context (at least the widest chunk of any build: 16). */
#define EBUF_STRIDE w2v_batch_ebuf_per_context()

/* Prefetches row j of `next` (if there is one), and with `rest` every row from j on. */
INLINE void prefetch_next(const w2v_prefetch_list *next, int64_t j, int rest) {
    if (!next) return;
    for (int64_t e = rest ? next->count : j + 1; j < e && j < next->count; j++) w2v_prefetch(next->rows[j], next->bytes);
}

/* The rows of block k0 (padded). */
INLINE void block_rows(float *const *targets, int64_t n, int64_t k0, float **o) {
    for (int k = 0; k < KB; k++) o[k] = targets[k0 + k < n ? k0 + k : k0];
}

/* ---- the builds: the same bodies (kernel_body.h) compiled for each instruction set ---- */

#define VT v8
#define VI i8
#define VW 8
#define ISA 0 /* W2V_ISA_GENERIC (a number: the preprocessor tests it) */
#define FN(name) name##_generic
#include "kernel_body.h"
#undef VT
#undef VI
#undef VW
#undef ISA
#undef FN

#if W2V_X86
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define VT v8
#define VI i8
#define VW 8
#define ISA 1 /* W2V_ISA_AVX2 */
#define FN(name) name##_avx2
#include "kernel_body.h"
#undef VT
#undef VI
#undef VW
#undef ISA
#undef FN
#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#define VT v16
#define VI i16
#define VW 16
#define ISA 2 /* W2V_ISA_AVX512 */
#define FN(name) name##_avx512
#include "kernel_body.h"
#undef VT
#undef VI
#undef VW
#undef ISA
#undef FN
#pragma clang attribute pop
#endif

int w2v_best_isa(void) {
#if W2V_X86
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (avx2 && __builtin_cpu_supports("avx512f")) return W2V_ISA_AVX512;
    if (avx2) return W2V_ISA_AVX2;
#endif
    return W2V_ISA_GENERIC;
}

float w2v_sgns_pair(int isa, float *input_row, float *const *target_rows, int64_t ntargets, int64_t dim,
                    float alpha, float *neu1e, const float *sig, const float *logsig) {
#if W2V_X86
    if (isa == W2V_ISA_AVX512) return sgns_pair_avx512(input_row, target_rows, ntargets, dim, alpha, neu1e, sig, logsig);
    if (isa == W2V_ISA_AVX2) return sgns_pair_avx2(input_row, target_rows, ntargets, dim, alpha, neu1e, sig, logsig);
#endif
    return sgns_pair_generic(input_row, target_rows, ntargets, dim, alpha, neu1e, sig, logsig);
}

float w2v_sgns_batch(int isa, float *const *context_rows, int64_t ncontexts, float *const *target_rows,
                     int64_t ntargets, int64_t dim, float alpha, float *scores, float *ebuf,
                     const float *sig, const float *logsig, const w2v_prefetch_list *next) {
#if W2V_X86
    if (isa == W2V_ISA_AVX512)
        return sgns_batch_avx512(context_rows, ncontexts, target_rows, ntargets, dim, alpha, scores, ebuf, sig, logsig, next);
    if (isa == W2V_ISA_AVX2)
        return sgns_batch_avx2(context_rows, ncontexts, target_rows, ntargets, dim, alpha, scores, ebuf, sig, logsig, next);
#endif
    return sgns_batch_generic(context_rows, ncontexts, target_rows, ntargets, dim, alpha, scores, ebuf, sig, logsig, next);
}

float w2v_cbow(int isa, float *const *context_rows, int64_t ncontexts, float *const *target_rows, int64_t ntargets,
               int64_t dim, float alpha, int mean, float *hidden, const float *sig, const float *logsig,
               const w2v_prefetch_list *next) {
#if W2V_X86
    if (isa == W2V_ISA_AVX512)
        return cbow_avx512(context_rows, ncontexts, target_rows, ntargets, dim, alpha, mean, hidden, sig, logsig, next);
    if (isa == W2V_ISA_AVX2)
        return cbow_avx2(context_rows, ncontexts, target_rows, ntargets, dim, alpha, mean, hidden, sig, logsig, next);
#endif
    return cbow_generic(context_rows, ncontexts, target_rows, ntargets, dim, alpha, mean, hidden, sig, logsig, next);
}

uint32_t w2v_flush_denormals(void) {
#if W2V_X86
    uint32_t old = _mm_getcsr();
    _mm_setcsr(old | 0x8040); /* FTZ (bit 15) | DAZ (bit 6) */
    return old;
#else
    return 0;
#endif
}

void w2v_restore_fp(uint32_t state) {
#if W2V_X86
    _mm_setcsr(state);
#else
    (void)state;
#endif
}

void w2v_merge_staged(int isa, float *shared, float *local, float *base, int64_t n) {
#if W2V_X86
    if (isa == W2V_ISA_AVX512) { merge_staged_avx512(shared, local, base, n); return; }
    if (isa == W2V_ISA_AVX2) { merge_staged_avx2(shared, local, base, n); return; }
#endif
    merge_staged_generic(shared, local, base, n);
}
