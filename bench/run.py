#!/usr/bin/env python3
"""Side-by-side benchmark: w2v-pipe against gensim, fastText and word2vec.c.

    python3 bench/run.py [--corpus ZIP] [--models sgns,cbow] [--epochs 1] [--threads N]
                         [--repeats 5] [--tools w2v-pipe,w2v-pipe-shared,w2v-pipe-pair,w2v-pipe-1t,w2v-pipe-procs,
                                             gensim,fasttext,word2vec-c]
                         [--out bench/results] [--smoke] [--no-build] [--keep-work]

Every tool trains on the same bytes (the zip member extracted once) with the same
hyperparameters (dim 100, window 5, K 5, min_count 5, t 1e-4, threads, epochs); the runs are
interleaved (A B C D, B C D A, ... for w2v-pipe's variants, then the peers) after one excluded
warm-up of w2v-pipe. Every tool's
vectors are exported as word2vec binary and scored by the same `w2v-pipe evaluate`.
See bench/README.md for what is timed how.

Python 3 standard library only; the peers run in their own venv (bench/.venv), which this
script creates and fills (idempotent) unless only w2v-pipe is benchmarked.
"""
import argparse
import datetime
import json
import os
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
VENV = BENCH / ".venv"
PIPE = Path(os.environ["W2V_PIPE_BIN"]).resolve() if os.environ.get("W2V_PIPE_BIN") else REPO / ".build" / "release" / "w2v-pipe"
PEER_SCRIPT = BENCH / "peer_train.py"
ANALOGIES = REPO / "data" / "eval" / "questions-words.txt"
SIMILARITY = REPO / "data" / "eval" / "wordsim353.tsv"
DEFAULT_CORPUS = "../shared/data/corpus/en-corpus.zip"  # relative to the repo root
SMOKE_CORPUS = "data/en-small.zip"
ALL_TOOLS = ["w2v-pipe", "w2v-pipe-shared", "w2v-pipe-pair", "w2v-pipe-1t", "w2v-pipe-procs", "gensim", "fasttext", "word2vec-c"]
# w2v-pipe variants: extra train parameters (the per-pair kernel: skip-gram only) and threads.
PIPE_VARIANTS = {"w2v-pipe": ({}, None), "w2v-pipe-shared": ({"replica_merge_words": 0}, None),
                 "w2v-pipe-pair": ({"batched_negatives": False}, None), "w2v-pipe-1t": ({}, 1),
                 "w2v-pipe-procs": ({}, 1)}
# The variant that is not one run: as many one-thread processes as threads, started together
# (`Pipe.train_procs`): what the machine gives this workload on all its cores when nothing is
# shared, the yardstick for the 1 → N thread scaling.
PROCS = "w2v-pipe-procs"
PEER_PACKAGES = {  # tool -> (pip requirement, distribution name, version)
    "gensim": ("gensim==4.4.0", "gensim", "4.4.0"),
    "fasttext": ("fasttext-wheel==0.9.2", "fasttext-wheel", "0.9.2"),
    "word2vec-c": ("word2vec==0.11.1", "word2vec", "0.11.1"),
}
KNOWN_TOKENS = {"en-corpus.zip": 16_943_072}
HYPER = {"dim": 100, "window": 5, "negatives": 5, "min_count": 5, "t": 1e-4}
TIMING = {
    "w2v-pipe": "train stage only: `train_seconds` from its run record (data stages reused from the store)",
    "w2v-pipe-pair": "as w2v-pipe; skip-gram with `batched_negatives: false` (one update per pair, word2vec.c's order)",
    "w2v-pipe-shared": "as w2v-pipe, with `replica_merge_words: 0`: every thread writes the shared tables (the hottest output rows staged), the default before replicas",
    "w2v-pipe-1t": "as w2v-pipe, with `threads: 1` (the 1 → N thread scaling)",
    "w2v-pipe-procs": "N one-thread w2v-pipe processes started together (N = threads; each its own seed, tables and "
                      "experiment, one store): words/s = the sum of each one's corpus tokens × epochs / its own train s; "
                      "train s = the longest",
    "gensim": "`train()` only, in-process (build_vocab — corpus scan, vocabulary, tables — excluded)",
    "fasttext": "from fastText's own `Number of labels` line (vocabulary read) to the return of train_unsupervised (output-matrix init included)",
    "word2vec-c": "from its first progress line (vocabulary read, tables built) to process exit (includes writing the vectors, <1 s)",
}
CANNOT_EXPRESS = {
    "w2v-pipe": "learning rate: its default (0.025 sgns, 0.05 cbow); skip-gram with its default batched kernel.",
    "w2v-pipe-pair": "as w2v-pipe, per-pair kernel.",
    "w2v-pipe-shared": "as w2v-pipe, shared tables (no replicas).",
    "w2v-pipe-1t": "as w2v-pipe, one thread.",
    "w2v-pipe-procs": "as w2v-pipe-1t, N processes at once; quality of the first one; peak RSS of the largest one.",
    "gensim": "iterator mode over text8 cut into 10,000-word sentences (Text8Corpus), sg=1/0, hs=0, negative=5, "
              "sample=1e-4, workers=threads, cbow_mean=1; its default alpha 0.025 for both models "
              "(word2vec.c and w2v-pipe start CBOW at 0.05). corpus_file mode not used (trains on ~half of a one-line corpus).",
    "fasttext": "-minn 0 -maxn 0 -wordNgrams 1 -loss ns -t 1e-4 (same discard formula); negatives are drawn from "
                "counts^0.5, not ^0.75 (hard-coded); default -lr 0.05 for both models; adds an end-of-line token </s>.",
    "word2vec-c": "-cbow 0/1 -size 100 -window 5 -negative 5 -hs 0 -sample 1e-4 -min-count 5 -threads N -iter E -binary 1; "
                  "defaults -alpha 0.025 sgns / 0.05 cbow; compiled by the `word2vec` PyPI package at install (gcc -Ofast -march=native -funroll-loops); "
                  "1,000-word sentences.",
}


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# machine, build, venv


def machine_info():
    info = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "cores": os.cpu_count()}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        fields = dict(re.findall(r"^([^:\n]+):\s*(.*)$", out, re.M))
        info["cpu"] = fields.get("Model name", "?")
        if fields.get("Hypervisor vendor"):
            info["cpu"] += f" ({fields['Hypervisor vendor']} VM)"
        flags = set(fields.get("Flags", "").split())
        wanted = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "avx512_vnni"]
        info["simd"] = [f for f in wanted if f in flags]
    except OSError:
        info["cpu"], info["simd"] = "?", []
    try:
        with open("/proc/meminfo") as f:
            kb = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
        info["memory_gb"] = round(kb / 1024 / 1024, 1)
    except (OSError, AttributeError):
        pass
    try:
        info["loadavg_at_start"] = os.getloadavg()[0]
    except OSError:
        pass
    return info


def ensure_binary(build):
    if build or not PIPE.exists():
        waited = 0
        while other_swift_build_running():
            if waited == 0:
                log("another swift build is running; waiting for it to finish")
            time.sleep(10)
            waited += 10
            if waited > 1800:
                sys.exit("bench: gave up waiting for another swift build")
        log("swift build -c release --product w2v-pipe")
        r = subprocess.run(["swift", "build", "-c", "release", "--product", "w2v-pipe"], cwd=REPO,
                           stdout=subprocess.DEVNULL)
        if r.returncode != 0:
            sys.exit("bench: swift build failed")
    if not PIPE.exists():
        sys.exit(f"bench: {PIPE} not found")
    version = subprocess.run([str(PIPE), "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "Sources", "Package.swift"], cwd=REPO,
                           capture_output=True, text=True).stdout.strip()
    built = datetime.datetime.fromtimestamp(PIPE.stat().st_mtime, datetime.timezone.utc)
    return {"version": version, "commit": commit + ("+dirty" if dirty else ""),
            "binary_built": built.strftime("%Y-%m-%d %H:%M UTC")}


def other_swift_build_running():
    r = subprocess.run(["pgrep", "-f", "swift-build"], capture_output=True, text=True)
    return bool(r.stdout.strip())


def venv_python():
    return VENV / "bin" / "python"


def installed_version(dist):
    r = subprocess.run([str(venv_python()), "-c",
                        f"import importlib.metadata as m; print(m.version({dist!r}))"],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def find_word2vec_binary():
    cand = VENV / "bin" / "word2vec"
    if cand.is_file() and os.access(cand, os.X_OK):
        return cand
    r = subprocess.run([str(venv_python()), "-c", "import word2vec, os; print(os.path.dirname(word2vec.__file__))"],
                       capture_output=True, text=True)
    if r.returncode == 0:
        for p in Path(r.stdout.strip()).rglob("word2vec"):
            if p.is_file() and os.access(p, os.X_OK):
                return p
    return None


def ensure_venv(peers, logdir):
    """Creates/fills bench/.venv; returns {tool: {"available": bool, ...}}."""
    status = {}
    if not venv_python().exists():
        log(f"creating venv {VENV}")
        r = subprocess.run([sys.executable, "-m", "venv", str(VENV)], capture_output=True, text=True)
        if r.returncode != 0:
            return {t: {"available": False, "reason": "venv creation failed: " + r.stderr.strip()[-300:]}
                    for t in peers}
    for tool in peers:
        req, dist, want = PEER_PACKAGES[tool]
        have = installed_version(dist)
        if have != want:
            log(f"pip install {req}")
            with open(logdir / f"pip-{tool}.log", "w") as f:
                r = subprocess.run([str(venv_python()), "-m", "pip", "install", req], stdout=f,
                                   stderr=subprocess.STDOUT)
            have = installed_version(dist)
            if r.returncode != 0 or have != want:
                status[tool] = {"available": False, "reason": f"pip install {req} failed (see logs/pip-{tool}.log)"}
                continue
        entry = {"available": True, "version": have}
        if tool == "gensim":
            r = subprocess.run([str(venv_python()), "-c",
                                "from gensim.models.word2vec_inner import FAST_VERSION; print(FAST_VERSION)"],
                               capture_output=True, text=True)
            if r.returncode != 0 or r.stdout.strip() == "-1":
                entry = {"available": False, "reason": "gensim has no compiled (Cython) training routines"}
        elif tool == "fasttext":
            r = subprocess.run([str(venv_python()), "-c", "import fasttext"], capture_output=True, text=True)
            if r.returncode != 0:
                entry = {"available": False, "reason": "import fasttext failed: " + r.stderr.strip()[-200:]}
        elif tool == "word2vec-c":
            b = find_word2vec_binary()
            if b is None:
                entry = {"available": False, "reason": "no word2vec executable in the venv"}
            else:
                entry["binary"] = str(b)
        status[tool] = entry
    return status


# --------------------------------------------------------------------------------------------
# processes


def run_measured(cmd, log_path, cwd=REPO, markers=(), env=None):
    """Runs cmd under /usr/bin/time; returns wall/user/sys/peak RSS and the wall-clock arrival
    time (time.time()) of the first occurrence of each marker in stdout+stderr."""
    tf = tempfile.NamedTemporaryFile(prefix="bench-time-", delete=False)
    tf.close()
    full = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", tf.name] + [str(c) for c in cmd]
    seen = {}
    bufs = {1: b"", 2: b""}
    start = time.time()
    p = subprocess.Popen(full, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    fds = {p.stdout.fileno(): 1, p.stderr.fileno(): 2}
    open_fds = set(fds)
    while open_fds:
        ready, _, _ = select.select(list(open_fds), [], [])
        now = time.time()
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.discard(fd)
                continue
            k = fds[fd]
            tail_from = max(0, len(bufs[k]) - 64)
            bufs[k] += chunk
            for m in markers:
                if m not in seen and m.encode() in bufs[k][tail_from:]:
                    seen[m] = now
    rc = p.wait()
    end = time.time()
    out = bufs[1].decode("utf-8", "replace")
    err = bufs[2].decode("utf-8", "replace")
    with open(log_path, "w") as f:
        f.write("$ " + " ".join(str(c) for c in cmd) + "\n--- stdout\n" + out + "\n--- stderr\n" + err)
    try:
        wall, user, sys_, rss = open(tf.name).read().split()[-4:]
        wall, user, sys_, rss = float(wall), float(user), float(sys_), int(rss)
    except (ValueError, OSError):
        wall, user, sys_, rss = end - start, float("nan"), float("nan"), 0
    os.unlink(tf.name)
    return {"rc": rc, "wall": wall, "user": user, "sys": sys_, "rss_mb": rss / 1024, "cpu": (user + sys_) / wall if wall else 0,
            "start": start, "end": end, "markers": seen, "stdout": out, "stderr": err}


def evaluate(vectors, log_path):
    r = subprocess.run([str(PIPE), "evaluate", "--vectors", str(vectors), "--json", "--analogies", str(ANALOGIES),
                        "--similarity", str(SIMILARITY), "--restrict-vocab", "30000"],
                       cwd=REPO, capture_output=True, text=True)
    with open(log_path, "w") as f:
        f.write(r.stdout + "\n--- stderr\n" + r.stderr)
    if r.returncode != 0:
        return {"error": r.stderr.strip()[-300:]}
    d = json.loads(r.stdout)
    a, s = d.get("analogy") or {}, d.get("similarity") or {}
    o = a.get("overall") or {}
    return {"analogy": o.get("accuracyAdd"), "analogy_coverage": o.get("coverage"), "ws353": s.get("spearman"),
            "ws353_coverage": s.get("coverage"), "vocabulary_size": d.get("vocabularySize"),
            "queen_in_king_top5": (d.get("sanity") or {}).get("queenInKingTop5")}


def extract_corpus(zip_path, dest):
    with zipfile.ZipFile(zip_path) as z:
        names = [n for n in z.namelist() if not n.endswith("/")]
        member = names[0] if len(names) == 1 else ("text8" if "text8" in names else None)
        if member is None:
            sys.exit(f"bench: {zip_path} has several members and none is text8: {names}")
        with z.open(member) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
    return member


def count_tokens(path):
    n, carry = 0, b""
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 24)
            if not chunk:
                break
            chunk = carry + chunk
            parts = chunk.split()
            if parts and not chunk[-1:].isspace():
                carry = parts.pop()
            else:
                carry = b""
            n += len(parts)
    return n + (1 if carry else 0)


# --------------------------------------------------------------------------------------------
# w2v-pipe


class Pipe:
    def __init__(self, work, corpus, threads, epochs, logdir):
        self.work, self.corpus, self.threads, self.epochs, self.logdir = work, corpus, threads, epochs, logdir
        self.store = work / "store"
        self.exp_dir = work / "experiments"
        self.exp_dir.mkdir()

    def data_stages(self):
        return {
            "corpus": {"type": "unzip", "params": {"path": str(self.corpus)}},
            "tokens": {"type": "tokenize", "inputs": {"text": "corpus.text"}},
            "vocab": {"type": "build-vocab", "inputs": {"tokens": "tokens.tokens"},
                      "params": {"min_count": HYPER["min_count"]}},
            "subsample": {"type": "subsample", "inputs": {"vocab": "vocab.vocab"}, "params": {"t": HYPER["t"]}},
        }

    def write_exp(self, name, model=None, seed=None, epochs=None, vectors=None, extra=None, threads=None):
        stages = self.data_stages()
        if model:
            stages["train"] = {
                "type": "train",
                "inputs": {"tokens": "tokens.tokens", "vocab": "vocab.vocab", "subsample": "subsample.subsample"},
                "params": dict({"model": model, "dim": HYPER["dim"], "window": HYPER["window"],
                                "negatives": HYPER["negatives"], "epochs": epochs or self.epochs,
                                "threads": threads or self.threads, "seed": seed}, **(extra or {})),
            }
            stages["export"] = {"type": "export", "inputs": {"embeddings": "train.embeddings"},
                                "params": {"format": "word2vec-binary", "path": str(vectors)}}
        path = self.exp_dir / f"{name}.json"
        path.write_text(json.dumps({"name": name, "stages": stages}, indent=1))
        return path

    def records(self, stype):
        out = []
        for f in (self.store / "runs").glob("*.json"):
            try:
                d = json.loads(f.read_text())
            except (OSError, ValueError):
                continue
            if d.get("type") == stype:
                out.append(d)
        return sorted(out, key=lambda d: d.get("startedAt", ""))

    def train(self, model, seed, vectors, tag, epochs=None, variant="w2v-pipe", name=None):
        extra, threads = PIPE_VARIANTS[variant]
        exp = self.write_exp(name or f"bench-{model}", model, seed, epochs, vectors, extra, threads)
        r = run_measured([PIPE, "run", exp, "--store", self.store, "--progress", "none"],
                         self.logdir / f"{tag}.log")
        if r["rc"] != 0:
            return {"error": f"w2v-pipe run exited {r['rc']}: " + r["stderr"].strip()[-300:]}, exp
        recs = [d for d in self.records("train")
                if d["parameters"].get("seed") == seed and d["parameters"].get("model") == model
                and d["parameters"].get("epochs") == (epochs or self.epochs)
                and d["parameters"].get("threads") == (threads or self.threads)
                and all(d["parameters"].get(k) == v for k, v in extra.items())]
        if not recs or not re.search(r"^\s*train\s+train\s+ran in", r["stdout"], re.M):
            return {"error": "train stage did not run (reused?) or has no run record"}, exp
        m = recs[-1]["metrics"]
        epochs_run = epochs or self.epochs
        stage_seconds = recs[-1].get("seconds")
        outside = ((stage_seconds - m["train_seconds"]) / (m["train_seconds"] / epochs_run)
                   if stage_seconds and m.get("train_seconds") else None)
        return {"stage_seconds": stage_seconds, "stage_outside_fraction_of_epoch": outside,
                "train_seconds": m["train_seconds"], "tool_words_per_second": m.get("words_per_second"),
                "final_loss": m.get("final_loss"), "tokens_kept": m.get("tokens_kept"),
                "pairs_trained": m.get("pairs_trained"), "threads": m.get("threads"), "kernel": m.get("kernel"),
                "kernel_isa": m.get("kernel_isa"), "setup_seconds": m.get("setup_seconds"),
                "write_seconds": m.get("write_seconds"), "sentence_seconds": m.get("sentence_seconds"),
                "overhead_fraction_of_epoch": m.get("overhead_fraction_of_epoch"),
                "wall": r["wall"], "rss_mb": r["rss_mb"], "cpu": r["cpu"], "user": r["user"], "sys": r["sys"],
                "started": r["start"], "ended": r["end"]}, exp

    def train_procs(self, model, seed, vectors, tag, corpus_words):
        """`PROCS`: `self.threads` one-thread runs started together, each with its own seed
        (seed × 1000 + k, never a seed another variant trains with, so no run is reused) and
        experiment file. Returns one run: words/s summed over the processes (each one's words ÷
        its own training time), the longest training time, the first one's vectors (`vectors`)
        for the quality columns, and how much the processes' wall times overlapped."""
        from concurrent.futures import ThreadPoolExecutor
        n = max(1, self.threads)
        vecs = [vectors] + [vectors.with_name(f"{vectors.stem}-p{k}{vectors.suffix}") for k in range(1, n)]
        with ThreadPoolExecutor(max_workers=n) as pool:
            futures = [pool.submit(self.train, model, seed * 1000 + k, vecs[k], f"{tag}-p{k}", variant=PROCS,
                                   name=f"bench-{model}-p{k}") for k in range(n)]
            outs = [f.result()[0] for f in futures]
        for v in vecs[1:]:
            v.unlink(missing_ok=True)
        errs = [o["error"] for o in outs if "error" in o]
        if errs:
            return {"error": f"{len(errs)} of {n} processes failed: " + errs[0]}, None
        # The stretch all n processes were running, over the longest one's wall time: near 1
        # when they trained side by side throughout.
        overlap = max(0.0, min(o["ended"] for o in outs) - max(o["started"] for o in outs))
        longest = max(o["ended"] - o["started"] for o in outs)
        rates = [corpus_words / o["train_seconds"] for o in outs]
        run = dict(outs[0])
        run.update(train_seconds=max(o["train_seconds"] for o in outs),
                   words_per_second=sum(rates), per_process_words_per_second=rates,
                   processes=n, overlap_fraction=overlap / longest if longest > 0 else 0,
                   rss_mb=max(o["rss_mb"] for o in outs), cpu=sum(o["cpu"] for o in outs))
        return run, None


# --------------------------------------------------------------------------------------------
# peers


def train_peer(tool, model, corpus_txt, vectors, threads, epochs, tag, logdir, venv_status):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONUNBUFFERED="1")
    if tool in ("gensim", "fasttext"):
        cmd = [venv_python(), PEER_SCRIPT, tool, "--corpus", corpus_txt, "--out", vectors, "--model", model,
               "--dim", HYPER["dim"], "--window", HYPER["window"], "--negatives", HYPER["negatives"],
               "--min-count", HYPER["min_count"], "--sample", HYPER["t"], "--threads", threads, "--epochs", epochs]
        r = run_measured(cmd, logdir / f"{tag}.log", markers=("Number of labels", "BENCH_TRAIN_END"), env=env)
        if r["rc"] != 0:
            return {"error": f"exited {r['rc']}: " + r["stderr"].strip()[-300:]}
        line = [ln for ln in r["stdout"].splitlines() if ln.startswith("BENCH_RESULT ")]
        if not line:
            return {"error": "no BENCH_RESULT line"}
        res = json.loads(line[-1][len("BENCH_RESULT "):])
        out = {"wall": r["wall"], "rss_mb": r["rss_mb"], "cpu": r["cpu"], "user": r["user"], "sys": r["sys"],
               "detail": res}
        if tool == "gensim":
            out["train_seconds"] = res["train_seconds"]
            out["trained_on"] = f"raw {res['corpus_words_seen'] / epochs / 1e6:.2f}M words/epoch (train() return)"
            out["raw_words_per_epoch"] = res["corpus_words_seen"] / epochs
        else:
            mk = r["markers"]
            if "Number of labels" in mk and "BENCH_TRAIN_END" in mk:
                out["train_seconds"] = mk["BENCH_TRAIN_END"] - mk["Number of labels"]
            else:
                out["train_seconds"] = res["call_seconds"]
                out["timing_fallback"] = "whole train_unsupervised call (markers not seen)"
            read = re.findall(r"Read (\d+)M words", r["stderr"])
            prog = re.findall(r"Progress:\s*([\d.]+)%", r["stderr"])
            out["trained_on"] = (f"Read {read[-1]}M words" if read else "?") + (f", progress {prog[-1]}%" if prog else "")
        return out
    # word2vec.c
    binary = venv_status["word2vec-c"]["binary"]
    cmd = [binary, "-train", corpus_txt, "-output", vectors, "-cbow", 1 if model == "cbow" else 0,
           "-size", HYPER["dim"], "-window", HYPER["window"], "-negative", HYPER["negatives"], "-hs", 0,
           "-sample", "1e-4", "-min-count", HYPER["min_count"], "-threads", threads, "-iter", epochs, "-binary", 1]
    r = run_measured(cmd, logdir / f"{tag}.log", markers=("Alpha:",), env=env)
    if r["rc"] != 0 or not Path(vectors).exists():
        return {"error": f"exited {r['rc']}: " + (r["stderr"] + r["stdout"]).strip()[-300:]}
    out = {"wall": r["wall"], "rss_mb": r["rss_mb"], "cpu": r["cpu"], "user": r["user"], "sys": r["sys"]}
    if "Alpha:" in r["markers"]:
        out["train_seconds"] = r["end"] - r["markers"]["Alpha:"]
    else:
        out["train_seconds"] = r["wall"]
        out["timing_fallback"] = "whole process (no progress line seen)"
    words = re.findall(r"Words in train file: (\d+)", r["stdout"])
    vocab = re.findall(r"Vocab size: (\d+)", r["stdout"])
    out["trained_on"] = (f"{int(words[-1]) / 1e6:.2f}M in-vocab words/epoch" if words else "?") + \
                        (f", vocab {vocab[-1]}" if vocab else "")
    return out


# --------------------------------------------------------------------------------------------
# machine probe and roofline


def run_probe(path):
    """`w2v-pipe probe --json`: flops, bandwidth, latency, core-to-core round trip (None if it fails)."""
    r = subprocess.run([str(PIPE), "probe", "--json"], cwd=REPO, capture_output=True, text=True)
    if r.returncode != 0:
        log(f"probe failed: {r.stderr.strip()[-200:]}")
        return None
    path.write_text(r.stdout)
    p = json.loads(r.stdout)
    log(f"probe: {p['gflops_all_cores']:.0f} Gflop/s ({p['gflops_one_core']:.0f} on one core), read "
        f"{p['read_g_bps_all_cores']:.1f} GB/s, latency {p['memory_latency_ns']:.0f} ns, core to core "
        f"{p.get('core_to_core_round_trip_ns') or 0:.0f} ns")
    return p


def work_per_word(run, model, tokens, epochs):
    """(flops, bytes) per corpus word of one w2v-pipe run, from its record's counts.

    Flops: every (context, target) dot product and its two updates, 6 × dim each (2 per
    multiply-add), with K + 1 targets; CBOW: the same for its one hidden vector, plus summing and
    updating the window's rows. Bytes: every row the update touches read and written once (what
    memory would have to move if no row were in cache: an upper bound on traffic). Batched
    skip-gram and CBOW touch (window + K + 1) rows per centre word, the per-pair kernel
    (K + 2) rows per pair."""
    dim, k1 = HYPER["dim"], HYPER["negatives"] + 1
    pairs, kept = run.get("pairs_trained"), run.get("tokens_kept")
    if not pairs or not kept:
        return None
    words_total = tokens * epochs
    row = 2 * dim * 4
    if model == "cbow":
        ctx = HYPER["window"] + 1  # mean window of a shrunk window of up to `window` each side
        flops = kept * dim * (6 * k1 + 4 * ctx)
        moved = kept * (ctx + k1) * row
    else:
        flops = pairs * k1 * dim * 6
        moved = pairs * (k1 + 1) * row if run.get("kernel") == "pair" else (pairs + kept * k1) * row
    return flops / words_total, moved / words_total


def roofline(result):
    probes = result.get("probes") or []
    if not probes:
        return []
    p = probes[0]
    cfg = result["config"]
    lines = ["", "Roofline (`w2v-pipe probe` at the start" + (" and end" if len(probes) > 1 else "") + " of this run): "
             + "; ".join(f"{q['gflops_all_cores']:.0f} Gflop/s on {q['cores']} cores ({q['gflops_one_core']:.0f} on one), "
                         f"read {q['read_g_bps_all_cores']:.1f} GB/s ({q['read_g_bps_one_core']:.1f} on one), memory latency "
                         f"{q['memory_latency_ns']:.0f} ns, core-to-core round trip "
                         f"{q.get('core_to_core_round_trip_ns') or 0:.0f} ns, kernels {q['kernel_isa']}"
                         + (f", fresh memory written {q['fresh_memory_g_bps']:.2f} GB/s the first time in 2 MB pages"
                            + (f" ({q['fresh_small_pages_g_bps']:.2f} in 4 KB pages)" if q.get("fresh_small_pages_g_bps") else "")
                            + f" and {q['rewritten_memory_g_bps']:.1f} GB/s again" if q.get("fresh_memory_g_bps") else "")
                         for q in probes) + ".", "",
             "| w2v-pipe | model | words/s (median) | flops/word | Gflop/s | % of peak flops | bytes/word if uncached | GB/s | % of read bandwidth | bound: flops | bound: bandwidth |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in result["rows"]:
        if row["tool"] not in PIPE_VARIANTS or row["tool"] == PROCS or not row.get("words_per_second"):
            continue
        runs = [r for r in result["runs"] if r["tool"] == row["tool"] and r["model"] == row["model"] and "train_seconds" in r]
        w = work_per_word(runs[-1], row["model"], cfg["tokens"], cfg["epochs"]) if runs else None
        if not w:
            continue
        fpw, bpw = w
        wps = row["words_per_second"]["median"]
        one = row["tool"] == "w2v-pipe-1t"
        peak = (p["gflops_one_core"] if one else p["gflops_all_cores"]) * 1e9
        bw = (p["read_g_bps_one_core"] if one else p["read_g_bps_all_cores"]) * 1e9
        lines.append("| " + " | ".join([
            row["tool"], row["model"], words(wps), f"{fpw / 1e3:.1f}k", f"{wps * fpw / 1e9:.1f}",
            f"{100 * wps * fpw / peak:.0f}%", f"{bpw / 1e3:.1f}k", f"{wps * bpw / 1e9:.1f}", f"{100 * wps * bpw / bw:.0f}%",
            words(peak / fpw), words(bw / bpw)]) + " |")
    lines += ["", "flops/word and bytes/word from each run's own counts (pairs trained, words kept; see "
              "`work_per_word` in bench/run.py); \"bound\" = the words/s at which the flops or that traffic alone would "
              "use the whole machine. Most rows are in cache most of the time, so the bandwidth bound is a floor on "
              "the ceiling, not the ceiling; what the kernels wait on is latency: rows that miss, and rows the other "
              "core wrote last (the core-to-core round trip above)."]
    scal = []
    for model in cfg["models"]:
        a = next((r for r in result["rows"] if r["tool"] == "w2v-pipe" and r["model"] == model and r.get("words_per_second")), None)
        b = next((r for r in result["rows"] if r["tool"] == "w2v-pipe-1t" and r["model"] == model and r.get("words_per_second")), None)
        if a and b:
            within = per_round_ratios(result["runs"], model, "w2v-pipe", "w2v-pipe-1t")
            scal.append(f"{model} {a['words_per_second']['median'] / b['words_per_second']['median']:.2f}×"
                        + (f" (within a round: {fmt_range(within, lambda x: f'{x:.2f}×')})" if within else ""))
    if scal:
        # What the machine itself gives from one core to all: the probe's multiply-add loop and its
        # streaming read share nothing between the cores, so they scale as far as the machine lets
        # any program (a VM's vCPUs may be one physical core's two hyperthreads, or lose clock speed
        # when both run wide vector code).
        machine = "; ".join(f"multiply-add {q['gflops_all_cores'] / q['gflops_one_core']:.2f}×, "
                            f"read {q['read_g_bps_all_cores'] / q['read_g_bps_one_core']:.2f}×" for q in probes
                            if q.get("gflops_one_core") and q.get("read_g_bps_one_core"))
        lines += ["", f"1 → {cfg['threads']} threads, ratio of the medians: " + ", ".join(scal) + ". Within a round: "
                  "the same ratio taken in each round of interleaved runs, median (min–max) over the rounds. The "
                  "runs of one round are minutes apart, the runs behind two medians up to the whole benchmark, so on a "
                  "machine whose speed drifts the ratio within a round is the steadier figure; both are shown."
                  + (f" The probe's own 1 → {probes[0]['cores']} core scaling, which nothing shared limits: {machine} "
                     "(start" + (", end" if len(probes) > 1 else "") + ")." if machine else "")]
    ceiling = []
    for model in cfg["models"]:
        procs = per_round_ratios(result["runs"], model, PROCS, "w2v-pipe-1t")
        threads = per_round_ratios(result["runs"], model, "w2v-pipe", PROCS)
        overlap = stats([r.get("overlap_fraction") for r in result["runs"] if r["tool"] == PROCS and r["model"] == model])
        if procs:
            ceiling.append(f"{model} {fmt_range(procs, lambda x: f'{x:.2f}×')}"
                           + (f", and {cfg['threads']} threads reached {fmt_range(threads, lambda x: f'{100 * x:.0f}%')} "
                              "of the processes' sum" if threads else "")
                           + (f" (the processes ran side by side {fmt_range(overlap, lambda x: f'{100 * x:.0f}%', False)} "
                              "of the time)" if overlap else ""))
    if ceiling:
        lines += ["", f"What this machine gives this workload on {cfg['threads']} cores when nothing is shared "
                  f"({PROCS}: {cfg['threads']} one-thread processes at once, each its own tables), words/s summed ÷ "
                  "one thread alone, within a round: " + "; ".join(ceiling) + ". A thread count cannot scale past "
                  "this except by sharing what the processes duplicate."]
    rep = []
    for model in cfg["models"]:
        within = per_round_ratios(result["runs"], model, "w2v-pipe", "w2v-pipe-shared")
        if within:
            rep.append(f"{model} {fmt_range(within, lambda x: f'{x:.2f}×')}")
    if rep:
        lines += ["", "Replicas (the default) ÷ shared tables (`replica_merge_words: 0`), words/s in the same round, "
                  "median (min–max) over the rounds: " + ", ".join(rep) + "."]
    vs = []
    for model in cfg["models"]:
        for peer in ("gensim", "word2vec-c", "fasttext"):
            within = per_round_ratios(result["runs"], model, "w2v-pipe", peer)
            if within:
                vs.append(f"{model} ÷ {peer} {fmt_range(within, lambda x: f'{x:.1f}×')}")
    if vs:
        lines += ["", "w2v-pipe's words/s ÷ a peer's in the same round (median (min–max) over the rounds): "
                  + ", ".join(vs) + "."]
    over = [r for r in result["runs"] if r["tool"] in PIPE_VARIANTS and r["tool"] != PROCS
            and r.get("overhead_fraction_of_epoch") is not None]
    if over:
        o = stats([r["overhead_fraction_of_epoch"] for r in over])
        sent = stats([r["sentence_seconds"] / r["train_seconds"] for r in over if r.get("sentence_seconds") is not None])
        whole = stats([r["stage_outside_fraction_of_epoch"] for r in over
                       if r.get("stage_outside_fraction_of_epoch") is not None])
        lines += ["", f"Around training (w2v-pipe, all runs): mapping and checking the inputs, making the tables, "
                  f"packing the rows back and writing both artifacts took {fmt_range(o, lambda x: f'{100 * x:.1f}%')} "
                  f"of an epoch; with the engine's commit of the artifacts (fsync, rename) and run record, the whole "
                  f"stage's time outside the epochs was {fmt_range(whole, lambda x: f'{100 * x:.1f}%')}; reading "
                  f"sentences (id remapping and subsampling, inside the epoch) {fmt_range(sent, lambda x: f'{100 * x:.1f}%')} "
                  f"of the training time."]
    return lines


# --------------------------------------------------------------------------------------------
# report


def per_round_ratios(runs, model, a, b):
    """Stats of words/s of tool `a` ÷ tool `b` for `model`, one ratio per round (repeat) that has both."""
    def wps(tool):
        return {r["repeat"]: r["words_per_second"] for r in runs
                if r["tool"] == tool and r["model"] == model and r.get("words_per_second") and "repeat" in r}
    x, y = wps(a), wps(b)
    return stats([x[k] / y[k] for k in x if k in y])


def stats(values):
    v = [x for x in values if x is not None]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def fmt_range(s, f, with_range=True):
    if s is None:
        return "—"
    if s["n"] == 1 or not with_range:
        return f(s["median"])
    return f"{f(s['median'])} ({f(s['min'])}–{f(s['max'])})"


def words(x):
    return f"{x / 1e6:.2f}M" if x >= 1e5 else f"{x / 1e3:.0f}k"


def aggregate(runs, tools, models):
    rows = []
    for model in models:
        base = None
        for tool in tools:
            if tool == "w2v-pipe-pair" and model != "sgns":
                continue
            rs = [r for r in runs if r["tool"] == tool and r["model"] == model and "train_seconds" in r]
            errs = [r["error"] for r in runs if r["tool"] == tool and r["model"] == model and "error" in r]
            row = {"tool": tool, "model": model, "repeats": len(rs), "errors": errs}
            if rs:
                for key in ["train_seconds", "words_per_second", "wall", "rss_mb", "cpu"]:
                    row[key] = stats([r[key] for r in rs])
                for key in ["analogy", "analogy_coverage", "ws353"]:
                    row[key] = stats([(r.get("quality") or {}).get(key) for r in rs])
                row["trained_on"] = rs[-1].get("trained_on")
                if tool == "w2v-pipe":
                    base = row["words_per_second"]["median"]
            rows.append(row)
        for row in rows:
            if row["model"] == model and row.get("words_per_second") and base:
                row["vs_w2v_pipe"] = row["words_per_second"]["median"] / base
    return rows


def markdown(result):
    m, cfg = result["machine"], result["config"]
    lines = [f"### w2v-pipe vs peers — {m['date']}", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m.get('memory_gb', '?')} GB; SIMD: {', '.join(m['simd']) or 'none'}; "
             f"1-min load average {m.get('loadavg_at_start', 0):.2f} at start, {m.get('loadavg_at_end', 0):.2f} at end. "
             f"w2v-pipe {result['w2v_pipe']['version']} (repo at {result['w2v_pipe']['commit']}, binary built "
             f"{result['w2v_pipe']['binary_built']}).",
             f"Corpus: `{cfg['corpus_name']}` ({cfg['tokens']:,} tokens); {cfg['epochs']} epoch(s), {cfg['threads']} threads, "
             f"{cfg['repeats']} repeat(s) after one excluded w2v-pipe warm-up, tools interleaved; dim {HYPER['dim']}, window {HYPER['window']}, "
             f"K {HYPER['negatives']}, min_count {HYPER['min_count']}, t {HYPER['t']:g}.", ""]
    lines += ["| tool | model | train s | words/s | × w2v-pipe | process wall s | peak RSS | CPU use | analogy (coverage) | WS-353 |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in result["rows"]:
        tool = row["tool"]
        label = tool + (f" {result['peers'][tool].get('version', '')}" if tool in result["peers"] else "")
        if not row.get("train_seconds"):
            why = (result["peers"].get(tool) or {}).get("reason") or "; ".join(row["errors"]) or "no run"
            lines.append(f"| {label} | {row['model']} | unavailable: {why} | | | | | | | |")
            continue
        an, cov = row["analogy"], row["analogy_coverage"]
        an_s = fmt_range(an, lambda x: f"{100 * x:.1f}%") + (f" ({100 * cov['median']:.1f}%)" if cov else "") if an else "—"
        lines.append("| " + " | ".join([
            label, row["model"],
            fmt_range(row["train_seconds"], lambda x: f"{x:.1f}"),
            fmt_range(row["words_per_second"], words),
            f"{row['vs_w2v_pipe']:.2f}×" if row.get("vs_w2v_pipe") else "—",
            fmt_range(row["wall"], lambda x: f"{x:.1f}"),
            fmt_range(row["rss_mb"], lambda x: f"{x:.0f} MB", False),
            fmt_range(row["cpu"], lambda x: f"{x:.2f}", False),
            an_s,
            fmt_range(row["ws353"], lambda x: f"{x:.3f}"),
        ]) + " |")
    lines += ["", "Median (min–max) over repeats. words/s = corpus tokens × epochs / train s. × w2v-pipe: ratio of the "
              "medians of words/s (above 1: faster than w2v-pipe). Process wall s, peak RSS (`/usr/bin/time -f %M`) and "
              "CPU use ((user+sys)/wall) are of the whole process, vocabulary building and export included. Quality: every "
              "tool's vectors exported as word2vec binary and scored by `w2v-pipe evaluate` (Google analogies 3CosAdd, "
              "30k most frequent words; WordSim-353 Spearman).", "", "Train s is timed as follows:", ""]
    for tool in cfg["tools"]:
        lines.append(f"- {tool}: {TIMING[tool]}.")
    lines += ["", "Trained on (each tool's own count, to check it saw the whole corpus):", ""]
    for row in result["rows"]:
        if row.get("trained_on"):
            lines.append(f"- {row['tool']} {row['model']}: {row['trained_on']}")
    lines += ["", "Settings a tool cannot express, or expresses differently:", ""]
    for tool in cfg["tools"]:
        lines.append(f"- {tool}: {CANNOT_EXPRESS[tool]}")
    lines += roofline(result)
    p = result.get("pipeline") or {}
    if p:
        lines += ["", "w2v-pipe pipeline stages (warm-up run; no-op and query figures: median of 3):", "",
                  "| unzip MB/s | tokenize MB/s | no-op rerun of the data stages | `nearest king --vectors` | `nearest king -e` |",
                  "| ---: | ---: | ---: | ---: | ---: |",
                  "| " + " | ".join([
                      f"{p['unzip_mb_per_s']:.0f}" if p.get("unzip_mb_per_s") else "—",
                      f"{p['tokenize_mb_per_s']:.0f}" if p.get("tokenize_mb_per_s") else "—",
                      f"{1000 * p['noop_rerun_s']:.0f} ms" if p.get("noop_rerun_s") is not None else "—",
                      f"{1000 * p['nearest_vectors_s']:.0f} ms" if p.get("nearest_vectors_s") is not None else "—",
                      f"{1000 * p['nearest_experiment_s']:.0f} ms" if p.get("nearest_experiment_s") is not None else "—",
                  ]) + " |"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", help=f"zip archive (default {DEFAULT_CORPUS} relative to the repo root)")
    ap.add_argument("--models", default="sgns,cbow")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tools", default=",".join(ALL_TOOLS))
    ap.add_argument("--out", default=str(BENCH / "results"))
    ap.add_argument("--smoke", action="store_true",
                    help="w2v-pipe alone (its variants) on data/en-small.zip, 1 epoch, 1 repeat, no venv (for CI)")
    ap.add_argument("--no-build", action="store_true", help="use the existing .build/release/w2v-pipe as is")
    ap.add_argument("--keep-work", action="store_true", help="keep the temporary work directory (corpus, store, vectors)")
    args = ap.parse_args()

    if args.smoke:
        args.corpus, args.tools, args.epochs, args.repeats = args.corpus or SMOKE_CORPUS, "w2v-pipe,w2v-pipe-shared,w2v-pipe-pair,w2v-pipe-1t,w2v-pipe-procs", 1, 1
    corpus = Path(args.corpus or DEFAULT_CORPUS)
    if not corpus.is_absolute():
        corpus = (REPO / corpus) if (REPO / corpus).exists() else corpus.resolve()
    if not corpus.exists():
        sys.exit(f"bench: corpus not found: {corpus}")
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    bad = [t for t in tools if t not in ALL_TOOLS]
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if bad or any(m not in ("sgns", "cbow") for m in models) or args.repeats < 1 or args.epochs < 1:
        sys.exit(f"bench: unknown tool/model or bad count ({bad or models})")
    tools = [t for t in ALL_TOOLS if t in tools]  # fixed order, w2v-pipe first
    peers = [t for t in tools if t not in PIPE_VARIANTS]

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ("-smoke" if args.smoke else "")
    outdir = Path(args.out)
    if not outdir.is_absolute():
        outdir = Path.cwd() / outdir
    outdir = outdir / stamp
    logdir = outdir / "logs"
    logdir.mkdir(parents=True)
    work = Path(tempfile.mkdtemp(prefix="w2v-bench-"))
    log(f"work dir {work}; results in {outdir}")

    result = {"machine": machine_info(), "w2v_pipe": ensure_binary(not args.no_build),
              "config": {"corpus": str(corpus), "corpus_name": corpus.name, "models": models, "epochs": args.epochs,
                         "threads": args.threads, "repeats": args.repeats, "tools": tools, "hyper": HYPER,
                         "smoke": args.smoke},
              "peers": {}, "runs": [], "timing": {t: TIMING[t] for t in tools},
              "cannot_express": {t: CANNOT_EXPRESS[t] for t in tools}}
    try:
        if peers:
            result["peers"] = ensure_venv(peers, logdir)
            for t, s in result["peers"].items():
                log(f"{t}: " + (f"available ({s.get('version')})" if s["available"] else f"UNAVAILABLE: {s['reason']}"))
        avail_peers = [t for t in peers if result["peers"][t]["available"]]
        corpus_txt = work / "corpus.txt"
        if avail_peers:
            member = extract_corpus(corpus, corpus_txt)
            log(f"extracted {corpus.name}:{member} → {corpus_txt} ({corpus_txt.stat().st_size:,} bytes)")

        pipe = Pipe(work, corpus, args.threads, args.epochs, logdir)
        vecdir = work / "vectors"
        vecdir.mkdir()
        pipeline = {}
        tokens = None
        if any(t in PIPE_VARIANTS for t in tools):
            log(f"w2v-pipe warm-up ({models[0]}, 1 epoch; builds the data artifacts; excluded)")
            warm, _ = pipe.train(models[0], 1000, vecdir / "warmup.bin", "w2v-pipe-warmup", epochs=1)
            if "error" in warm:
                sys.exit("bench: w2v-pipe warm-up failed: " + warm["error"])
            unz, tok = pipe.records("unzip"), pipe.records("tokenize")
            if unz:
                pipeline["unzip_mb_per_s"] = unz[-1]["metrics"].get("mb_per_s")
            if tok:
                pipeline["tokenize_mb_per_s"] = tok[-1]["metrics"].get("mb_per_s")
                tokens = tok[-1]["metrics"].get("tokens")
            data_exp = pipe.write_exp("bench-data")
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                r = subprocess.run([str(PIPE), "run", str(data_exp), "--store", str(pipe.store), "--progress", "none"],
                                   cwd=REPO, capture_output=True, text=True)
                times.append(time.perf_counter() - t0)
                if r.returncode != 0 or " ran in " in r.stdout:
                    pipeline["noop_note"] = "a data stage ran again on rerun: " + r.stdout[-300:]
            pipeline["noop_rerun_s"] = statistics.median(times)
        if tokens is None:
            tokens = count_tokens(corpus_txt) if corpus_txt.exists() else KNOWN_TOKENS.get(corpus.name)
        if corpus.name in KNOWN_TOKENS and tokens != KNOWN_TOKENS[corpus.name]:
            log(f"warning: counted {tokens:,} tokens, expected {KNOWN_TOKENS[corpus.name]:,}")
        result["config"]["tokens"] = tokens

        runnable = [t for t in tools if t in PIPE_VARIANTS or t in avail_peers]
        probes = [run_probe(logdir / "probe-start.json")]
        total = sum(1 for _ in range(args.repeats) for m in models for t in runnable if not (t == "w2v-pipe-pair" and m != "sgns"))
        n = 0
        sgns_vectors = sgns_exp = None
        def round_order(rep):
            """This round's order: the w2v-pipe variants rotated by one each round, then the peers.
            The first run after a long peer run gets memory the host has taken back (the probe's
            fresh memory: ~2 ms a MB on a VM with free page reporting), the ones right after it
            memory just freed; rotating spreads that over the variants instead of always
            charging it to the same one."""
            variants = [t for t in runnable if t in PIPE_VARIANTS]
            k = rep % len(variants) if variants else 0
            return variants[k:] + variants[:k] + [t for t in runnable if t not in PIPE_VARIANTS]

        for rep in range(args.repeats):
            for model in models:
                for tool in round_order(rep):
                    if tool == "w2v-pipe-pair" and model != "sgns":
                        continue
                    n += 1
                    tag = f"{tool}-{model}-r{rep + 1}"
                    vec = vecdir / f"{tag}.bin"
                    log(f"[{n}/{total}] {tag}")
                    if tool in PIPE_VARIANTS:
                        if tool == PROCS:
                            r, exp = pipe.train_procs(model, rep + 1, vec, tag, tokens * args.epochs)
                        else:
                            r, exp = pipe.train(model, rep + 1, vec, tag, variant=tool)
                        r["trained_on"] = f"{tokens / 1e6:.2f}M tokens/epoch (tokenize record)"
                        if tool == "w2v-pipe" and model == "sgns" and "error" not in r:
                            sgns_vectors, sgns_exp = vec, exp
                    else:
                        r = train_peer(tool, model, corpus_txt, vec, args.threads, args.epochs, tag, logdir,
                                       result["peers"])
                    r.update(tool=tool, model=model, repeat=rep + 1)
                    if "error" not in r:
                        if tool != PROCS:   # its own: the processes' rates summed
                            r["words_per_second"] = tokens * args.epochs / r["train_seconds"]
                        r["quality"] = evaluate(vec, logdir / f"{tag}-evaluate.json")
                        q = r["quality"]
                        log(f"    train {r['train_seconds']:.2f} s, {words(r['words_per_second'])} words/s, "
                            f"RSS {r['rss_mb']:.0f} MB, CPU {r['cpu']:.2f}, analogy "
                            f"{(q.get('analogy') or 0) * 100:.1f}%, WS-353 {q.get('ws353') or 0:.3f}")
                        if tool != "w2v-pipe" or model != "sgns":
                            vec.unlink(missing_ok=True)
                    else:
                        log(f"    FAILED: {r['error']}")
                    result["runs"].append(r)

        if sgns_vectors is not None:
            for key, cmd in [("nearest_vectors_s", [PIPE, "nearest", "king", "--vectors", sgns_vectors]),
                             ("nearest_experiment_s", [PIPE, "nearest", "king", "-e", sgns_exp, "--store", pipe.store])]:
                times = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    r = subprocess.run([str(c) for c in cmd], cwd=REPO, capture_output=True, text=True)
                    times.append(time.perf_counter() - t0)
                if r.returncode == 0:
                    pipeline[key] = statistics.median(times)
                    pipeline[key.replace("_s", "_output")] = r.stdout.strip()[:400]
        result["pipeline"] = pipeline
        probes.append(run_probe(logdir / "probe-end.json"))
        result["probes"] = [p for p in probes if p]
        result["machine"]["loadavg_at_end"] = os.getloadavg()[0]
        result["rows"] = aggregate(result["runs"], tools, models)
        md = markdown(result)
        (outdir / "results.md").write_text(md)
        (outdir / "results.json").write_text(json.dumps(result, indent=1, default=str))
        print(md)
        log(f"wrote {outdir / 'results.md'} and {outdir / 'results.json'}")
    finally:
        if args.keep_work:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
