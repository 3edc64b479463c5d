/* The training kernels' bodies, written once and compiled once per instruction set: train_kernels.c
   includes this file several times with
     VT  the widest vector type of the build (v8 or v16),
     VW  its width in floats,
     VI        an int32 vector as wide as VT,
     ISA       the build's instruction set (W2V_ISA_…: which gather to use),
     FN(name)  the name of this build's copy of a function.
   Every loop over the dimension goes in chunks of VW floats, then (in a 16-wide build) one of 8,
   then one of 4, then single floats, so that e.g. dim 100 is 6×16 + 4 in the AVX-512 build and
   12×8 + 4 in the others: no dimension ends in a long scalar tail. Not a public header. */

/* Sums of the lanes (statement expressions, not functions: a vector argument wider than the
   portable build's registers would change the calling convention). */
#define HSUM_V4(x) ({ v4 h4_ = (x); (h4_[0] + h4_[2]) + (h4_[1] + h4_[3]); })
#define HSUM_V8(x) ({ v8 h8_ = (x); HSUM_V4(__builtin_shufflevector(h8_, h8_, 0, 1, 2, 3) +               \
                                            __builtin_shufflevector(h8_, h8_, 4, 5, 6, 7)); })
#if VW == 16
#define HSUM_MAIN(x) ({ v16 h16_ = (x); HSUM_V8(__builtin_shufflevector(h16_, h16_, 0, 1, 2, 3, 4, 5, 6, 7) + \
                                                __builtin_shufflevector(h16_, h16_, 8, 9, 10, 11, 12, 13, 14, 15)); })
#else
#define HSUM_MAIN(x) HSUM_V8(x)
#endif

/* s[k] = HSUM_MAIN(acc[k]) for the KB accumulators of a block, bit for bit (the same sums in the
   same order), but transposed: the six accumulators' lanes are added pairwise across registers,
   so six reductions share their shuffles (about 26 vector operations instead of about 60). */
#if KB == 6 && VW == 16
#define HSUM_BLOCK(acc, s)                                                                        \
    do {                                                                                          \
        v16 t01_ = __builtin_shufflevector(acc[0], acc[1], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) + \
                   __builtin_shufflevector(acc[0], acc[1], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31); \
        v16 t23_ = __builtin_shufflevector(acc[2], acc[3], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) + \
                   __builtin_shufflevector(acc[2], acc[3], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31); \
        v16 t45_ = __builtin_shufflevector(acc[4], acc[5], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) + \
                   __builtin_shufflevector(acc[4], acc[5], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31); \
        v16 u_ = __builtin_shufflevector(t01_, t23_, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) + \
                 __builtin_shufflevector(t01_, t23_, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31); \
        v8 w_ = __builtin_shufflevector(t45_, t45_, 0, 1, 2, 3, 8, 9, 10, 11) +                  \
                __builtin_shufflevector(t45_, t45_, 4, 5, 6, 7, 12, 13, 14, 15);                 \
        u_ += __builtin_shufflevector(u_, u_, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13); \
        u_ += __builtin_shufflevector(u_, u_, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14); \
        w_ += __builtin_shufflevector(w_, w_, 2, 3, 0, 1, 6, 7, 4, 5);                            \
        w_ += __builtin_shufflevector(w_, w_, 1, 0, 3, 2, 5, 4, 7, 6);                            \
        (s)[0] = u_[0]; (s)[1] = u_[4]; (s)[2] = u_[8]; (s)[3] = u_[12]; (s)[4] = w_[0]; (s)[5] = w_[4]; \
    } while (0)
#elif KB == 6 && VW == 8
#define HSUM_BLOCK(acc, s)                                                                        \
    do {                                                                                          \
        v8 t_[3];                                                                                 \
        for (int p_ = 0; p_ < 3; p_++) {                                                          \
            v8 t = __builtin_shufflevector(acc[2 * p_], acc[2 * p_ + 1], 0, 1, 2, 3, 8, 9, 10, 11) + \
                   __builtin_shufflevector(acc[2 * p_], acc[2 * p_ + 1], 4, 5, 6, 7, 12, 13, 14, 15); \
            t += __builtin_shufflevector(t, t, 2, 3, 0, 1, 6, 7, 4, 5);                           \
            t += __builtin_shufflevector(t, t, 1, 0, 3, 2, 5, 4, 7, 6);                           \
            t_[p_] = t;                                                                           \
        }                                                                                         \
        for (int p_ = 0; p_ < 3; p_++) { (s)[2 * p_] = t_[p_][0]; (s)[2 * p_ + 1] = t_[p_][4]; }  \
    } while (0)
#else
#define HSUM_BLOCK(acc, s) for (int k_ = 0; k_ < KB; k_++) (s)[k_] = HSUM_MAIN((acc)[k_])
#endif

/* Runs BODY(T) over the chunks of [i, n): VT, then v8 (only in a wider build), v4 and float. */
#define FOR_CHUNKS(i, n, BODY)                                                                    \
    for (; (i) + VW <= (n); (i) += VW) BODY(VT);                                                  \
    if (VW > 8) for (; (i) + 8 <= (n); (i) += 8) BODY(v8);                                       \
    for (; (i) + 4 <= (n); (i) += 4) BODY(v4);                                                    \
    for (; (i) < (n); (i)++) BODY(float)

INLINE float FN(dot)(const float *a, const float *b, int64_t n) {
    VT acc0 = {0}, acc1 = {0};
    int64_t i = 0;
    for (; i + 2 * VW <= n; i += 2 * VW) {
        acc0 += *(const VT *)(a + i) * *(const VT *)(b + i);
        acc1 += *(const VT *)(a + i + VW) * *(const VT *)(b + i + VW);
    }
    if (i + VW <= n) { acc0 += *(const VT *)(a + i) * *(const VT *)(b + i); i += VW; }
    VT acc = acc0 + acc1;
    float s = HSUM_MAIN(acc);
    if (VW > 8 && i + 8 <= n) { s += HSUM_V8(*(const v8 *)(a + i) * *(const v8 *)(b + i)); i += 8; }
    if (i + 4 <= n) { s += HSUM_V4(*(const v4 *)(a + i) * *(const v4 *)(b + i)); i += 4; }
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

/* y += a·x */
INLINE void FN(axpy)(float a, const float *x, float *y, int64_t n) {
    int64_t i = 0;
#define AXPY(T) *(T *)(y + i) += a * *(const T *)(x + i)
    FOR_CHUNKS(i, n, AXPY);
#undef AXPY
}

/* acc += g·out; out += g·h (both from the old out). */
INLINE void FN(accumulate_update)(float g, float *out, const float *h, float *acc, int64_t n) {
    int64_t i = 0;
#define ACC_UPD(T)                                                                                \
    do {                                                                                          \
        T o = *(T *)(out + i);                                                                    \
        *(T *)(acc + i) += g * o;                                                                 \
        *(T *)(out + i) = o + g * *(const T *)(h + i);                                            \
    } while (0)
    FOR_CHUNKS(i, n, ACC_UPD);
#undef ACC_UPD
}

/* Scores h·o[d] of every target (independent loads, so the misses overlap) and their gradients
   g[d] = (label − σ)·alpha, target 0 the positive one; returns the loss −Σ log σ(±score). The
   rows in `next` are prefetched among the dot products. */
INLINE float FN(score_targets)(const float *h, float *const *o, int64_t n, int64_t dim, float alpha,
                               float *g, const float *sig, const float *logsig, const w2v_prefetch_list *next) {
    float f[n > 0 ? n : 1];
    for (int64_t d = 0; d < n; d++) {
        prefetch_next(next, d, 0);
        f[d] = FN(dot)(h, o[d], dim);
    }
    prefetch_next(next, n, 1);
    float loss = 0;
    for (int64_t d = 0; d < n; d++) {
        if (d == 0) { g[d] = (1 - sigmoid(f[d], sig)) * alpha; loss -= log_sigmoid(f[d], logsig); }
        else { g[d] = -sigmoid(f[d], sig) * alpha; loss -= log_sigmoid(-f[d], logsig); }
    }
    return loss;
}

/* Scores and gradients of every target first, then per target neu1e += g·o[d], o[d] += g·h. */
INLINE float FN(apply_targets)(const float *h, float *const *o, int64_t n, int64_t dim,
                               float alpha, float *neu1e, const float *sig, const float *logsig) {
    float g[n > 0 ? n : 1];
    float loss = FN(score_targets)(h, o, n, dim, alpha, g, sig, logsig, NULL);
    for (int64_t d = 0; d < n; d++) FN(accumulate_update)(g[d], o[d], h, neu1e, dim);
    return loss;
}

INLINE float FN(sgns_pair_body)(float *l1, float *const *o, int64_t n, int64_t dim, float alpha, float *neu1e,
                                const float *sig, const float *logsig) {
    memset(neu1e, 0, (size_t)dim * sizeof(float));
    float loss = FN(apply_targets)(l1, o, n, dim, alpha, neu1e, sig, logsig);
    FN(axpy)(1, neu1e, l1, dim);
    return loss;
}

/* Scores of context row x against one block of target rows: f[k] = x·o[k]. Each chunk of x is
   loaded once for the whole block. */
INLINE void FN(block_dots)(const float *x, const float *const *o, int64_t dim, float *f) {
    VT acc[KB];
    for (int k = 0; k < KB; k++) acc[k] = (VT){0};
    int64_t i = 0;
    for (; i + VW <= dim; i += VW) {
        VT xv = *(const VT *)(x + i);
        for (int k = 0; k < KB; k++) acc[k] += xv * *(const VT *)(o[k] + i);
    }
    /* Tails of 8 and 4 go into the low lanes of the same accumulators (widened with zeros), so
       each target needs one horizontal sum. */
#if VW == 16
    if (i + 8 <= dim) {
        v8 xv = *(const v8 *)(x + i);
        for (int k = 0; k < KB; k++) {
            v8 p = xv * *(const v8 *)(o[k] + i);
            acc[k] += __builtin_shufflevector(p, (v8){0}, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        }
        i += 8;
    }
#endif
    if (i + 4 <= dim) {
        v4 xv = *(const v4 *)(x + i);
        for (int k = 0; k < KB; k++) {
            v4 p = xv * *(const v4 *)(o[k] + i);
#if VW == 16
            acc[k] += __builtin_shufflevector(p, (v4){0}, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7);
#else
            acc[k] += __builtin_shufflevector(p, (v4){0}, 0, 1, 2, 3, 4, 5, 6, 7);
#endif
        }
        i += 4;
    }
    float s[KB];
    HSUM_BLOCK(acc, s);
    for (; i < dim; i++)
        for (int k = 0; k < KB; k++) s[k] += x[i] * o[k][i];
    for (int k = 0; k < KB; k++) f[k] = s[k];
}

/* table[idx[l]] for every lane (a statement expression, as HSUM_*: see there). */
#if ISA == 2 /* W2V_ISA_AVX512 */
#define GATHER(table, idx) ((VT)_mm512_i32gather_ps((__m512i)(idx), (table), 4))
#elif ISA == 1 /* W2V_ISA_AVX2 */
#define GATHER(table, idx) ((VT)_mm256_i32gather_ps((table), (__m256i)(idx), 4))
#else
#define GATHER(table, idx)                                                                        \
    ({                                                                                            \
        VT g_;                                                                                    \
        for (int l_ = 0; l_ < VW; l_++) g_[l_] = (table)[(idx)[l_]];                              \
        g_;                                                                                       \
    })
#endif

/* Each of the m margins y in G becomes (σ(y) − 1)·alpha, and −Σ log σ(y) is returned, a vector
   at a time (G has room to round m up to whole vectors; the extra lanes are set to +∞). σ and
   log σ are read from the tables as sigmoid() and log_sigmoid() read them, with σ = 0 below −10
   and 1 above +10, as there, and log σ(y) = y below −10 and 0 above +10 (within 5·10⁻⁵ of the
   exact value, which log_sigmoid() computes there; it only enters the reported loss). A NaN
   margin gives a NaN loss (which stops the run); +∞ gives exactly 0 and 0. */
INLINE float FN(gradients)(float *G, int64_t m, float alpha, const float *sig, const float *logsig) {
    const int64_t mv = (m + VW - 1) / VW * VW;
    for (int64_t j = m; j < mv; j++) G[j] = __builtin_inff();
    const VT lo = (VT){0} - SIG_RANGE, hi = (VT){0} + SIG_RANGE, one = (VT){0} + 1;
    const VT top = (VT){0} + (SIG_RANGE - SIG_RANGE / SIG_SIZE);   /* the last cell's start */
    const VT scale = (VT){0} + (float)SIG_SIZE / (2 * SIG_RANGE);
    VT lsum = (VT){0};
    for (int64_t j = 0; j < mv; j += VW) {
        VT y = *(const VT *)(G + j);
        VT t = (__builtin_elementwise_min(__builtin_elementwise_max(y, lo), top) + SIG_RANGE) * scale;
        VI idx = __builtin_convertvector(t, VI);
        VT fr = t - __builtin_convertvector(idx, VT);
        VT s0 = GATHER(sig, idx), s1 = GATHER(sig + 1, idx);
        VT l0 = GATHER(logsig, idx), l1 = GATHER(logsig + 1, idx);
        VT sg = s0 + fr * (s1 - s0), ls = l0 + fr * (l1 - l0);
        VI above = (VI)(y >= hi), inside = (VI)(y > lo) & (VI)(y < hi);
        sg = (VT)(((VI)sg & inside) | ((VI)one & above));
        ls = (VT)(((VI)ls & inside) | ((VI)y & ~inside & ~above));
        lsum += ls;
        *(VT *)(G + j) = (sg - 1) * alpha;
    }
    return -HSUM_MAIN(lsum);
}

/* One chunk (type T at offset i) of the batched update, for every block of targets:
   e[c] += Σ_k G[c,k]·o_k (old rows), og_k = Σ_c G[c,k]·in_c (old rows), then o_k += og_k
   (read back from memory, so a target drawn twice gets both updates); and then the in-row half,
   in_c += e[c], occurrence by occurrence (a context word that occurs twice in the window gets
   both contributions). e[c] waits in ebuf (EBUF_STRIDE floats per context) until every block
   has read the old in_c. */
#define BATCH_PASS(T)                                                                             \
    do {                                                                                          \
        for (int64_t k0 = 0; k0 < np; k0 += KB) {                                                 \
            float *const *o = tp + k0;                                                            \
            T ov[KB], og[KB];                                                                     \
            for (int k = 0; k < KB; k++) { ov[k] = *(const T *)(o[k] + i); og[k] = (T){0}; }     \
            for (int64_t c = 0; c < nctx; c++) {                                                  \
                const float *gc = G + c * np + k0;                                                \
                T xv = *(const T *)(x[c] + i);                                                    \
                /* e as a sum of three pairs: a chain of 2 multiply-adds and 2 adds, not 6. */    \
                T e0 = gc[0] * ov[0], e1 = gc[2] * ov[2], e2 = gc[4] * ov[4];                    \
                if (k0 > 0) e0 += *(const T *)(ebuf + c * EBUF_STRIDE);                           \
                e0 += gc[1] * ov[1]; e1 += gc[3] * ov[3]; e2 += gc[5] * ov[5];                    \
                for (int k = 0; k < KB; k++) og[k] += gc[k] * xv;                                 \
                *(T *)(ebuf + c * EBUF_STRIDE) = (e0 + e1) + e2;                                  \
            }                                                                                     \
            for (int k = 0; k < KB; k++) *(T *)(o[k] + i) += og[k];                              \
        }                                                                                         \
        for (int64_t c = 0; c < nctx; c++) *(T *)(x[c] + i) += *(const T *)(ebuf + c * EBUF_STRIDE); \
    } while (0)

INLINE float FN(sgns_batch_body)(float *const *x, int64_t nctx, float *const *targets, int64_t n, int64_t dim,
                                 float alpha, float *G, float *ebuf, const float *sig, const float *logsig,
                                 const w2v_prefetch_list *next) {
    if (nctx <= 0 || n <= 0) { prefetch_next(next, 0, 1); return 0; }
    int64_t nextRow = 0;
    const int64_t np = (n + KB - 1) / KB * KB;
    /* Scores → margins y (the score for the positive target, minus it for negatives, +∞ for
       padding) → G[c,k] = (label − σ(score))·alpha, from the current rows (0 for padding): the
       gradient pass gives (σ(y) − 1)·alpha, which is that for negatives and minus it for the
       positive. */
    for (int64_t k0 = 0; k0 < n; k0 += KB) {
        float *o[KB];
        block_rows(targets, n, k0, o);
        for (int64_t c = 0; c < nctx; c++) {
            float *gc = G + c * np + k0;
            prefetch_next(next, nextRow++, 0); /* one row of the next centre's per block of dots */
            FN(block_dots)(x[c], (const float *const *)o, dim, gc);
            for (int k = 0; k < KB; k++) gc[k] = k0 + k >= n ? __builtin_inff() : k0 + k == 0 ? gc[k] : -gc[k];
        }
    }
    prefetch_next(next, nextRow, 1);
    float loss = FN(gradients)(G, nctx * np, alpha, sig, logsig);
    for (int64_t c = 0; c < nctx; c++) G[c * np] = -G[c * np];
    /* The targets padded to whole blocks (padding: copies of the block's first row, with zero
       gradients). */
    float *tp[np];
    for (int64_t k = 0; k < np; k++) tp[k] = targets[k < n ? k : k / KB * KB];
    int64_t i = 0;
    FOR_CHUNKS(i, dim, BATCH_PASS);
    return loss;
}

/* One chunk (type T at offset i) of CBOW's hidden vector: the sum of the context rows, in order,
   times 1/nctx for the mean. */
#define CBOW_HIDDEN(T)                                                                            \
    do {                                                                                          \
        T h = *(const T *)(x[0] + i);                                                             \
        for (int64_t c = 1; c < nctx; c++) h += *(const T *)(x[c] + i);                           \
        if (scale != 1) h *= scale;                                                               \
        *(T *)(hidden + i) = h;                                                                   \
    } while (0)

/* One chunk of CBOW's update, all targets and contexts at once: e = Σ_d g[d]·o_d (each target's
   row read before its update, in order, so a target drawn twice sees its first update, as when
   the targets were updated one after another), o_d += g[d]·hidden, then every context row
   += e. The same operations in the same order as a pass per target, then a pass per context,
   without keeping e in memory. */
#define CBOW_UPDATE(T)                                                                            \
    do {                                                                                          \
        T hv = *(const T *)(hidden + i), e = (T){0};                                              \
        for (int64_t d = 0; d < n; d++) {                                                         \
            T ov = *(T *)(o[d] + i);                                                              \
            e += g[d] * ov;                                                                       \
            *(T *)(o[d] + i) = ov + g[d] * hv;                                                    \
        }                                                                                         \
        for (int64_t c = 0; c < nctx; c++) *(T *)(x[c] + i) += e;                                 \
    } while (0)

INLINE float FN(cbow_body)(float *const *x, int64_t nctx, float *const *o, int64_t n, int64_t dim, float alpha,
                           int mean, float *hidden, const float *sig, const float *logsig,
                           const w2v_prefetch_list *next) {
    if (nctx <= 0) { prefetch_next(next, 0, 1); return 0; }
    const float scale = mean && nctx > 1 ? 1 / (float)nctx : 1;
    int64_t i = 0;
    FOR_CHUNKS(i, dim, CBOW_HIDDEN);
    float g[n > 0 ? n : 1];
    float loss = FN(score_targets)(hidden, o, n, dim, alpha, g, sig, logsig, next);
    i = 0;
    FOR_CHUNKS(i, dim, CBOW_UPDATE);
    return loss;
}

/* This build's entry points (not inlined into each other: one copy each per instruction set). */
static float FN(sgns_pair)(float *l1, float *const *o, int64_t n, int64_t dim, float alpha, float *neu1e,
                           const float *sig, const float *logsig) {
    return FN(sgns_pair_body)(l1, o, n, dim, alpha, neu1e, sig, logsig);
}
static float FN(sgns_batch)(float *const *x, int64_t nctx, float *const *o, int64_t n, int64_t dim,
                            float alpha, float *scores, float *ebuf, const float *sig, const float *logsig,
                            const w2v_prefetch_list *next) {
    return FN(sgns_batch_body)(x, nctx, o, n, dim, alpha, scores, ebuf, sig, logsig, next);
}
static float FN(cbow)(float *const *x, int64_t nctx, float *const *o, int64_t n, int64_t dim, float alpha,
                      int mean, float *hidden, const float *sig, const float *logsig, const w2v_prefetch_list *next) {
    return FN(cbow_body)(x, nctx, o, n, dim, alpha, mean, hidden, sig, logsig, next);
}
/* shared += local − base; local = base = shared (see w2v_merge_staged): VW floats at a time, the
   same operations in the same order as one float at a time, so every build gives the same bits. */
static void FN(merge_staged)(float *restrict shared, float *restrict local, float *restrict base, int64_t n) {
    int64_t i = 0;
    for (; i + VW <= n; i += VW) {
        VT s = *(VT *)(shared + i) + (*(VT *)(local + i) - *(VT *)(base + i));
        *(VT *)(shared + i) = s;
        *(VT *)(local + i) = s;
        *(VT *)(base + i) = s;
    }
    for (; i < n; i++) {
        float s = shared[i] + (local[i] - base[i]);
        shared[i] = s;
        local[i] = s;
        base[i] = s;
    }
}

#undef FOR_CHUNKS
#undef HSUM_V4
#undef HSUM_V8
#undef HSUM_MAIN
#undef HSUM_BLOCK
#undef BATCH_PASS
#undef CBOW_HIDDEN
#undef CBOW_UPDATE
#undef GATHER
