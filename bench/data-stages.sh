#!/usr/bin/env bash
# Measures the data stages (unzip → tokenize → build-vocab → subsample) on the 16.9M-token
# stand-in for text8, then a fully fresh rerun. Prints wall time, per-stage MB/s and peak RSS.
# Usage: bench/data-stages.sh [path/to/corpus.zip]   (default: ../shared/data/corpus/en-corpus.zip)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-../shared/data/corpus/en-corpus.zip}"
[ -f "$corpus" ] || { echo "corpus not found: $corpus" >&2; exit 1; }
swift build -c release --product w2v-pipe >/dev/null
bin=.build/release/w2v-pipe
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
abs=$(cd "$(dirname "$corpus")" && pwd)/$(basename "$corpus")
cat > "$work/exp.json" <<JSON
{"name": "bench-data", "stages": {
  "corpus": {"type": "unzip", "params": {"path": "$abs"}},
  "tokens": {"type": "tokenize", "inputs": {"text": "corpus.text"}},
  "vocab": {"type": "build-vocab", "inputs": {"tokens": "tokens.tokens"}, "params": {"min_count": 5}},
  "subsample": {"type": "subsample", "inputs": {"vocab": "vocab.vocab"}, "params": {"t": 1e-4}}}}
JSON
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GB"
measure() {
  /usr/bin/time -f "%e %M" -o "$work/time" "$bin" run "$work/exp.json" --store "$work/store" --progress none > "$work/out"
  read -r wall rss < "$work/time"
  echo "$1: wall ${wall} s, peak RSS $((rss / 1024)) MB"
  grep "ran in" "$work/out" | sed 's/^/    /' || true
}
measure "first run (cold store)"
measure "rerun (everything fresh)"
