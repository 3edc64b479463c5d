#include "train_kernels.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define W2V_X86 1
#endif

/* Eight floats, loaded and stored unaligned (rows are only 4-byte aligned in general). In a
   function built for AVX2 an operation on it is one ymm instruction; in the portable build, two
   SSE (or NEON) ones. */
typedef float v8 __attribute__((vector_size(32), aligned(4)));

#define INLINE static inline __attribute__((always_inline))
#define SIG_RANGE 10.0f
#define SIG_SIZE 4096

#pragma clang fp contract(fast)

INLINE float hsum(const v8 *p) {
    v8 v = *p;
    return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

INLINE float dot(const float *a, const float *b, int64_t n) {
    v8 acc0 = {0}, acc1 = {0};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 += *(const v8 *)(a + i) * *(const v8 *)(b + i);
        acc1 += *(const v8 *)(a + i + 8) * *(const v8 *)(b + i + 8);
    }
    if (i + 8 <= n) { acc0 += *(const v8 *)(a + i) * *(const v8 *)(b + i); i += 8; }
    v8 acc = acc0 + acc1;
    float s = hsum(&acc);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

/* y += a·x */
INLINE void axpy(float a, const float *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) *(v8 *)(y + i) += a * *(const v8 *)(x + i);
    for (; i < n; i++) y[i] += a * x[i];
}

/* acc += g·out; out += g·h (both from the old out). */
INLINE void accumulate_update(float g, float *out, const float *h, float *acc, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8 o = *(v8 *)(out + i);
        *(v8 *)(acc + i) += g * o;
        *(v8 *)(out + i) = o + g * *(const v8 *)(h + i);
    }
    for (; i < n; i++) {
        float o = out[i];
        acc[i] += g * o;
        out[i] = o + g * h[i];
    }
}

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

/* Scores h·o[t] for every target first (independent loads, so the misses overlap), then per
   target g = (label − σ)·alpha, neu1e += g·o[t], o[t] += g·h. */
INLINE float apply_targets(const float *h, float *const *o, int64_t n, int64_t dim,
                           float alpha, float *neu1e, const float *sig, const float *logsig) {
    float f[n > 0 ? n : 1];
    for (int64_t d = 0; d < n; d++) f[d] = dot(h, o[d], dim);
    float loss = 0;
    for (int64_t d = 0; d < n; d++) {
        float g;
        if (d == 0) { g = (1 - sigmoid(f[d], sig)) * alpha; loss -= log_sigmoid(f[d], logsig); }
        else { g = -sigmoid(f[d], sig) * alpha; loss -= log_sigmoid(-f[d], logsig); }
        accumulate_update(g, o[d], h, neu1e, dim);
    }
    return loss;
}

INLINE float sgns_pair_body(float *l1, float *const *o, int64_t n, int64_t dim, float alpha, float *neu1e,
                            const float *sig, const float *logsig) {
    memset(neu1e, 0, (size_t)dim * sizeof(float));
    float loss = apply_targets(l1, o, n, dim, alpha, neu1e, sig, logsig);
    axpy(1, neu1e, l1, dim);
    return loss;
}

/* Targets handled together in registers (a block of KB; a last, partial block is padded with
   copies of its first row and zero gradients, so every loop below has a constant trip count). */
#define KB 6

/* Scores of context row x against one block of target rows: f[k] = x·o[k]. Each chunk of x is
   loaded once for the whole block. */
INLINE void block_dots(const float *x, const float *const *o, int64_t dim, float *f) {
    v8 acc[KB];
    for (int k = 0; k < KB; k++) acc[k] = (v8){0};
    int64_t i = 0;
    for (; i + 8 <= dim; i += 8) {
        v8 xv = *(const v8 *)(x + i);
        for (int k = 0; k < KB; k++) acc[k] += xv * *(const v8 *)(o[k] + i);
    }
    for (int k = 0; k < KB; k++) {
        float s = hsum(&acc[k]);
        for (int64_t j = i; j < dim; j++) s += x[j] * o[k][j];
        f[k] = s;
    }
}

/* One chunk (type T at offset i) of the batched update for one block of targets:
   e[c] += Σ_k G[c,k]·o_k (old rows), og_k = Σ_c G[c,k]·in_c (old rows), then o_k += og_k
   (read back from memory, so a target drawn twice gets both updates). */
#define BATCH_CHUNK(T)                                                                            \
    do {                                                                                          \
        T ov[KB], og[KB];                                                                         \
        for (int k = 0; k < KB; k++) { ov[k] = *(const T *)(o[k] + i); og[k] = (T){0}; }         \
        for (int64_t c = 0; c < nctx; c++) {                                                      \
            const float *gc = G + c * np + k0;                                                    \
            T xv = *(const T *)(x[c] + i);                                                        \
            T e = *(T *)(ebuf + c * 8);                                                           \
            for (int k = 0; k < KB; k++) { e += gc[k] * ov[k]; og[k] += gc[k] * xv; }            \
            *(T *)(ebuf + c * 8) = e;                                                             \
        }                                                                                         \
        for (int k = 0; k < KB; k++) *(T *)(o[k] + i) += og[k];                                  \
    } while (0)

/* The in-row half of a chunk: in_c += e[c], occurrence by occurrence (a context word that occurs
   twice in the window gets both contributions). */
#define APPLY_E(T)                                                                                \
    do {                                                                                          \
        for (int64_t c = 0; c < nctx; c++) {                                                      \
            *(T *)(x[c] + i) += *(const T *)(ebuf + c * 8);                                       \
            *(T *)(ebuf + c * 8) = (T){0};                                                        \
        }                                                                                         \
    } while (0)

/* The rows of block k0 (padded). */
INLINE void block_rows(float *const *targets, int64_t n, int64_t k0, float **o) {
    for (int k = 0; k < KB; k++) o[k] = targets[k0 + k < n ? k0 + k : k0];
}

INLINE float sgns_batch_body(float *const *x, int64_t nctx, float *const *targets, int64_t n, int64_t dim,
                             float alpha, float *G, float *ebuf, const float *sig, const float *logsig) {
    if (nctx <= 0 || n <= 0) return 0;
    const int64_t np = (n + KB - 1) / KB * KB;
    float loss = 0;
    /* Scores → G[c,k] = (label − σ)·alpha from the current rows (0 for padding). */
    for (int64_t k0 = 0; k0 < n; k0 += KB) {
        float *o[KB];
        block_rows(targets, n, k0, o);
        for (int64_t c = 0; c < nctx; c++) {
            float *gc = G + c * np + k0;
            block_dots(x[c], (const float *const *)o, dim, gc);
            for (int k = 0; k < KB; k++) {
                float f = gc[k];
                if (k0 + k >= n) gc[k] = 0;
                else if (k0 + k == 0) { gc[k] = (1 - sigmoid(f, sig)) * alpha; loss -= log_sigmoid(f, logsig); }
                else { gc[k] = -sigmoid(f, sig) * alpha; loss -= log_sigmoid(-f, logsig); }
            }
        }
    }
    /* Updates, one chunk of the dimension at a time; e[c] waits in ebuf (8 floats per context)
       until every block has read the old in_c. */
    for (int64_t c = 0; c < nctx * 8; c++) ebuf[c] = 0;
    int64_t i = 0;
    for (; i + 8 <= dim; i += 8) {
        for (int64_t k0 = 0; k0 < n; k0 += KB) {
            float *o[KB];
            block_rows(targets, n, k0, o);
            BATCH_CHUNK(v8);
        }
        APPLY_E(v8);
    }
    for (; i < dim; i++) {
        for (int64_t k0 = 0; k0 < n; k0 += KB) {
            float *o[KB];
            block_rows(targets, n, k0, o);
            BATCH_CHUNK(float);
        }
        APPLY_E(float);
    }
    return loss;
}

INLINE float cbow_body(float *const *x, int64_t nctx, float *const *o, int64_t n, int64_t dim, float alpha,
                       int mean, float *hidden, float *neu1e, const float *sig, const float *logsig) {
    if (nctx <= 0) return 0;
    memcpy(hidden, x[0], (size_t)dim * sizeof(float));
    for (int64_t c = 1; c < nctx; c++) axpy(1, x[c], hidden, dim);
    if (mean && nctx > 1) {
        float s = 1 / (float)nctx;
        for (int64_t i = 0; i < dim; i++) hidden[i] *= s;
    }
    memset(neu1e, 0, (size_t)dim * sizeof(float));
    float loss = apply_targets(hidden, o, n, dim, alpha, neu1e, sig, logsig);
    for (int64_t c = 0; c < nctx; c++) axpy(1, neu1e, x[c], dim);
    return loss;
}

/* ---- the two builds and the dispatch ---- */

#if W2V_X86
#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static float sgns_pair_avx2(float *l1, float *const *o, int64_t n, int64_t dim, float alpha, float *neu1e,
                                 const float *sig, const float *logsig) {
    return sgns_pair_body(l1, o, n, dim, alpha, neu1e, sig, logsig);
}
AVX2 static float sgns_batch_avx2(float *const *x, int64_t nctx, float *const *o, int64_t n, int64_t dim,
                                  float alpha, float *scores, float *ebuf, const float *sig, const float *logsig) {
    return sgns_batch_body(x, nctx, o, n, dim, alpha, scores, ebuf, sig, logsig);
}
AVX2 static float cbow_avx2(float *const *x, int64_t nctx, float *const *o, int64_t n, int64_t dim, float alpha,
                            int mean, float *hidden, float *neu1e, const float *sig, const float *logsig) {
    return cbow_body(x, nctx, o, n, dim, alpha, mean, hidden, neu1e, sig, logsig);
}
#endif

int w2v_best_isa(void) {
#if W2V_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return W2V_ISA_AVX2;
#endif
    return W2V_ISA_GENERIC;
}

float w2v_sgns_pair(int isa, float *input_row, float *const *target_rows, int64_t ntargets, int64_t dim,
                    float alpha, float *neu1e, const float *sig, const float *logsig) {
#if W2V_X86
    if (isa == W2V_ISA_AVX2) return sgns_pair_avx2(input_row, target_rows, ntargets, dim, alpha, neu1e, sig, logsig);
#endif
    return sgns_pair_body(input_row, target_rows, ntargets, dim, alpha, neu1e, sig, logsig);
}

float w2v_sgns_batch(int isa, float *const *context_rows, int64_t ncontexts, float *const *target_rows,
                     int64_t ntargets, int64_t dim, float alpha, float *scores, float *ebuf,
                     const float *sig, const float *logsig) {
#if W2V_X86
    if (isa == W2V_ISA_AVX2)
        return sgns_batch_avx2(context_rows, ncontexts, target_rows, ntargets, dim, alpha, scores, ebuf, sig, logsig);
#endif
    return sgns_batch_body(context_rows, ncontexts, target_rows, ntargets, dim, alpha, scores, ebuf, sig, logsig);
}

float w2v_cbow(int isa, float *const *context_rows, int64_t ncontexts, float *const *target_rows, int64_t ntargets,
               int64_t dim, float alpha, int mean, float *hidden, float *neu1e, const float *sig, const float *logsig) {
#if W2V_X86
    if (isa == W2V_ISA_AVX2)
        return cbow_avx2(context_rows, ncontexts, target_rows, ntargets, dim, alpha, mean, hidden, neu1e, sig, logsig);
#endif
    return cbow_body(context_rows, ncontexts, target_rows, ntargets, dim, alpha, mean, hidden, neu1e, sig, logsig);
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
