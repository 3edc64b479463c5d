#!/usr/bin/env python3
"""Train one peer (gensim or fastText) on a text file and write word2vec binary vectors.

Run by bench/run.py with the bench venv's Python, one process per training, so that
/usr/bin/time measures this process alone. Prints progress lines to stderr and, as its
last stdout line, `BENCH_RESULT {json}`.

  gensim:   times build_vocab (corpus scan, vocabulary, tables) and train separately,
            with time.perf_counter inside this process.
  fasttext: train_unsupervised reads the vocabulary and trains in one call; this script
            prints `BENCH_TRAIN_END` on stdout the moment it returns, and run.py takes the
            training time from the arrival of fastText's own "Number of labels" line (printed
            once the vocabulary is read) to that marker.
"""
import argparse
import json
import struct
import sys
import time


def write_word2vec_binary(path, words, vector_of, dim):
    with open(path, "wb") as f:
        f.write(f"{len(words)} {dim}\n".encode())
        for w in words:
            v = vector_of(w)
            f.write(w.encode("utf-8") + b" " + struct.pack(f"<{dim}f", *map(float, v)) + b"\n")


def run_gensim(a):
    import logging

    import gensim
    from gensim.models import Word2Vec

    # gensim's own log (stderr, kept by run.py) says how many raw words each epoch trained on.
    logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", level=logging.INFO)
    from gensim.models.word2vec import Text8Corpus

    # Iterator mode: the one-line text8 file cut into 10,000-word sentences (Text8Corpus).
    corpus = Text8Corpus(a.corpus, max_sentence_length=10000)
    model = Word2Vec(
        vector_size=a.dim, window=a.window, min_count=a.min_count, sample=a.sample,
        sg=1 if a.model == "sgns" else 0, hs=0, negative=a.negatives, cbow_mean=1,
        workers=a.threads, epochs=a.epochs, seed=a.seed,
    )
    t0 = time.perf_counter()
    model.build_vocab(corpus)
    t1 = time.perf_counter()
    trained, raw = model.train(corpus, total_examples=model.corpus_count, epochs=model.epochs)
    t2 = time.perf_counter()
    model.wv.save_word2vec_format(a.out, binary=True)
    t3 = time.perf_counter()
    return {
        "version": gensim.__version__,
        "vocab_seconds": t1 - t0,
        "train_seconds": t2 - t1,
        "export_seconds": t3 - t2,
        "timing": "train() only (build_vocab excluded), in-process perf_counter",
        "corpus_words_seen": raw,  # raw words processed over all epochs, incl. min_count-dropped
        "effective_words": trained,  # after min_count and subsampling
        "vocabulary_size": len(model.wv),
        "alpha": model.alpha,
    }


def run_fasttext(a):
    import fasttext

    t0 = time.perf_counter()
    m = fasttext.train_unsupervised(
        a.corpus, model="skipgram" if a.model == "sgns" else "cbow",
        dim=a.dim, ws=a.window, neg=a.negatives, minCount=a.min_count, t=a.sample,
        thread=a.threads, epoch=a.epochs, minn=0, maxn=0, wordNgrams=1, loss="ns", verbose=2,
    )
    t1 = time.perf_counter()
    sys.stderr.flush()
    print("BENCH_TRAIN_END", flush=True)
    words = m.get_words()
    write_word2vec_binary(a.out, words, m.get_word_vector, m.get_dimension())
    t2 = time.perf_counter()
    try:
        version = __import__("importlib.metadata").metadata.version("fasttext-wheel")
    except Exception:  # noqa: BLE001
        version = "?"
    return {
        "version": version,
        "call_seconds": t1 - t0,  # vocabulary read + training
        "export_seconds": t2 - t1,
        "vocabulary_size": len(words),
        "alpha": 0.05,  # fastText's default -lr for skipgram and cbow
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("tool", choices=["gensim", "fasttext"])
    p.add_argument("--corpus", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--model", choices=["sgns", "cbow"], required=True)
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negatives", type=int, default=5)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--sample", type=float, default=1e-4)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    result = run_gensim(a) if a.tool == "gensim" else run_fasttext(a)
    print("BENCH_RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
