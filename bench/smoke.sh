#!/usr/bin/env bash
# CI smoke test of the benchmark harness: w2v-pipe alone on data/en-small.zip, 1 epoch, 1 repeat,
# no venv (well under a minute once the release binary exists). Fails if the results table has
# no w2v-pipe row. Extra arguments go to bench/run.py (e.g. --no-build).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
python3 bench/run.py --smoke --out "$out" "$@" > "$out/table.md"
cat "$out/table.md"
if grep -Eq '^\| w2v-pipe \| (sgns|cbow) \| [0-9]' "$out/table.md"; then
  echo "bench smoke: ok"
else
  echo "bench smoke: FAILED — no w2v-pipe row in the results table" >&2
  exit 1
fi
