#!/usr/bin/env bash
# Smoke test of bench/map_ref.py on made-up data (no w2v-pipe needed): 320 words of 8 clusters in
# 50 dimensions written as word2vec binary and text; fits the first 300 with scikit-learn and
# openTSNE (--threads 2), scores scikit-learn's map TSV back (--score) in its own order and
# shuffled, and checks that the text file gives the same map and the score mode the fit's
# trustworthiness. Prints each JSON line; exits non-zero on a mismatch. Its timings mean nothing;
# OMP_WAIT_POLICY defaults to passive here so that a busy second core does not slow it many times.
#
# Usage: bench/map_ref_smoke.sh [--keep]   (--keep: keep the temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."
py=$(bench/map_venv.sh)
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
work=$(mktemp -d "${TMPDIR:-/tmp}/map-ref-smoke.XXXXXX")
[ "${1:-}" = --keep ] && echo "work directory: $work" >&2 || trap 'rm -rf "$work"' EXIT
"$py" - "$work" <<'EOF'
import sys
import numpy as np
out = sys.argv[1]
rng = np.random.default_rng(7)
V, D, C = 320, 50, 8
centres = rng.normal(size=(C, D)) * 3
lab = rng.integers(0, C, size=V)
X = (centres[lab] + rng.normal(size=(V, D))).astype(np.float32)
X[5] *= 40  # a long vector: the unit rows must not care
words = [f"w{i:03d}_c{lab[i]}" for i in range(V)]
words[1] = "ünïcode"
with open(f"{out}/vec.bin", "wb") as f:
    f.write(f"{V} {D}\n".encode())
    for w, v in zip(words, X):
        f.write(w.encode() + b" " + v.astype("<f4").tobytes() + b"\n")
with open(f"{out}/vec.txt", "w", encoding="utf-8") as f:
    f.write(f"{V} {D}\n")
    for w, v in zip(words, X):
        f.write(w + " " + " ".join(repr(float(a)) for a in v) + " \n")
EOF
ref=bench/map_ref.py
run() { echo "+ map_ref.py ${*//$work\//}" >&2; "$py" "$ref" "$@" | tee -a "$work/out.jsonl"; }
run "$work/vec.bin" --method sklearn --words 300 --threads 2 --seed 1 --out "$work/sk.tsv"
run "$work/vec.bin" --method opentsne --words 300 --threads 2 --seed 1 --out "$work/ot.tsv"
run "$work/vec.txt" --method sklearn --words 300 --threads 2 --seed 1 --out "$work/sk_txt.tsv"
run "$work/vec.bin" --score "$work/sk.tsv" --threads 2
(head -1 "$work/sk.tsv"; tail -n +2 "$work/sk.tsv" | sort) | cut -f1-3 > "$work/sorted.tsv"
run "$work/vec.bin" --score "$work/sorted.tsv" --threads 2
cmp -s "$work/sk.tsv" "$work/sk_txt.tsv" || { echo "FAIL: binary and text vectors gave different maps" >&2; exit 1; }
"$py" - "$work/out.jsonl" <<'EOF'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
fit, ot, _, score, shuffled = r
ok = (fit["words"] == ot["words"] == score["words"] == 300 and fit["iterations"] == ot["iterations"] == 1000
      and score["trustworthiness"] == fit["trustworthiness"] == shuffled["trustworthiness"]
      and score["same_words_as_top_n"] and not shuffled["same_words_as_top_n"]
      and min(fit["trustworthiness"], ot["trustworthiness"]) > 0.9)
print("map_ref smoke:", "ok" if ok else "FAIL", file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
