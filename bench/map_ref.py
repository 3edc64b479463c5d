#!/usr/bin/env python3
"""Reference 2-D maps (Barnes–Hut t-SNE) of word vectors, for benchmarking our `map` stage.

    python map_ref.py VECTORS --method sklearn|opentsne [--words 5000] [--threads 2] [--seed 1]
                      [--init pca|random] [--format auto|word2vec-binary|word2vec-text] [--out map.tsv]
                      [--opentsne-params matched|native] [--neighbors exact|auto]
    python map_ref.py VECTORS --score ours.tsv [--threads 2]

VECTORS is a word2vec file: binary (as `w2v-pipe export` format word2vec-binary writes it: a header
line "V D", then per word the word, one space, D little-endian float32 and "\\n") or text (header
"V D", then "word v1 ... vD" per line); `auto` tells them apart from the first row.

Fit mode (--method): the first --words rows (the most frequent words, in file order) are scaled
to unit length (float64; so euclidean distance ranks neighbours as cosine does) and embedded in
2-D with the settings of our `map` stage:

  perplexity 30, PCA initialisation (rescaled to std 1e-4 on the first axis), early exaggeration 12
  for 250 iterations then 750 iterations without, 1000 in all, Barnes–Hut with theta (angle) 0.5,
  learning rate "auto" as scikit-learn defines it: max(N / 12 / 4, 50), momentum 0.5 then 0.8.

  --init random (default pca) starts both libraries from i.i.d. Gaussian noise of standard
  deviation 1e-4 drawn from --seed (scikit-learn init="random", openTSNE initialization="random";
  our stage's init random is the same distribution from its own generator), for a study of the
  spread over seeds. With pca the start hardly depends on the seed (scikit-learn passes it to its
  PCA; openTSNE also adds a small jitter drawn from it); the output's "init" says which start ran.

  sklearn:  sklearn.manifold.TSNE(perplexity=30, early_exaggeration=12, learning_rate="auto",
            max_iter=1000, init=--init, method="barnes_hut", angle=0.5, n_jobs=threads,
            random_state=seed, n_iter_without_progress=1000, min_grad_norm=0). The last two turn
            off its early stops, so it runs the whole 1000 iterations as ours does (`iterations`
            in the output is its n_iter_ + 1, n_iter_ being the last iteration's index).
            Its 250 exaggerated iterations are fixed in its code.
  opentsne: openTSNE.TSNE(perplexity=30, early_exaggeration=12, early_exaggeration_iter=250,
            n_iter=750, initialization=--init, negative_gradient_method="bh", theta=0.5,
            n_jobs=threads, random_state=seed, neighbors=--neighbors) and, with
            --opentsne-params matched (default), the optimiser set to scikit-learn's:
            learning_rate = 4 * max(N / 48, 50) in both phases (openTSNE's gradient has no factor
            4, scikit-learn's has), initial_momentum 0.5, final_momentum 0.8, max_step_norm None.
            --opentsne-params native keeps openTSNE's own defaults for these (learning_rate "auto"
            = N / exaggeration per phase, i.e. N/12 then N; momentum 0.8 and 0.8; steps clipped to
            norm 5). --neighbors exact (default) uses exact k-nearest neighbours as scikit-learn
            does; openTSNE's own "auto" uses Annoy (approximate) from 1,000 points on.

  Timed: the fit alone (affinities, PCA or random initialisation, optimisation), wall seconds
  (time.perf_counter). Then trustworthiness: sklearn.manifold.trustworthiness(X, Y, n_neighbors=10)
  with X the unit rows. --out writes the map as TSV: header "word\\tx\\ty\\tcount", one row per word
  in frequency order (count 0: a vector file has no counts).

Score mode (--score TSV): reads a map TSV (header, then word, x, y[, count] per row; our stage's
format), looks each word up in VECTORS (every word of the file, not only the first --words), and
prints the trustworthiness (k = 10) of that map on the unit rows of those words, in the TSV's order.
same_words_as_top_n says whether the TSV's words are the file's first N words in the same order.

Threads: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS are set to --threads before
numpy is imported (scikit-learn's Barnes–Hut gradient uses OpenMP's thread count, not n_jobs).
OMP_WAIT_POLICY is left as the caller sets it (reported as omp_wait_policy). Both libraries run
libgomp (bundled in their wheels), whose threads spin between parallel regions by default: with
another job holding one of two cores, --threads 2 was up to 25 times slower than --threads 1 in
300-point smoke runs, and OMP_WAIT_POLICY=passive removed most of that. On a shared machine, set
it (and say so), or compare with --threads 1 as well.

Output: one JSON line on stdout per run: mode, method, init (fit mode: pca or random), words, dim,
seconds (fit; null in score mode), trustworthiness, score_seconds, peak_rss_mb (ru_maxrss of the
whole process right after the fit, i.e. reading the vectors and the fit), peak_rss_mb_end (after the
trustworthiness too, whose N x N distance and rank matrices grow as N squared), the parameters
used, versions.
"""
import argparse
import json
import os
import resource
import sys
import time


def first_row_is_text(data, pos, dim):
    """True if the first row after the header is a text row: a word and `dim` numbers."""
    end = data.find(b"\n", pos)
    parts = data[pos:end if end >= 0 else len(data)].split()
    if len(parts) != dim + 1:
        return False
    try:
        [float(p) for p in parts[1:]]
    except ValueError:
        return False
    return True


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vectors", help="word2vec binary or text file")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--method", choices=["sklearn", "opentsne"], help="fit a map with this library")
    mode.add_argument("--score", metavar="TSV", help="score this map TSV (word, x, y[, count]) instead")
    ap.add_argument("--words", type=int, default=5000, help="fit the first N words (default 5000)")
    ap.add_argument("--threads", type=int, default=2, help="n_jobs and OpenMP/BLAS threads (default 2)")
    ap.add_argument("--seed", type=int, default=1, help="random_state (default 1)")
    ap.add_argument("--init", choices=["pca", "random"], default="pca",
                    help="start: PCA (default) or Gaussian noise of std 1e-4 from --seed")
    ap.add_argument("--format", choices=["auto", "word2vec-binary", "word2vec-text"], default="auto")
    ap.add_argument("--out", help="write the fitted map here as TSV (word, x, y, count)")
    ap.add_argument("--perplexity", type=float, default=30.0)
    ap.add_argument("--iterations", type=int, default=1000, help="total iterations (default 1000)")
    ap.add_argument("--exaggeration-iterations", type=int, default=250,
                    help="early-exaggeration iterations (default 250; scikit-learn's is fixed at 250)")
    ap.add_argument("--early-exaggeration", type=float, default=12.0)
    ap.add_argument("--theta", type=float, default=0.5, help="Barnes–Hut angle (default 0.5)")
    ap.add_argument("--opentsne-params", choices=["matched", "native"], default="matched",
                    help="openTSNE optimiser: scikit-learn's learning rate and momenta (matched), or its own")
    ap.add_argument("--neighbors", choices=["exact", "auto"], default="exact",
                    help="openTSNE k-NN: exact (as scikit-learn), or its auto (Annoy from 1,000 points)")
    ap.add_argument("--k", type=int, default=10, help="trustworthiness neighbours (default 10)")
    args = ap.parse_args(argv)
    if args.threads < 1 or args.words < 2 or args.k < 1:
        ap.error("--threads must be >= 1, --words >= 2, --k >= 1")
    if args.method == "sklearn" and args.exaggeration_iterations != 250:
        ap.error("scikit-learn's early-exaggeration phase is fixed at 250 iterations")
    if args.iterations <= args.exaggeration_iterations:
        ap.error("--iterations must exceed --exaggeration-iterations")
    return args


def read_vectors(path, fmt, limit=None):
    """(words, float32 array V x D) of the first `limit` rows (all with None)."""
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    nl = data.find(b"\n")
    header = data[:nl].split() if nl >= 0 else []
    if len(header) != 2 or not all(h.isdigit() for h in header):
        sys.exit(f"map_ref: {path}: no word2vec header line 'V D' (got {data[:60]!r})")
    count, dim = int(header[0]), int(header[1])
    n = count if limit is None else min(count, limit)
    pos = nl + 1
    if fmt == "auto":
        fmt = "word2vec-text" if first_row_is_text(data, pos, dim) else "word2vec-binary"
    words = []
    vecs = np.empty((n, dim), dtype=np.float32)
    if fmt == "word2vec-binary":
        row = 4 * dim
        for i in range(n):
            while pos < len(data) and data[pos] in b" \n\r\t":
                pos += 1
            sp = data.find(b" ", pos)
            if sp < 0 or sp + 1 + row > len(data):
                sys.exit(f"map_ref: {path}: truncated at row {i} (byte {pos})")
            words.append(data[pos:sp].decode("utf-8", errors="replace"))
            vecs[i] = np.frombuffer(data, dtype="<f4", count=dim, offset=sp + 1)
            pos = sp + 1 + row
    else:
        lines = data[pos:].split(b"\n")
        i = 0
        for ln in lines:
            if i == n:
                break
            parts = ln.split()
            if not parts:
                continue
            if len(parts) != dim + 1:
                sys.exit(f"map_ref: {path}: row {i} has {len(parts) - 1} numbers, not {dim}")
            words.append(parts[0].decode("utf-8", errors="replace"))
            vecs[i] = np.array([float(x) for x in parts[1:]], dtype=np.float32)
            i += 1
        if i < n:
            sys.exit(f"map_ref: {path}: header says {count} rows, found {i}")
    if not np.all(np.isfinite(vecs)):
        sys.exit(f"map_ref: {path}: non-finite components")
    return words, vecs, fmt, count, dim


def unit_rows(vecs):
    import numpy as np
    x = vecs.astype(np.float64)
    norms = np.linalg.norm(x, axis=1)
    zero = int(np.sum(norms == 0))
    norms[norms == 0] = 1.0
    return x / norms[:, None], zero


def read_map_tsv(path):
    import numpy as np
    words, coords = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        head = f.readline().rstrip("\r\n").split("\t")
        if head[:3] != ["word", "x", "y"]:
            sys.exit(f"map_ref: {path}: header should start word<TAB>x<TAB>y, got {head}")
        for lineno, ln in enumerate(f, start=2):
            ln = ln.rstrip("\r\n")
            if not ln:
                continue
            parts = ln.split("\t")
            if len(parts) < 3:
                sys.exit(f"map_ref: {path}:{lineno}: fewer than 3 fields")
            words.append(parts[0])
            coords.append((float(parts[1]), float(parts[2])))
    return words, np.array(coords, dtype=np.float64).reshape(-1, 2)


def write_map_tsv(path, words, y, counts=None):
    with open(path, "w", encoding="utf-8") as f:
        f.write("word\tx\ty\tcount\n")
        for i, w in enumerate(words):
            f.write(f"{w}\t{float(y[i, 0])!r}\t{float(y[i, 1])!r}\t{0 if counts is None else counts[i]}\n")


def peak_rss_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def versions(method):
    import numpy
    import scipy
    import sklearn
    v = {"python": sys.version.split()[0], "numpy": numpy.__version__, "scipy": scipy.__version__,
         "scikit-learn": sklearn.__version__}
    if method == "opentsne":
        import openTSNE
        v["openTSNE"] = openTSNE.__version__
    return v


def fit_sklearn(x, args):
    from sklearn.manifold import TSNE
    params = dict(n_components=2, perplexity=args.perplexity, early_exaggeration=args.early_exaggeration,
                  learning_rate="auto", max_iter=args.iterations, n_iter_without_progress=args.iterations,
                  min_grad_norm=0.0, metric="euclidean", init=args.init, method="barnes_hut", angle=args.theta,
                  n_jobs=args.threads, random_state=args.seed)
    t = TSNE(**params)
    t0 = time.perf_counter()
    y = t.fit_transform(x)
    secs = time.perf_counter() - t0
    # n_iter_ is the index of the last iteration run (999 after 1000 iterations)
    extra = {"iterations": int(t.n_iter_) + 1, "kl_divergence": float(t.kl_divergence_),
             "learning_rate": float(t.learning_rate_)}
    return y, secs, params, extra


def fit_opentsne(x, args):
    import openTSNE
    n = x.shape[0]
    params = dict(n_components=2, perplexity=args.perplexity, early_exaggeration=args.early_exaggeration,
                  early_exaggeration_iter=args.exaggeration_iterations,
                  n_iter=args.iterations - args.exaggeration_iterations, initialization=args.init,
                  metric="euclidean", negative_gradient_method="bh", theta=args.theta,
                  neighbors=args.neighbors, n_jobs=args.threads, random_state=args.seed)
    if args.opentsne_params == "matched":
        # scikit-learn's "auto" rate, max(N / exaggeration / 4, 50), times 4: openTSNE's gradient
        # lacks the factor 4 of the t-SNE gradient that scikit-learn's includes.
        params.update(learning_rate=4.0 * max(n / args.early_exaggeration / 4.0, 50.0),
                      initial_momentum=0.5, final_momentum=0.8, max_step_norm=None)
    t = openTSNE.TSNE(**params)
    t0 = time.perf_counter()
    emb = t.fit(x)
    secs = time.perf_counter() - t0
    import numpy as np
    y = np.asarray(emb)
    extra = {"iterations": args.iterations, "kl_divergence": float(emb.kl_divergence)}
    return y, secs, params, extra


def main():
    args = parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np
    from sklearn.manifold import trustworthiness

    if args.score:
        words, vecs, fmt, count, dim = read_vectors(args.vectors, args.format)
        index = {}
        for i, w in enumerate(words):
            index.setdefault(w, i)
        map_words, y = read_map_tsv(args.score)
        missing = [w for w in map_words if w not in index]
        if missing:
            sys.exit(f"map_ref: {len(missing)} words of {args.score} are not in {args.vectors}: {missing[:5]}")
        if len(set(map_words)) != len(map_words):
            sys.exit(f"map_ref: {args.score} lists a word twice")
        rows = np.array([index[w] for w in map_words], dtype=np.int64)
        x, zero = unit_rows(vecs[rows])
        n = len(map_words)
        result = {"mode": "score", "method": "tsv", "map": args.score, "words": n, "dim": dim,
                  "same_words_as_top_n": map_words == words[:n], "seconds": None}
        peak_fit = None
    else:
        words, vecs, fmt, count, dim = read_vectors(args.vectors, args.format, limit=args.words)
        n = len(words)
        if n < args.words:
            print(f"map_ref: {args.vectors} has only {n} words (asked for {args.words})", file=sys.stderr)
        if n <= args.perplexity or 2 * args.k >= n:
            sys.exit(f"map_ref: {n} words is too few (perplexity {args.perplexity} needs more, trustworthiness k < N/2)")
        x, zero = unit_rows(vecs)
        fit = fit_sklearn if args.method == "sklearn" else fit_opentsne
        y, secs, params, extra = fit(x, args)
        peak_fit = peak_rss_mb()
        result = {"mode": "fit", "method": args.method, "init": args.init, "words": n, "dim": dim,
                  "seconds": round(secs, 3)}
        result.update(extra)
        result["params"] = {k: v for k, v in params.items()}
        if args.out:
            write_map_tsv(args.out, words, y)
    if 2 * args.k >= n:
        sys.exit(f"map_ref: trustworthiness needs k < N/2 (k={args.k}, N={n})")
    t0 = time.perf_counter()
    tw = trustworthiness(x, y, n_neighbors=args.k)
    result.update({"trustworthiness": round(float(tw), 6), "k": args.k,
                   "score_seconds": round(time.perf_counter() - t0, 3),
                   "zero_vectors": zero, "peak_rss_mb": peak_fit, "peak_rss_mb_end": peak_rss_mb(),
                   "threads": args.threads, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                   "seed": args.seed, "vectors": args.vectors,
                   "vectors_format": fmt, "versions": versions(args.method)})
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
