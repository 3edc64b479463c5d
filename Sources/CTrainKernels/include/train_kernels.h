#ifndef W2VPIPE_TRAIN_KERNELS_H
#define W2VPIPE_TRAIN_KERNELS_H
/*
 * The inner loops of SGNS and CBOW training (negative sampling), in C so that one binary carries
 * AVX2+FMA and AVX-512 builds of them next to a portable one and picks at run time (Swift has no per-function
 * target features). Semantics are those of the Swift reference kernels in Stages/Training/Kernels.swift;
 * every function returns the loss of its update, computed before the update.
 *
 * `sig` / `logsig` are the SigmoidTable's 4098-entry
 * tables of σ and log σ on [−10, 10]; outside that range σ is clamped to 0 / 1 and log σ is
 * computed exactly.
 */
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Instruction sets a kernel can be built for. */
enum { W2V_ISA_GENERIC = 0, W2V_ISA_AVX2 = 1, W2V_ISA_AVX512 = 2 };

/* The best instruction set this CPU runs (AVX2 needs both avx2 and fma; AVX-512 those and avx512f). */
int w2v_best_isa(void);

/* Rows are passed as pointers (a row of the shared table, or a thread's private copy of it), each
   to `dim` floats; a row may appear more than once and then gets every update.

   One skip-gram pair: input_row against target_rows[0] (positive) and target_rows[1..n)
   (negatives). neu1e: scratch of dim floats. */
float w2v_sgns_pair(int isa, float *input_row, float *const *target_rows, int64_t ntargets, int64_t dim,
                    float alpha, float *neu1e, const float *sig, const float *logsig);

/* Rows the next update will need, for a kernel to prefetch (for writing) while it scores its own
   targets: one row before each of its first dot products, so the requests go out spread among
   its loads rather than in one burst that fills every line-fill buffer at once (a hint: no effect
   on results). NULL, or count 0: none. */
typedef struct {
    float *const *rows;
    int64_t count;
    int64_t bytes; /* of each row */
} w2v_prefetch_list;

/* One centre word, batched (HogBatch): every context row paired with the same targets, all
   gradients from the rows as they were on entry. scores: w2v_batch_scores_size(ncontexts, ntargets)
   floats; ebuf: ncontexts × w2v_batch_ebuf_per_context() floats. */
float w2v_sgns_batch(int isa, float *const *context_rows, int64_t ncontexts, float *const *target_rows,
                     int64_t ntargets, int64_t dim, float alpha, float *scores, float *ebuf,
                     const float *sig, const float *logsig, const w2v_prefetch_list *next);

/* One CBOW update: hidden = sum (or mean) of the context rows predicts target_rows[0].
   hidden: scratch of dim floats. */
float w2v_cbow(int isa, float *const *context_rows, int64_t ncontexts, float *const *target_rows, int64_t ntargets,
               int64_t dim, float alpha, int mean, float *hidden, const float *sig, const float *logsig,
               const w2v_prefetch_list *next);

/* Scores scratch the batched kernel needs: per context, ntargets rounded up to its block of 6;
   then room to round the whole up to the widest vector (16 floats). */
static inline int64_t w2v_batch_scores_size(int64_t ncontexts, int64_t ntargets) {
    return ncontexts * ((ntargets + 5) / 6 * 6) + 16;
}

/* Error scratch (ebuf) the batched kernel needs per context: the widest chunk of any build. */
static inline int64_t w2v_batch_ebuf_per_context(void) { return 16; }

/* Asks the CPU to start loading the cache lines of `bytes` bytes at p, for writing (a hint: no
   effect on results). Inline, so the training loop pays no call for it. */
static inline void w2v_prefetch(const void *p, int64_t bytes) {
    const char *c = (const char *)p;
    for (int64_t i = 0; i < bytes; i += 64) __builtin_prefetch(c + i, 1, 3);
    if (bytes > 0) __builtin_prefetch(c + bytes - 1, 1, 3);
}
/* Starts loading the one cache line holding p, for reading. */
static inline void w2v_prefetch_line(const void *p) { __builtin_prefetch(p, 0, 3); }
static inline void w2v_prefetch_read(const void *p, int64_t bytes) {
    const char *c = (const char *)p;
    for (int64_t i = 0; i < bytes; i += 64) __builtin_prefetch(c + i, 0, 3);
    if (bytes > 0) __builtin_prefetch(c + bytes - 1, 0, 3);
}

/* Sets flush-to-zero and denormals-are-zero on the calling thread (x86; elsewhere a no-op) and
   returns the previous state for w2v_restore_fp. word2vec.c gets the same from -Ofast. */
/* Adds a worker's changes to its staged copy of some rows (local − base) to the shared rows, and
   sets both its copies to the result: shared += local − base; local = base = shared, element by
   element (n floats; the three never overlap). Every instruction set gives the same bits. */
void w2v_merge_staged(int isa, float *shared, float *local, float *base, int64_t n);

uint32_t w2v_flush_denormals(void);
void w2v_restore_fp(uint32_t state);

/* The machine probe's loops (probe.c); the caller times them. */
double w2v_probe_fma(int isa, int64_t steps, float *sink);
double w2v_probe_read(const float *p, int64_t n, float *sink);
uint32_t w2v_probe_chase(const uint32_t *next, int64_t steps);
void w2v_probe_pingpong(int64_t *flag, int side, int64_t rounds);

#ifdef __cplusplus
}
#endif
#endif
