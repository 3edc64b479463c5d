#!/usr/bin/env bash
# Before/after: two w2v-pipe binaries, interleaved (A B, A B, …), fresh store per run, on the
# same corpus: tokenize MB/s and 1-epoch train words/s for skip-gram and CBOW; medians.
# Usage: bench/ab.sh BEFORE_BIN AFTER_BIN [repeats=5] [corpus.zip=../shared/data/corpus/en-corpus.zip]
# (build the "before" binary in a worktree outside the repo, e.g. `git worktree add /tmp/old REV`).
set -euo pipefail
cd "$(dirname "$0")/.."
before=$1 after=$2 repeats=${3:-5}
corpus=${4:-../shared/data/corpus/en-corpus.zip}
corpus=$(cd "$(dirname "$corpus")" && pwd)/$(basename "$corpus")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; corpus $corpus"
for r in $(seq 1 "$repeats"); do
  for model in sgns cbow; do
    for side in before after; do
      bin=$before; [ "$side" = after ] && bin=$after
      cat > "$work/e.json" <<JSON
{"name": "ab", "stages": {
  "corpus": {"type": "unzip", "params": {"path": "$corpus"}},
  "tokens": {"type": "tokenize", "inputs": {"text": "corpus.text"}},
  "vocab": {"type": "build-vocab", "inputs": {"tokens": "tokens.tokens"}, "params": {"min_count": 5}},
  "subsample": {"type": "subsample", "inputs": {"vocab": "vocab.vocab"}, "params": {"t": 1e-4}},
  "train": {"type": "train", "inputs": {"tokens": "tokens.tokens", "vocab": "vocab.vocab", "subsample": "subsample.subsample"},
            "params": {"model": "$model", "epochs": 1, "seed": $r}}}}
JSON
      rm -rf "$work/store"
      "$bin" run "$work/e.json" --store "$work/store" --progress none > "$work/out" 2>&1
      tok=$(sed -nE 's/.*tokenize .*ran in.*\(text8, .* at ([0-9]+) MB\/s\).*/\1/p' "$work/out")
      wps=$(sed -nE 's/.*train .*ran in.*epoch\(s\): ([0-9.]+[kM]) words\/s.*/\1/p' "$work/out")
      echo "$side $model r$r tokenize_MBps=$tok train_wps=$wps" | tee -a "$work/log"
    done
  done
done
python3 - "$work/log" <<'PY'
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    side, model, _, tok, wps = line.split()
    v = wps.split("=")[1]; v = float(v[:-1]) * (1e6 if v.endswith("M") else 1e3)
    rows.setdefault((side, model), []).append((float(tok.split("=")[1]), v))
print("\n| side | model | tokenize MB/s median (min–max) | train words/s median (min–max) |\n| --- | --- | ---: | ---: |")
for (side, model), xs in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0] != "before")):
    t = [x[0] for x in xs]; w = [x[1] / 1e6 for x in xs]
    print(f"| {side} | {model} | {statistics.median(t):.0f} ({min(t):.0f}–{max(t):.0f}) | {statistics.median(w):.2f}M ({min(w):.2f}M–{max(w):.2f}M) |")
PY
