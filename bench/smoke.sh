#!/usr/bin/env bash
# CI smoke test of the benchmark harness: w2v-pipe alone (default, shared tables, per-pair kernel, one thread,
# one-thread processes at once) on
# data/en-small.zip, 1 epoch, 1 repeat, no venv (well under a minute once the release binary
# exists). Fails if the results table lacks a w2v-pipe row, the roofline, the scaling line or the
# pipeline-overhead line. Extra arguments go to bench/run.py (e.g. --no-build).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
python3 bench/run.py --smoke --out "$out" "$@" > "$out/table.md"
cat "$out/table.md"
fail() { echo "bench smoke: FAILED — $1" >&2; exit 1; }
grep -Eq '^\| w2v-pipe \| (sgns|cbow) \| [0-9]' "$out/table.md" || fail "no w2v-pipe row in the results table"
grep -Eq '^\| w2v-pipe-pair \| sgns \| [0-9]' "$out/table.md" || fail "no per-pair kernel row"
grep -Eq '^\| w2v-pipe-shared \| (sgns|cbow) \| [0-9]' "$out/table.md" || fail "no shared-tables row"
grep -q '^Replicas (the default) ÷ shared tables' "$out/table.md" || fail "no replicas-against-shared line"
grep -q '^Roofline' "$out/table.md" || fail "no roofline (machine probe) section"
grep -Eq '^1 → [0-9]+ threads.*within a round' "$out/table.md" || fail "no thread-scaling line (with the ratio within a round)"
grep -q '^Around training' "$out/table.md" || fail "no pipeline-overhead line"
grep -Eq '^\| w2v-pipe-procs \| (sgns|cbow) \| [0-9]' "$out/table.md" || fail "no row of one-thread processes at once"
grep -q '^What this machine gives this workload' "$out/table.md" || fail "no line of the processes' scaling (the machine's ceiling)"
echo "bench smoke: ok"
