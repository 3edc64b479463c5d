#!/usr/bin/env python3
"""PPMI-SVD reference (Levy, Goldberg & Dagan 2015 recipe) in numpy + scipy, for bench/methods.sh.

    python ppmi_svd_ref.py CORPUS --out vectors.txt [--json timings.json]
                           [--min-count 5] [--window 5] [--cds 0.75] [--neg 1] [--dim 100]
                           [--eig 0.5] [--seed 1]

CORPUS is a text file (text8 format: whitespace-separated tokens) or a zip archive (its only
member, or `text8`). Steps, each timed:

1. vocabulary: split on whitespace, count, keep words seen >= min_count times (ordered by count,
   then bytes); tokens of other words are dropped before windowing, as word2vec.c and GloVe do.
2. co-occurrence: symmetric window of `window` words on each side, every pair weighted 1
   (uniform, no dynamic window, no subsampling); a sparse V x V count matrix (scipy CSR).
3. PPMI: PMI(w, c) = log(#(w,c) * sum_c' #(c')^cds / (#(w) * #(c)^cds)) - log(neg), where #(w) and
   #(c) are the row and column sums of the count matrix; only positive entries are kept.
4. SVD: scipy.sparse.linalg.svds(PPMI, k=dim) (ARPACK, start vector from `seed`), singular values
   sorted descending; the vectors are U * S^eig.
5. write: word2vec text format (header "V dim", one word and its vector per line).

Prints one line per step and the totals; with --json also writes them as JSON. Peak memory is
measured from outside (bench/methods.sh runs this under /usr/bin/time).
"""
import argparse
import json
import sys
import time
import zipfile
from collections import Counter

import numpy as np
import scipy
import scipy.sparse as sp
from scipy.sparse.linalg import svds


def read_corpus(path):
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if not n.endswith("/")]
            member = names[0] if len(names) == 1 else ("text8" if "text8" in names else None)
            if member is None:
                sys.exit(f"ppmi_svd_ref: {path} has several members and none is text8: {names}")
            return z.read(member)
    with open(path, "rb") as f:
        return f.read()


def vocabulary(data, min_count):
    words = data.split()
    n_tokens = len(words)
    counts = Counter(words)
    kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    index = {w: i for i, w in enumerate(kept)}
    get = index.get
    ids = np.fromiter((get(w, -1) for w in words), dtype=np.int32, count=n_tokens)
    del words
    ids = ids[ids >= 0]
    return kept, ids, n_tokens


def cooccurrence(ids, vocab_size, window):
    """Symmetric uniform-window counts: for every distance d in 1..window, each (ids[i], ids[i+d])
    pair counts once in both directions."""
    shape = (vocab_size, vocab_size)
    m = sp.csr_matrix(shape, dtype=np.float64)
    for d in range(1, window + 1):
        rows, cols = ids[:-d], ids[d:]
        if len(rows) == 0:
            break
        ones = np.ones(len(rows), dtype=np.float32)
        m = m + sp.csr_matrix((ones, (rows, cols)), shape=shape, dtype=np.float64)
    m = (m + m.T).tocsr()
    m.sum_duplicates()
    m.eliminate_zeros()
    return m


def ppmi(counts, cds, neg):
    sum_w = np.asarray(counts.sum(axis=1)).ravel()
    sum_c = np.asarray(counts.sum(axis=0)).ravel()
    sum_c = sum_c ** cds
    total_c = sum_c.sum()
    coo = counts.tocoo()
    with np.errstate(divide="ignore"):
        pmi = np.log(coo.data * total_c / (sum_w[coo.row] * sum_c[coo.col]))
    if neg != 1:
        pmi -= np.log(neg)
    keep = pmi > 0
    return sp.csr_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=counts.shape)


def svd_vectors(matrix, dim, eig, seed):
    k = min(dim, min(matrix.shape) - 1)
    v0 = np.random.default_rng(seed).uniform(-1.0, 1.0, min(matrix.shape))
    u, s, _ = svds(matrix, k=k, v0=v0)
    order = np.argsort(-s)
    u, s = u[:, order], s[order]
    return (u * (s ** eig)).astype(np.float32), s


def write_word2vec_text(path, words, vectors):
    fmt = " ".join(["%.6f"] * vectors.shape[1])
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{vectors.shape[0]} {vectors.shape[1]}\n")
        for w, row in zip(words, vectors.tolist()):
            f.write(w.decode("utf-8", "replace") + " " + (fmt % tuple(row)) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("--out", required=True, help="vectors, word2vec text format")
    ap.add_argument("--json", help="write the timings and counts here")
    ap.add_argument("--min-count", type=int, default=5)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--cds", type=float, default=0.75, help="context-distribution smoothing exponent")
    ap.add_argument("--neg", type=float, default=1.0, help="shift: subtract log(neg) (1 = no shift)")
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--eig", type=float, default=0.5, help="vectors = U * S^eig")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    t = {}
    t0 = time.perf_counter()
    data = read_corpus(args.corpus)
    words, ids, n_tokens = vocabulary(data, args.min_count)
    del data
    t1 = time.perf_counter()
    t["vocabulary_s"] = t1 - t0
    print(f"vocabulary: {n_tokens:,} tokens, {len(words):,} words (min_count {args.min_count}), "
          f"{len(ids):,} tokens kept, {t['vocabulary_s']:.2f} s", flush=True)

    counts = cooccurrence(ids, len(words), args.window)
    del ids
    t2 = time.perf_counter()
    t["cooccurrence_s"] = t2 - t1
    print(f"co-occurrence: window {args.window} uniform, symmetric, {counts.nnz:,} non-zero pairs, "
          f"{t['cooccurrence_s']:.2f} s", flush=True)

    p = ppmi(counts, args.cds, args.neg)
    nnz_counts = counts.nnz
    del counts
    t3 = time.perf_counter()
    t["ppmi_s"] = t3 - t2
    print(f"ppmi: cds {args.cds:g}, neg {args.neg:g}, {p.nnz:,} positive entries, {t['ppmi_s']:.2f} s", flush=True)

    vectors, s = svd_vectors(p, args.dim, args.eig, args.seed)
    t4 = time.perf_counter()
    t["svd_s"] = t4 - t3
    print(f"svd: k {vectors.shape[1]}, eig {args.eig:g}, singular values {s[0]:.1f} … {s[-1]:.1f}, "
          f"{t['svd_s']:.2f} s", flush=True)

    write_word2vec_text(args.out, words, vectors)
    t5 = time.perf_counter()
    t["write_s"] = t5 - t4
    t["total_s"] = t5 - t0
    t["ppmi_plus_svd_s"] = t["ppmi_s"] + t["svd_s"]
    print(f"write: {args.out}, {t['write_s']:.2f} s", flush=True)
    print(f"total: {t['total_s']:.2f} s (co-occurrence {t['cooccurrence_s']:.2f}, ppmi {t['ppmi_s']:.2f}, "
          f"svd {t['svd_s']:.2f})", flush=True)

    if args.json:
        result = dict(t, tokens=n_tokens, vocabulary=len(words), cooccurrence_nnz=nnz_counts, ppmi_nnz=p.nnz,
                      numpy=np.__version__, scipy=scipy.__version__,
                      settings={k: getattr(args, k) for k in ("min_count", "window", "cds", "neg", "dim", "eig", "seed")})
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
