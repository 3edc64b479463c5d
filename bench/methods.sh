#!/usr/bin/env bash
# Count-based methods beside their references, in one run on one machine: Stanford GloVe (C) vs our
# `cooccur` (window 10, harmonic) → `glove` stages, and a numpy/scipy PPMI-SVD (bench/ppmi_svd_ref.py)
# vs our `cooccur` (window 5, uniform) → `ppmi-svd` stages. Per step: process wall time and peak RSS
# (/usr/bin/time -f "%e %M"); per method: analogy accuracy and WS-353 ρ from the same
# `w2v-pipe evaluate`; then the issue's targets, each with its verdict.
#
# Usage: bench/methods.sh [--corpus ZIP] [--glove-dir DIR] [--iterations N] [--threads N]
#                         [--repeats N] [--quick] [--no-build] [--keep-work] [--out DIR]
#   --corpus ZIP      text8-format zip (default ../shared/data/corpus/en-corpus.zip, relative to the repo)
#   --glove-dir DIR   Stanford GloVe checkout built with its Makefile (binaries in DIR/build or DIR);
#                     default $GLOVE_DIR; without it the GloVe reference is skipped (said in the table)
#   --iterations N    GloVe epochs for both tools (default 15; --quick: 3)
#   --threads N       threads for both GloVe trainers and our stages (default 2)
#   --repeats N       rounds (default 1); each round runs every tool once, interleaved, with a fresh
#                     store; the table shows median (min–max)
#   --quick           en-small (1M tokens: ../shared/data/corpus/en-small.zip or data/en-small.zip),
#                     3 iterations: checks the script, its figures mean nothing
#   --no-build        use the w2v-pipe binary as it is ($W2V_PIPE_BIN, else .build/release/w2v-pipe)
#   --keep-work       keep the temporary directory (corpus text, GloVe files, store, vectors)
#   --out DIR         results go to DIR/<timestamp>-methods[-quick]/ (default bench/results, git-ignored):
#                     results.md (the tables, also printed), steps.tsv, experiments/, logs/
#
# What runs, per round (in this order; nothing is shared between the tools but the corpus bytes):
#   GloVe C (cwd: a temp dir; settings of ../shared/PERFORMANCE-NOTES.md, 2026-12-01):
#     vocab_count -min-count 5 -verbose 2 < corpus > vocab.txt
#     cooccur -memory 8 -vocab-file vocab.txt -verbose 2 -window-size 10 -overflow-file overflow < corpus > cooccurrence.bin
#     shuffle -verbose 2 -seed 1 -temp-file temp_shuffle < cooccurrence.bin > cooccurrence.shuf.bin
#     glove -input-file cooccurrence.shuf.bin -vocab-file vocab.txt -save-file vectors -x-max 10 -iter N
#           -vector-size 100 -threads 2 -model 2 -binary 0 -write-header 0 -verbose 2 -seed 1
#     (its defaults: symmetric window, 1/d weights, -alpha 0.75, -eta 0.05; -model 2 writes W + W̃;
#     no header because GloVe appends an `<unk>` row the header would not count; read as glove-text)
#   w2v-pipe, one new stage per process (the run command has no "run only stage X"): experiment files
#     that add one stage at a time share one store, so every earlier stage is reused (fresh) and each
#     process runs exactly one stage; its wall time and peak RSS are that stage's, plus process start
#     and opening the store (the stage's own seconds, from its run record, are shown beside them):
#     unzip → tokenize → build-vocab (min_count 5) → cooccur (window 10, harmonic) → glove (dim 100,
#     x_max 10, alpha 0.75, learning_rate 0.05, N epochs, output sum) → evaluate;
#     then cooccur (window 5, uniform) → ppmi-svd (dim 100, neg 1, cds 0.75, eig 0.5) → evaluate.
#     A stage type this binary does not have is reported and its branch skipped; the references still run.
#   PPMI-SVD in numpy/scipy (bench/ppmi_svd_ref.py in the venv bench/.venv, numpy and scipy installed
#     from PyPI if missing): min_count 5, symmetric window 5 uniform, cds 0.75, no shift, positive part,
#     scipy.sparse.linalg.svds k 100, U·S^0.5, word2vec text. Its steps are timed inside the one
#     process; the peak RSS is the whole process's. OPENBLAS_NUM_THREADS=--threads (with another job
#     on the cores, OpenBLAS's spinning threads can make ARPACK's SVD many times slower).
# Quality: every method's vectors scored by `w2v-pipe evaluate --json` with the bench's data/eval sets
# (Google analogies 3CosAdd among the 30,000 most frequent words; WordSim-353 Spearman); ours straight
# from the store (`evaluate -e EXP --stage ID`), the references from their vector files.
# On a shared machine compare within one invocation, and look at the load averages printed with it.
set -euo pipefail
caller=$(pwd)
cd "$(dirname "$0")/.."
repo=$(pwd)
# from_caller (a relative path: from the caller's directory, else the repo root), release_binary, machine_info
. "$repo/bench/common.sh"

corpus="" glove_dir=${GLOVE_DIR:+$(from_caller "$GLOVE_DIR")} iterations="" threads=2 repeats=1 quick=0 build=1 keep=0 out=$repo/bench/results
die() { echo "methods.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --corpus) corpus=$(from_caller "${2:?}"); shift 2 ;;
    --glove-dir) glove_dir=$(from_caller "${2:?}"); shift 2 ;;
    --iterations) iterations=${2:?}; shift 2 ;;
    --threads) threads=${2:?}; shift 2 ;;
    --repeats) repeats=${2:?}; shift 2 ;;
    --quick) quick=1; shift ;;
    --no-build) build=0; shift ;;
    --keep-work) keep=1; shift ;;
    --out) out=${2:?}; case $out in /*) ;; *) out=$caller/$out ;; esac; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
for n in "$threads" "$repeats" ${iterations:+"$iterations"}; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "not a positive integer: $n"
done
if [ -z "$corpus" ]; then
  if [ $quick = 1 ]; then
    corpus=../shared/data/corpus/en-small.zip
    [ -f "$corpus" ] || corpus=data/en-small.zip
  else
    corpus=../shared/data/corpus/en-corpus.zip
  fi
fi
[ -n "$iterations" ] || { [ $quick = 1 ] && iterations=3 || iterations=15; }
[ -f "$corpus" ] || die "corpus not found: $corpus"
corpus=$(cd "$(dirname "$corpus")" && pwd)/$(basename "$corpus")
log() { echo "[methods $(date +%H:%M:%S)] $*" >&2; }

# ---------------------------------------------------------------------------------------------
# the w2v-pipe binary (as bench/run.py: build unless --no-build, after any other swift build)
release_binary "$build"

stamp=$(date +%Y%m%d-%H%M%S)-methods$([ $quick = 1 ] && echo -quick || true)
res=$out/$stamp
mkdir -p "$res/logs" "$res/experiments"
work=$(mktemp -d "${TMPDIR:-/tmp}/w2v-methods-XXXXXX")
if [ $keep = 1 ]; then trap 'log "kept $work"' EXIT; else trap 'rm -rf "$work"' EXIT; fi
steps=$res/steps.tsv      # round, method, tool, step, wall s, peak RSS KB, exit status, stage s, detail
: > "$steps"
log "work dir $work; results in $res"

# ---------------------------------------------------------------------------------------------
# machine and versions (printed with the table)
machine_info > "$work/machine"
cat "$work/machine" >&2

# corpus: the zip member, extracted once, is what GloVe and the scipy script read
member=$(python3 - "$corpus" "$work/corpus.txt" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    names = [n for n in z.namelist() if not n.endswith("/")]
    m = names[0] if len(names) == 1 else ("text8" if "text8" in names else None)
    if m is None:
        sys.exit(f"{sys.argv[1]}: several members, none is text8: {names}")
    with z.open(m) as src, open(sys.argv[2], "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
print(m)
PY
)
log "corpus $corpus:$member, $(stat -c %s "$work/corpus.txt") bytes"

# ---------------------------------------------------------------------------------------------
# measuring: record ROUND METHOD TOOL STEP IN OUT LOG CMD... runs CMD under /usr/bin/time with
# stdin IN and stdout OUT (stderr to LOG) and appends a row to steps.tsv; returns CMD's status.
last_wall="" last_rss=""
record() {
  local round=$1 method=$2 tool=$3 step=$4 in=$5 outf=$6 logf=$7; shift 7
  local rc=0
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" < "$in" > "$outf" 2> "$logf" || rc=$?
  read -r last_wall last_rss < <(tail -n 1 "$work/time")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$method" "$tool" "$step" "$last_wall" "$last_rss" "$rc" "" "" >> "$steps"
  return $rc
}
# note DETAIL [STAGE_S]: fills the detail (and stage seconds) of the last row
note() {
  python3 - "$steps" "$1" "${2:-}" <<'PY'
import sys
path, detail, stage_s = sys.argv[1:]
rows = open(path).read().rstrip("\n").split("\n")
f = rows[-1].split("\t")
f[7], f[8] = stage_s, detail.replace("\t", " ").replace("\n", " ")
rows[-1] = "\t".join(f)
open(path, "w").write("\n".join(rows) + "\n")
PY
}
quality() {  # quality ROUND METHOD KEY ARGS... (KEY: ref or ours): `w2v-pipe evaluate --json ARGS` → logs/quality-*.json
  local f=$res/logs/quality-$2-$3-r$1.json
  if "$bin" evaluate --json --analogies data/eval/questions-words.txt --similarity data/eval/wordsim353.tsv \
       --restrict-vocab 30000 "${@:4}" > "$f" 2> "$f.stderr"; then
    [ -s "$f.stderr" ] || rm -f "$f.stderr"
    log "    quality ($3): $(python3 - "$f" <<'PY' 2>/dev/null || echo '?'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"analogy {100 * d['analogy']['overall']['accuracyAdd']:.1f}%, WS-353 {d['similarity']['spearman']:.3f}")
PY
)"
  else
    log "    quality ($3): evaluate failed: $(tail -n 1 "$f.stderr")"
  fi
}

# ---------------------------------------------------------------------------------------------
# reference 1: Stanford GloVe
glove_bin=""
if [ -n "$glove_dir" ]; then
  for d in "$glove_dir/build" "$glove_dir"; do
    if [ -x "$d/glove" ] && [ -x "$d/cooccur" ] && [ -x "$d/shuffle" ] && [ -x "$d/vocab_count" ]; then glove_bin=$(cd "$d" && pwd); break; fi
  done
  [ -n "$glove_bin" ] || log "no GloVe binaries (vocab_count, cooccur, shuffle, glove) in $glove_dir/build or $glove_dir: GloVe reference skipped"
fi
if [ -n "$glove_bin" ]; then
  echo "Stanford GloVe: $glove_bin ($(git -C "$glove_bin" rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout'))" >> "$work/machine"
  printf 'glove_skip\t\n' > "$work/skips"
else
  printf 'glove_skip\t%s\n' "${glove_dir:+no GloVe binaries in $glove_dir}${glove_dir:-no --glove-dir given (nor GLOVE_DIR)}" > "$work/skips"
fi
run_glove() {
  local r=$1 g=$work/glove-r$1 L=$res/logs/glove-r$1
  mkdir -p "$g"
  log "[round $r] GloVe C"
  ( cd "$g"
    record "$r" glove "GloVe C" vocab_count "$work/corpus.txt" vocab.txt "$L-vocab_count.log" \
      "$glove_bin/vocab_count" -min-count 5 -verbose 2 || exit 1
    note "$(wc -l < vocab.txt) words"
    record "$r" glove "GloVe C" cooccur "$work/corpus.txt" cooccurrence.bin "$L-cooccur.log" \
      "$glove_bin/cooccur" -memory 8 -vocab-file vocab.txt -verbose 2 -window-size 10 -overflow-file "$g/overflow" || exit 1
    local b; b=$(stat -c %s cooccurrence.bin)
    note "window 10, 1/d weights: $(python3 -c "print(f'{$b // 16 / 1e6:.1f}M')") pairs, $((b / 1048576)) MB file"
    record "$r" glove "GloVe C" shuffle cooccurrence.bin cooccurrence.shuf.bin "$L-shuffle.log" \
      "$glove_bin/shuffle" -verbose 2 -seed 1 -temp-file "$g/temp_shuffle" || exit 1
    rm -f cooccurrence.bin
    record "$r" glove "GloVe C" glove /dev/null "$L-glove.out" "$L-glove.log" \
      "$glove_bin/glove" -input-file cooccurrence.shuf.bin -vocab-file vocab.txt -save-file "$g/vectors" \
      -x-max 10 -iter "$iterations" -vector-size 100 -threads "$threads" -model 2 -binary 0 -write-header 0 -verbose 2 -seed 1 || exit 1
    note "$iterations iterations, $(python3 -c "print(f'{$last_wall / $iterations:.2f}')") s per iteration (wall / iterations)"
    rm -f cooccurrence.shuf.bin
  ) || { log "    GloVe C failed (see $L-*.log)"; return 0; }
  quality "$r" glove ref --vectors "$g/vectors.txt" --vectors-format glove-text
  [ $keep = 1 ] || rm -f "$g/vectors.txt"
}

# ---------------------------------------------------------------------------------------------
# reference 2: PPMI-SVD in numpy/scipy
venv=bench/.venv
py=$venv/bin/python
ppmi_ok=1 ppmi_why=""
if [ ! -x "$py" ]; then
  log "creating venv $venv"
  python3 -m venv "$venv" > "$res/logs/venv.log" 2>&1 || { ppmi_ok=0; ppmi_why="venv creation failed (logs/venv.log)"; }
fi
if [ $ppmi_ok = 1 ] && ! "$py" -c 'import numpy, scipy.sparse.linalg' 2>/dev/null; then
  log "pip install numpy==2.4.6 scipy==1.17.1"
  "$py" -m pip install numpy==2.4.6 scipy==1.17.1 > "$res/logs/pip.log" 2>&1 \
    || "$py" -m pip install numpy scipy >> "$res/logs/pip.log" 2>&1 || true
  "$py" -c 'import numpy, scipy.sparse.linalg' 2>/dev/null || { ppmi_ok=0; ppmi_why="numpy/scipy could not be installed (logs/pip.log)"; }
fi
if [ $ppmi_ok = 1 ]; then
  echo "PPMI-SVD reference: numpy $("$py" -c 'import numpy; print(numpy.__version__)'), scipy $("$py" -c 'import scipy; print(scipy.__version__)') (bench/ppmi_svd_ref.py)" >> "$work/machine"
else
  log "PPMI-SVD reference skipped: $ppmi_why"
fi
printf 'scipy_skip\t%s\n' "$ppmi_why" >> "$work/skips"
run_scipy() {
  local r=$1 L=$res/logs/scipy-r$1
  log "[round $r] PPMI-SVD numpy/scipy"
  if record "$r" ppmi "numpy/scipy" "whole script" /dev/null "$L.out" "$L.log" \
       env OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" "$py" bench/ppmi_svd_ref.py "$work/corpus.txt" --out "$work/scipy-r$r.txt" --json "$L.json" \
       --min-count 5 --window 5 --cds 0.75 --neg 1 --dim 100 --eig 0.5 --seed 1; then
    note "$(tail -n 1 "$L.out")"
    quality "$r" ppmi ref --vectors "$work/scipy-r$r.txt" --vectors-format word2vec-text
  else
    log "    failed: $(tail -n 1 "$L.log")"
  fi
  [ $keep = 1 ] || rm -f "$work/scipy-r$r.txt"
}

# ---------------------------------------------------------------------------------------------
# ours: experiment files growing one stage at a time, sharing one store per round
declare -A stage_json
stage_json[corpus]='{"type": "unzip", "params": {"path": "'$corpus'", "member": "'$member'"}}'
stage_json[tokens]='{"type": "tokenize", "inputs": {"text": "corpus.text"}}'
stage_json[vocab]='{"type": "build-vocab", "inputs": {"tokens": "tokens.tokens"}, "params": {"min_count": 5}}'
stage_json[cooc10]='{"type": "cooccur", "inputs": {"tokens": "tokens.tokens", "vocab": "vocab.vocab"},
  "params": {"window": 10, "weighting": "harmonic", "threads": '$threads', "seed": 1}}'
stage_json[glove]='{"type": "glove", "inputs": {"cooccur": "cooc10.cooccur", "vocab": "vocab.vocab"},
  "params": {"dim": 100, "x_max": 10, "alpha": 0.75, "epochs": '$iterations', "learning_rate": 0.05,
             "threads": '$threads', "seed": 1, "output": "sum"}}'
stage_json[glove_eval]='{"type": "evaluate", "inputs": {"embeddings": "glove.embeddings"}}'
stage_json[cooc5]='{"type": "cooccur", "inputs": {"tokens": "tokens.tokens", "vocab": "vocab.vocab"},
  "params": {"window": 5, "weighting": "uniform", "threads": '$threads', "seed": 1}}'
stage_json[ppmi]='{"type": "ppmi-svd", "inputs": {"cooccur": "cooc5.cooccur", "vocab": "vocab.vocab"},
  "params": {"dim": 100, "neg": 1, "cds": 0.75, "eig": 0.5, "threads": '$threads', "seed": 1}}'
stage_json[ppmi_eval]='{"type": "evaluate", "inputs": {"embeddings": "ppmi.embeddings"}}'
write_exp() {  # write_exp FILE NAME STAGE_ID...
  local f=$1 name=$2 sep=""; shift 2
  { printf '{"name": "%s", "stages": {' "$name"
    for id in "$@"; do printf '%s\n  "%s": %s' "$sep" "$id" "${stage_json[$id]}"; sep=,; done
    printf '}}\n'; } > "$f"
}
# the last stage of EXP_FILE ran? → its seconds and summary from the run record, else the error
stage_info() {  # stage_info STORE EXPERIMENT STAGE_ID LOG
  python3 - "$@" <<'PY'
import glob, json, os, sys
store, exp, stage, logf = sys.argv[1:]
best = None
for p in glob.glob(os.path.join(store, "runs", "*.json")):
    try:
        r = json.load(open(p))
    except (OSError, ValueError):
        continue
    if r.get("stage") == stage and r.get("experiment") == exp:
        if best is None or os.path.getmtime(p) > best[0]:
            best = (os.path.getmtime(p), r)
ran = any(f" {stage} " in l and " ran in " in l for l in open(logf, errors="replace"))
if best and ran:
    print(f"{best[1]['seconds']:.3f}\t{best[1].get('summary', '')}")
elif best:
    print(f"\treused, not run: {best[1].get('summary', '')}")
else:
    lines = [l.strip() for l in open(logf, errors="replace") if l.strip()]
    err = [l for l in lines if "error" in l.lower() or "unknown" in l.lower()]
    msg = (err or lines or ["no output"])[0]
    if ".json: " in msg:  # "<experiment file>: stages.X.type: unknown stage type …"
        msg = msg.split(".json: ", 1)[1]
    print("\tfailed: " + msg[:300])
PY
}
run_ours() {  # run_ours ROUND BRANCH STAGE_IDS... (the first ones are shared and may be fresh)
  local r=$1 branch=$2; shift 2
  local store=$work/store-r$r name=methods-$branch ids=() id info
  for id in "$@"; do
    ids+=("$id")
    local f=$res/experiments/$name-r$r-${#ids[@]}-$id.json L=$res/logs/ours-$branch-r$r-$id.log
    write_exp "$f" "$name" "${ids[@]}"
    # a stage an earlier branch already ran is fresh: the process only checks it (not a row)
    if [ "$("$bin" run "$f" --store "$store" --dry-run 2>/dev/null | grep -c 'nothing to do')" = 1 ]; then continue; fi
    local rc=0
    record "$r" "$branch" w2v-pipe "$id" /dev/null "$L" "$L.stderr" "$bin" run "$f" --store "$store" --progress none || rc=$?
    cat "$L.stderr" >> "$L"; rm -f "$L.stderr"
    info=$(stage_info "$store" "$name" "$id" "$L")
    note "${info#*$'\t'}" "${info%%$'\t'*}"
    if [ $rc != 0 ]; then
      log "    w2v-pipe $id failed: ${info#*$'\t'}"
      return 0
    fi
    log "    w2v-pipe $id: ${last_wall} s, $((last_rss / 1024)) MB"
    case $id in
      glove|ppmi) quality "$r" "$branch" ours -e "$f" --stage "$id" --store "$store" ;;
    esac
  done
}

# which of our stage types this binary has (a missing one is reported, not fatal)
"$bin" stages > "$work/stages" 2>&1 || true
for t in cooccur glove ppmi-svd; do
  grep -q "^$t (" "$work/stages" || log "note: this w2v-pipe has no \`$t\` stage type; its branch will fail and be reported"
done

for r in $(seq 1 "$repeats"); do
  [ -z "$glove_bin" ] || run_glove "$r"
  log "[round $r] w2v-pipe, GloVe branch"
  run_ours "$r" glove corpus tokens vocab cooc10 glove glove_eval
  [ $ppmi_ok = 0 ] || run_scipy "$r"
  log "[round $r] w2v-pipe, PPMI-SVD branch"
  run_ours "$r" ppmi corpus tokens vocab cooc5 ppmi ppmi_eval
  [ $keep = 1 ] || rm -rf "$work/store-r$r" "$work/glove-r$r"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$work/machine"

# ---------------------------------------------------------------------------------------------
# the tables
python3 - "$steps" "$res" "$work/machine" "$work/skips" "$iterations" "$repeats" "$corpus" "$quick" <<'PY' | tee "$res/results.md"
import glob, json, os, statistics, sys
steps_path, res, machine, skips, iterations, repeats, corpus, quick = sys.argv[1:]
iterations, repeats, quick = int(iterations), int(repeats), quick == "1"
skip = dict(l.rstrip("\n").split("\t", 1) for l in open(skips) if "\t" in l)

rows = {}   # (method, tool, step) -> list of dicts (per round, in order)
order = []
for line in open(steps_path):
    f = line.rstrip("\n").split("\t")
    if len(f) < 9:
        continue
    r, method, tool, step, wall, rss, rc, stage_s, detail = f[:9]
    key = (method, tool, step)
    if key not in rows:
        rows[key] = []
        order.append(key)
    rows[key].append({"wall": float(wall) if wall else None, "rss": int(rss) / 1024 if rss else None,
                      "ok": rc == "0", "stage_s": float(stage_s) if stage_s else None, "detail": detail})

def ok(key):
    return [x for x in rows.get(key, []) if x["ok"]]

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def rng(xs, fmt):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "—"
    s = fmt(statistics.median(xs))
    return s + (f" ({fmt(min(xs))}–{fmt(max(xs))})" if len(xs) > 1 else "")

def sec(x): return f"{x:.2f}" if x < 10 else f"{x:.1f}"
def mb(x): return f"{x:.0f}"

# quality: logs/quality-METHOD-TOOL-rN.json
quality = {}
for p in glob.glob(os.path.join(res, "logs", "quality-*.json")):
    try:
        d = json.load(open(p))
        a, s = d["analogy"]["overall"], d["similarity"]
    except (OSError, ValueError, KeyError, TypeError):
        continue
    method, rest = os.path.basename(p)[len("quality-"):].split("-", 1)
    tool = rest.rsplit("-r", 1)[0]
    quality.setdefault((method, tool), []).append((a.get("accuracyAdd"), a.get("coverage"), s.get("spearman")))

def q(method, tool):
    xs = quality.get((method, "ours" if tool == "w2v-pipe" else "ref"), [])
    return ([x[0] for x in xs if x[0] is not None], [x[1] for x in xs if x[1] is not None],
            [x[2] for x in xs if x[2] is not None])

# scipy internal steps, from its JSON
scipy = {}
for p in sorted(glob.glob(os.path.join(res, "logs", "scipy-r*.json"))):
    try:
        d = json.load(open(p))
    except (OSError, ValueError):
        continue
    for k, v in d.items():
        if isinstance(v, (int, float)):
            scipy.setdefault(k, []).append(v)

STEP_NAMES = {
    ("glove", "vocab_count"): "vocabulary", ("glove", "cooccur"): "co-occurrence (window 10, 1/d)",
    ("glove", "shuffle"): "shuffle", ("glove", "glove"): f"training ({iterations} it.)",
    ("glove", "corpus"): "unzip", ("glove", "tokens"): "tokenize", ("glove", "vocab"): "vocabulary (build-vocab)",
    ("glove", "cooc10"): "co-occurrence (window 10, harmonic)", ("glove", "glove"): f"training ({iterations} it.)",
    ("glove", "glove_eval"): "evaluate stage",
    ("ppmi", "corpus"): "unzip", ("ppmi", "tokens"): "tokenize", ("ppmi", "vocab"): "vocabulary (build-vocab)",
    ("ppmi", "cooc5"): "co-occurrence (window 5, uniform)", ("ppmi", "ppmi"): "PPMI + SVD (ppmi-svd)",
    ("ppmi", "ppmi_eval"): "evaluate stage", ("ppmi", "whole script"): "whole script (one process)",
}
TOOL_NAMES = {("w2v-pipe", "cooc10"): "w2v-pipe `cooccur`", ("w2v-pipe", "cooc5"): "w2v-pipe `cooccur`",
              ("w2v-pipe", "glove"): "w2v-pipe `glove`", ("w2v-pipe", "ppmi"): "w2v-pipe `ppmi-svd`",
              ("w2v-pipe", "corpus"): "w2v-pipe `unzip`", ("w2v-pipe", "tokens"): "w2v-pipe `tokenize`",
              ("w2v-pipe", "vocab"): "w2v-pipe `build-vocab`", ("w2v-pipe", "glove_eval"): "w2v-pipe `evaluate`",
              ("w2v-pipe", "ppmi_eval"): "w2v-pipe `evaluate`"}

out = ["# Count-based methods: w2v-pipe stages vs Stanford GloVe and numpy/scipy PPMI-SVD", ""]
out += [l.rstrip("\n") + "  " for l in open(machine)]
out += ["", f"Corpus `{os.path.basename(corpus)}`; {iterations} GloVe iteration(s) for both tools; "
        f"{repeats} round(s), tools interleaved, fresh store per round" + (" (median (min–max))" if repeats > 1 else "") + "."]
if quick:
    out += ["", "**--quick: a check of the script on the small corpus; the figures and verdicts mean nothing.**"]
out += ["", "| method | step | tool | wall s | peak RSS MB | analogy | WS-353 | detail |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |"]

def qual_row(method, label, tool, why=None):
    an, cov, ws = q(method, tool)
    if not an and not ws:
        out.append(f"| {label} | **vectors** | {tool} | | | — | — | {why or 'no vectors'} |")
        return
    a = rng([100 * x for x in an], lambda x: f"{x:.1f}%")
    c = f" ({100 * statistics.median(cov):.0f}% answerable)" if cov else ""
    out.append(f"| {label} | **vectors** | {tool} | | | {a} | {rng(ws, lambda x: f'{x:.3f}')} | analogy 3CosAdd, 30k words{c} |")

def step_rows(method, label, tool_filter):
    shown = False
    for key in order:
        m, tool, step = key
        if m != method or not tool_filter(tool):
            continue
        xs = rows[key]
        good = [x for x in xs if x["ok"]]
        name = STEP_NAMES.get((method, step), step)
        tname = TOOL_NAMES.get((tool, step), tool if tool != "GloVe C" else f"GloVe C `{step}`")
        if not good:
            out.append(f"| {label} | {name} | {tname} | failed | | | | {xs[-1]['detail'] or 'see logs/'} |")
            shown = True
            continue
        detail = good[-1]["detail"]
        st = [x["stage_s"] for x in good if x["stage_s"] is not None]
        if st:
            detail = f"stage {rng(st, sec)} s; " + detail
        out.append(f"| {label} | {name} | {tname} | {rng([x['wall'] for x in good], sec)} | "
                   f"{rng([x['rss'] for x in good], mb)} | | | {detail} |")
        shown = True
        if tool == "numpy/scipy":
            for k, nm in [("vocabulary_s", "vocabulary (Python)"), ("cooccurrence_s", "co-occurrence (window 5, uniform)"),
                          ("ppmi_s", "PPMI"), ("svd_s", "SVD (svds k 100)"), ("ppmi_plus_svd_s", "PPMI + SVD")]:
                if k in scipy:
                    extra = ""
                    if k == "cooccurrence_s" and "cooccurrence_nnz" in scipy:
                        extra = f"{med(scipy['cooccurrence_nnz']) / 1e6:.1f}M non-zero pairs"
                    if k == "ppmi_s" and "ppmi_nnz" in scipy:
                        extra = f"{med(scipy['ppmi_nnz']) / 1e6:.1f}M positive entries"
                    out.append(f"| {label} | ↳ {nm} | numpy/scipy | {rng(scipy[k], sec)} | (whole process) | | | {extra} |")
    return shown

# GloVe
if skip.get("glove_skip"):
    out.append(f"| GloVe | all | GloVe C | skipped | | | | {skip['glove_skip']} |")
else:
    step_rows("glove", "GloVe", lambda t: t == "GloVe C")
    qual_row("glove", "GloVe", "GloVe C")
if not step_rows("glove", "GloVe", lambda t: t == "w2v-pipe"):
    out.append("| GloVe | all | w2v-pipe | not run | | | | |")
qual_row("glove", "GloVe", "w2v-pipe")
# PPMI-SVD
if skip.get("scipy_skip"):
    out.append(f"| PPMI-SVD | all | numpy/scipy | skipped | | | | {skip['scipy_skip']} |")
else:
    step_rows("ppmi", "PPMI-SVD", lambda t: t == "numpy/scipy")
    qual_row("ppmi", "PPMI-SVD", "numpy/scipy")
if not step_rows("ppmi", "PPMI-SVD", lambda t: t == "w2v-pipe"):
    out.append("| PPMI-SVD | all | w2v-pipe | not run | | | | |")
qual_row("ppmi", "PPMI-SVD", "w2v-pipe")

out += ["", "wall s and peak RSS: `/usr/bin/time -f \"%e %M\"` of one process. GloVe C: one process per step. "
        "w2v-pipe: one process per stage (experiment files growing by one stage, sharing a store, so the earlier "
        "stages are reused), which adds process start and opening the store to each row; \"stage … s\" is the "
        "stage's own time from its run record. The unzip/tokenize/build-vocab rows appear once, under the branch "
        "that ran them. numpy/scipy: one process; its steps are timed inside it (↳ rows), peak RSS is the process's. "
        "Quality: `w2v-pipe evaluate` on every method's vectors (Google analogies 3CosAdd among the 30,000 most "
        "frequent words, WordSim-353 Spearman)."]

# targets
def wall(method, tool, step): return med([x["wall"] for x in ok((method, tool, step))])
def rss(method, tool, step): return med([x["rss"] for x in ok((method, tool, step))])
def verdict(cond): return "—" if cond is None else ("**yes**" if cond else "no")
def f(x, fmt, unit=""):
    return "—" if x is None else fmt(x) + unit

out += ["", "| target (issue) | ours | reference | met |", "| --- | --- | --- | :---: |"]
cw, cr = wall("glove", "w2v-pipe", "cooc10"), rss("glove", "w2v-pipe", "cooc10")
gc, gs = wall("glove", "GloVe C", "cooccur"), wall("glove", "GloVe C", "shuffle")
gcr, gsr = rss("glove", "GloVe C", "cooccur"), rss("glove", "GloVe C", "shuffle")
ref_w = gc + gs if gc is not None and gs is not None else None
ref_r = max(gcr, gsr) if gcr is not None and gsr is not None else None
out.append(f"| `cooccur` (window 10) wall ≤ ½ × GloVe `cooccur` + `shuffle` | {f(cw, sec, ' s')} | "
           f"{f(ref_w, sec, ' s')} (½: {f(ref_w / 2 if ref_w else None, sec, ' s')}) | "
           f"{verdict(None if cw is None or ref_w is None else cw <= ref_w / 2)} |")
out.append(f"| `cooccur` (window 10) peak RSS < GloVe's (larger of `cooccur`, `shuffle`) | {f(cr, mb, ' MB')} | "
           f"{f(ref_r, mb, ' MB')} | {verdict(None if cr is None or ref_r is None else cr < ref_r)} |")
ow, gw = wall("glove", "w2v-pipe", "glove"), wall("glove", "GloVe C", "glove")
ow_i, gw_i = (ow / iterations if ow is not None else None), (gw / iterations if gw is not None else None)
out.append(f"| `glove` s per iteration ≤ GloVe `glove`'s (process wall / iterations) | {f(ow_i, sec, ' s')} | "
           f"{f(gw_i, sec, ' s')} | {verdict(None if ow_i is None or gw_i is None else ow_i <= gw_i)} |")
oa, _, ows = q("glove", "w2v-pipe")
ga, _, gws = q("glove", "GloVe C")
cond = None
if oa and ga and ows and gws:
    cond = med(oa) >= med(ga) and med(ows) >= med(gws)
out.append(f"| `glove` quality ≥ GloVe's (analogy and WS-353) | {f(med(oa), lambda x: f'{100*x:.1f}%')}, "
           f"{f(med(ows), lambda x: f'{x:.3f}')} | {f(med(ga), lambda x: f'{100*x:.1f}%')}, "
           f"{f(med(gws), lambda x: f'{x:.3f}')} | {verdict(cond)} |")
pw, pr = wall("ppmi", "w2v-pipe", "ppmi"), rss("ppmi", "w2v-pipe", "ppmi")
sp = med(scipy.get("ppmi_plus_svd_s", []))
out.append(f"| `ppmi-svd` (co-occurrence artifact → vectors) < 20 s | {f(pw, sec, ' s')} | "
           f"scipy PPMI + SVD {f(sp, sec, ' s')} | {verdict(None if pw is None else pw < 20)} |")
out.append(f"| `ppmi-svd` peak RSS < 1 GB (1024 MB) | {f(pr, mb, ' MB')} | scipy whole script "
           f"{f(rss('ppmi', 'numpy/scipy', 'whole script'), mb, ' MB')} | {verdict(None if pr is None else pr < 1024)} |")
pa, _, pws = q("ppmi", "w2v-pipe")
sa, _, sws = q("ppmi", "numpy/scipy")
cond = None
if pa and sa and pws and sws:
    cond = med(pa) >= med(sa) - 0.01 and med(pws) >= med(sws) - 0.01
out.append(f"| `ppmi-svd` quality equal to scipy's (analogy ≥ −1 point, WS-353 ≥ −0.01) | "
           f"{f(med(pa), lambda x: f'{100*x:.1f}%')}, {f(med(pws), lambda x: f'{x:.3f}')} | "
           f"{f(med(sa), lambda x: f'{100*x:.1f}%')}, {f(med(sws), lambda x: f'{x:.3f}')} | {verdict(cond)} |")
out += ["", "Medians over rounds. The targets are stated for en-corpus" + (" (this was --quick)." if quick else ".")]
print("\n".join(out))
PY
log "wrote $res/results.md"
