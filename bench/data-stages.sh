#!/usr/bin/env bash
# Corpus scaling of the data stages: read-text → tokenize → build-vocab on line-split corpora of
# 0.1, 1 and 4 GB made at benchmark time from en-corpus, plus a 10-file folder (1 GB) and the zip
# itself through unzip; wall time, MB/s, the tokenize stage's time and peak RSS per size, the
# issue's targets, whether time grows linearly with size; then one epoch of SGNS training on the
# 1 GB corpus with its memory split into anonymous (model tables, buffers) and file-backed
# (memory-mapped token ids) pages.
#
# Usage: bench/data-stages.sh [--sizes "0.1 1 4"] [--repeats N] [--no-train] [--work DIR]
#                             [--corpus ZIP] [--no-build] [--keep]
#   --sizes "S ..."  corpus sizes in GB of text (default "0.1 1 4"); each is rounded to a whole
#                    number k of 0.1 GB copies, k = round(S × 10)
#   --repeats N      runs per corpus (default 3); the table shows median (min–max)
#   --no-train       skip the training run
#   --work DIR       where the corpora, stores and logs go (default $W2V_BENCH_WORK, else
#                    /tmp/w2v-pipe-corpus-bench); never inside the repo
#   --corpus ZIP     the text8-format zip the corpora are cut from (default
#                    ../shared/data/corpus/en-corpus.zip, from the caller's directory, else the repo's)
#   --no-build       use the w2v-pipe binary as it is ($W2V_PIPE_BIN, else .build/release/w2v-pipe)
#   --keep           keep the stores (DIR/stores/) after the run
#
# The corpora (made once, reused by later runs while their sizes are right; kept at the end):
#   DIR/lines.txt        the zip's text8 member (one 100 MB line of words) re-cut into lines of
#                        5 to 40 words, the lengths drawn from Python's random.Random(20261202): same
#                        words, same bytes count (a newline replaces a space at each line end)
#   DIR/corpus-S.txt     lines.txt concatenated k = round(S × 10) times (cat): 0.1 → 1 copy, 1 → 10,
#                        4 → 40
#   DIR/folder-1/        (only when 1 is among the sizes) part-00.txt … part-09.txt, hard links to
#                        lines.txt: the multi-file path of read-text on 1 GB
#   Before making anything, the free space of DIR (df) plus the corpora already there and reusable
#   must be at least 3 × the largest corpus (corpus + tokens artifact + room), else it refuses.
# What runs, per corpus (sizes in increasing order, then the folder, then the zip), per repeat:
#   the store DIR/stores/NAME is removed (rm -rf), then one `w2v-pipe run EXP --store STORE
#   --progress none` under /usr/bin/time -f "%e %M", EXP (in DIR/last-run/) being
#     corpus-S, folder-1: read-text (path: the absolute path of the file or folder) → tokenize
#                         (format text8, sentences lines) → build-vocab (min_count 5)
#     en-corpus.zip:      unzip (member text8) → tokenize (format text8, sentences none) → build-vocab
#                         (min_count 5)
#   Each run starts from an empty store, so its wall time includes hashing the whole input
#   (SHA-256: the store keys read-text and unzip by their files' content digests) before any stage
#   runs. That is part of the honest end-to-end figure; the output shows it as "outside the
#   stages" (wall − the stages' own "ran in" times: hashing, process start, opening the store).
#   Every run's token and line counts are checked against lines.txt's (k × its words and lines).
# What is reported (stdout; also DIR/last-run/results.md; progress goes to stderr):
#   the machine (bench/common.sh's machine_info); a table per corpus: text bytes, files, wall s
#   median (min–max), MB/s (text bytes / median wall, MB = 10^6 bytes), the tokenize stage's
#   "ran in" s (median), peak RSS MB (KB from /usr/bin/time ÷ 1024; median, max); the issue's
#   targets at the largest size: ≥ 150 MB/s end to end, peak RSS (the max over repeats) < 600 MB;
#   seconds per GB of every corpus-S and whether time is linear in size (the marginal seconds per GB
#   between consecutive sizes within ±20% of the last; the fixed cost shows most at 0.1 GB).
# Training (unless --no-train): once, on the 1 GB corpus (else the largest size ≤ 1; none: skipped),
#   right after its repeats, in the store of its last repeat (its data stages are reused):
#   subsample (t 1e-4) → train (sgns, dim 100, window 5, negatives 5, epochs 1, threads 2, seed 1).
#   Reported: words/s from the train stage's summary line, the train stage's "ran in", wall and peak
#   RSS (/usr/bin/time), and /proc/PID/status of the w2v-pipe process sampled every 0.2 s: peak
#   VmRSS, peak RssAnon (model tables and buffers) and peak RssFile (the memory-mapped token ids,
#   plus the binary's and libraries' pages) separately; and the tokens artifact's size (the largest
#   file under the store's objects/ after the data stages, checked against the tokenize run record)
#   to compare RssFile with.
# Exit status: 0 when every run worked (targets not met are reported, not failures), 1 when a run
#   failed (its row says so; the other rows still run) or the corpora could not be made, 2 on bad
#   options. On a shared 2-core machine, compare figures from one invocation and look at the load
#   averages printed with them.
set -euo pipefail
caller=$(pwd)
cd "$(dirname "$0")/.."
repo=$(pwd)
log() { echo "[data-stages $(date +%H:%M:%S)] $*" >&2; }
die() { echo "data-stages.sh: $*" >&2; exit 1; }
usage_error() { echo "data-stages.sh: $* (see --help)" >&2; exit 2; }
# from_caller (a relative path: from the caller's directory, else the repo root), release_binary, machine_info
. "$repo/bench/common.sh"

sizes="0.1 1 4" repeats=3 train=1 work=${W2V_BENCH_WORK:-/tmp/w2v-pipe-corpus-bench} corpus="" build=1 keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) sizes=${2:?--sizes needs a value}; shift 2 ;;
    --repeats) repeats=${2:?--repeats needs a value}; shift 2 ;;
    --no-train) train=0; shift ;;
    --work) work=${2:?--work needs a value}; case $work in /*) ;; *) work=$caller/$work ;; esac; shift 2 ;;
    --corpus) corpus=$(from_caller "${2:?--corpus needs a value}"); shift 2 ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) usage_error "unknown option $1" ;;
  esac
done
[ -n "$corpus" ] || corpus=$(from_caller ../shared/data/corpus/en-corpus.zip)
[[ $repeats =~ ^[1-9][0-9]*$ ]] || usage_error "--repeats: not a positive integer: $repeats"
[ -f "$corpus" ] || die "corpus not found: $corpus"
corpus=$(cd "$(dirname "$corpus")" && pwd)/$(basename "$corpus")

# sizes → k (copies of lines.txt), in increasing order, each once; label = k / 10 GB
ks=()
for s in $sizes; do
  [[ $s =~ ^([0-9]+(\.[0-9]*)?|\.[0-9]+)$ ]] || usage_error "--sizes: not a number of GB: $s"
  k=$(awk -v s="$s" 'BEGIN { printf "%d", s * 10 + 0.5 }')
  [ "$k" -ge 1 ] || usage_error "--sizes: $s GB is less than one copy of the 0.1 GB text (k = round(S × 10) = 0)"
  ks+=("$k")
done
[ ${#ks[@]} -gt 0 ] || usage_error "--sizes: no size given"
mapfile -t ks < <(printf '%s\n' "${ks[@]}" | sort -n -u)
gb() { awk -v k="$1" 'BEGIN { printf "%g", k / 10 }'; }   # k copies → its size label in GB
kmax=${ks[$((${#ks[@]} - 1))]}
ktrain=""
for k in "${ks[@]}"; do [ "$k" -le 10 ] && ktrain=$k; done
has_folder=0
for k in "${ks[@]}"; do [ "$k" = 10 ] && has_folder=1; done

# ---------------------------------------------------------------------------------------------
# the binary, the machine
release_binary "$build"
stage_types=$("$bin" stages 2>/dev/null || true)
grep -q '^read-text (' <<< "$stage_types" || die "$bin has no \`read-text\` stage type (rebuild it: drop --no-build)"
machine=$(machine_info)
echo "$machine"

case $work in "$repo"|"$repo"/*) die "--work $work is inside the repo; the corpora must not go there" ;; esac
mkdir -p "$work" || die "cannot create the work dir $work"
work=$(cd "$work" && pwd)
exec 9> "$work/.lock"
flock -n 9 || die "another bench/data-stages.sh is using $work (its lock $work/.lock is held)"
res=$work/last-run stores=$work/stores
rm -rf "$res" "$stores"
mkdir -p "$res/logs" "$stores"
sampler=""
cleanup() {
  [ -z "$sampler" ] || kill "$sampler" 2>/dev/null || true
  if [ $keep = 1 ]; then log "stores kept in $stores"; else rm -rf "$stores"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
# the corpora
zipinfo=$(python3 - "$corpus" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    infos = [i for i in z.infolist() if not i.filename.endswith("/")]
names = [i.filename for i in infos]
if len(infos) == 1:
    m = infos[0]
else:
    m = next((i for i in infos if i.filename == "text8"), None)
if m is None:
    sys.exit(f"{sys.argv[1]}: {len(names)} members and none is text8: {names[:10]}")
if any(c in m.filename for c in '"\\\t\n'):
    sys.exit(f"{sys.argv[1]}: member name {m.filename!r} has quotes, backslashes or tabs")
print(f"{m.filename}\t{m.file_size}\t{m.CRC:08x}")
PY
) || die "cannot read the zip $corpus"
IFS=$'\t' read -r member member_bytes member_crc <<< "$zipinfo"
case $work$corpus in *'"'*|*'\'*) die "paths with quotes or backslashes are not supported: $work, $corpus" ;; esac
seed=20261202
source_id="v1 seed $seed; $corpus $(stat -c %s "$corpus") member $member $member_bytes crc $member_crc"
lines=$work/lines.txt meta=$work/lines.meta
lines_ok() { [ -f "$lines" ] && [ -f "$meta" ] && [ "$(sed -n 1p "$meta")" = "$source_id" ] &&
             [ "$(stat -c %s "$lines")" = "$(sed -n 2p "$meta" | cut -d' ' -f1)" ]; }
corpus_file() { echo "$work/corpus-$(gb "$1").txt"; }

# disk space: free + the reusable corpora already there ≥ 3 × the largest corpus
present=0
if lines_ok; then
  lines_bytes=$(sed -n 2p "$meta" | cut -d' ' -f1)
  present=$lines_bytes
  for k in "${ks[@]}"; do
    f=$(corpus_file "$k")
    [ -f "$f" ] && [ "$(stat -c %s "$f")" = $((k * lines_bytes)) ] && present=$((present + k * lines_bytes))
  done
fi
largest=$((kmax * member_bytes)) avail=$(df -B1 --output=avail "$work" | tail -n 1 | tr -d ' ')
need=$((3 * largest))
grouped() { echo "$1" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta'; }   # 1234567 → 1,234,567
gbytes() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e9 }'; }
if [ $((avail + present)) -lt $need ]; then
  die "not enough free disk space in $work: $(gbytes "$avail") GB free$([ $present = 0 ] || echo " (plus $(gbytes $present) GB of corpora already there)"), but 3 × the largest corpus ($(gbytes $largest) GB) = $(gbytes $need) GB is needed; free some space, pass smaller --sizes, or another --work"
fi
log "work dir $work: $(gbytes "$avail") GB free$([ $present = 0 ] || echo ", $(gbytes $present) GB of reusable corpora there"); need 3 × $(gbytes $largest) GB"

if lines_ok; then
  log "reusing $lines"
else
  log "making $lines: $member of $(basename "$corpus") cut into lines of 5–40 words (seed $seed)"
  rm -rf "$work"/corpus-*.txt "$work"/corpus-*.txt.tmp "$work/folder-1" "$lines" "$meta"
  python3 - "$corpus" "$member" "$lines.tmp" "$seed" > "$meta.tmp" <<'PY' || die "could not make $lines"
import random, sys, zipfile
zpath, member, out, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rng = random.Random(seed)
need = rng.randint(5, 40)
nwords = nlines = 0

def words(f):
    """The member's words, a chunk at a time (any whitespace separates)."""
    carry = b""
    while True:
        chunk = f.read(1 << 24)
        if not chunk:
            break
        data = carry + chunk
        parts = data.split()
        carry = b"" if data[-1:].isspace() or not parts else parts.pop()
        yield parts
    if carry:
        yield [carry]

with zipfile.ZipFile(zpath) as z, z.open(member) as f, open(out, "wb") as o:
    buf, held = [], None        # words not yet in a line; the last line made, not yet written
    for ws in words(f):
        nwords += len(ws)
        buf.extend(ws)
        i, made = 0, []
        while len(buf) - i >= need:
            made.append(b" ".join(buf[i:i + need]))
            i += need
            need = rng.randint(5, 40)
        del buf[:i]
        if made:
            if held is not None:
                made.insert(0, held)
            held = made.pop()
            if made:
                o.write(b"\n".join(made) + b"\n")
                nlines += len(made)
    # the tail (fewer words than the next drawn length): its own line if it has 5 or more words,
    # else joined to the last line (split in two halves if that made more than 40)
    last = [] if held is None else [held]
    if buf:
        if len(buf) >= 5 or held is None:
            last.append(b" ".join(buf))
        else:
            merged = held.split() + buf
            last = [b" ".join(merged)] if len(merged) <= 40 else \
                   [b" ".join(merged[:len(merged) // 2]), b" ".join(merged[len(merged) // 2:])]
    if last:
        o.write(b"\n".join(last) + b"\n")
        nlines += len(last)
    size = o.tell()
print(f"{size} {nwords} {nlines}")
PY
  { echo "$source_id"; cat "$meta.tmp"; } > "$meta.new" && rm -f "$meta.tmp"
  mv "$lines.tmp" "$lines" && mv "$meta.new" "$meta"
  lines_ok || die "made $lines but its size does not match what the generator reported"
fi
read -r lines_bytes lines_words lines_lines < <(sed -n 2p "$meta")
log "lines.txt: $(grouped "$lines_bytes") bytes, $(grouped "$lines_words") words in $(grouped "$lines_lines") lines"

for k in "${ks[@]}"; do
  f=$(corpus_file "$k") want=$((k * lines_bytes))
  if [ -f "$f" ] && [ "$(stat -c %s "$f")" = $want ]; then
    log "reusing $f"
  else
    log "making $f: lines.txt × $k ($(gbytes $want) GB)"
    copies=(); for ((i = 0; i < k; i++)); do copies+=("$lines"); done
    cat "${copies[@]}" > "$f.tmp" || { rm -f "$f.tmp"; die "could not write $f"; }
    mv "$f.tmp" "$f"
  fi
done
folder=$work/folder-1
if [ $has_folder = 1 ]; then
  ok=1
  [ "$(find "$folder" -mindepth 1 2>/dev/null | wc -l)" = 10 ] || ok=0
  for i in 00 01 02 03 04 05 06 07 08 09; do
    [ $ok = 1 ] && [ -f "$folder/part-$i.txt" ] && [ "$(stat -c %s "$folder/part-$i.txt")" = "$lines_bytes" ] || ok=0
  done
  if [ $ok = 1 ]; then
    log "reusing $folder"
  else
    log "making $folder: part-00.txt … part-09.txt, hard links to lines.txt"
    rm -rf "$folder"; mkdir -p "$folder"
    for i in 00 01 02 03 04 05 06 07 08 09; do
      ln "$lines" "$folder/part-$i.txt" 2>/dev/null || cp "$lines" "$folder/part-$i.txt" || die "could not write $folder"
    done
  fi
fi

# ---------------------------------------------------------------------------------------------
# experiments and runs
data_stages() {  # data_stages SOURCE-STAGE-JSON SENTENCES
  cat <<JSON
  "corpus": $1,
  "tokens": {"type": "tokenize", "inputs": {"text": "corpus.text"}, "params": {"format": "text8", "sentences": "$2"}},
  "vocab": {"type": "build-vocab", "inputs": {"tokens": "tokens.tokens"}, "params": {"min_count": 5}}
JSON
}
write_exp() {  # write_exp NAME SOURCE-STAGE-JSON SENTENCES [train]: the experiment file's path
  local file=$res/$1$([ "${4:-}" = train ] && echo -train || true).json
  {
    echo "{\"name\": \"$1$([ "${4:-}" = train ] && echo -train || true)\", \"stages\": {"
    data_stages "$2" "$3"
    if [ "${4:-}" = train ]; then
      cat <<JSON
  ,
  "subsample": {"type": "subsample", "inputs": {"vocab": "vocab.vocab"}, "params": {"t": 1e-4}},
  "train": {"type": "train", "inputs": {"tokens": "tokens.tokens", "vocab": "vocab.vocab", "subsample": "subsample.subsample"},
            "params": {"model": "sgns", "dim": 100, "window": 5, "negatives": 5, "epochs": 1, "threads": 2, "seed": 1}}
JSON
    fi
    echo "}}"
  } > "$file"
  echo "$file"
}

# last_line FILE...: the last non-blank line of the first FILE that has one (an error message), ≤ 300 chars
last_line() {
  local f l
  for f in "$@"; do
    l=$(grep -v '^[[:space:]]*$' "$f" 2>/dev/null | tail -n 1 | tr '\t' ' ' | cut -c1-300 || true)
    [ -z "$l" ] || { echo "$l"; return 0; }
  done
  echo "(no message)"
}

rows=$res/rows.tsv runs=$res/runs.tsv failed=0
: > "$rows"; : > "$runs"
# rows.tsv: label, text bytes, files, expected tokens, expected sentences (- : not checked), k (- : not a corpus-S)
# runs.tsv: label, repeat, exit status, wall s, peak RSS KB, tokenize s, sum of the stages' s, tokens, sentences, message

# run_row LABEL NAME EXP BYTES FILES EXPECT_TOKENS EXPECT_SENTENCES K: the repeats of one corpus
run_row() {
  local label=$1 name=$2 exp=$3 r rc L store=$stores/$2 wall rss tok sum ntok nsent msg
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$4" "$5" "$6" "$7" "$8" >> "$rows"
  for ((r = 1; r <= repeats; r++)); do
    L=$res/logs/$name-r$r
    rm -rf "$store"
    log "$label, run $r/$repeats (fresh store)"
    rc=0
    /usr/bin/time -f "%e %M" -o "$L.time" "$bin" run "$exp" --store "$store" --progress none < /dev/null > "$L.out" 2> "$L.err" || rc=$?
    read -r wall rss < <(tail -n 1 "$L.time")
    tok=$(awk '$2 == "tokenize" && $3 == "ran" && $4 == "in" { print $5 }' "$L.out")
    sum=$(awk '$3 == "ran" && $4 == "in" { s += $5 } END { printf "%.2f", s }' "$L.out")
    ntok=$(sed -n 's/.* tokenize *ran in [0-9.]* s: \([0-9,]*\) tokens.*/\1/p' "$L.out" | tr -d ,)
    nsent=$(sed -n 's/.* tokenize *ran in .* in \([0-9,]*\) sentences.*/\1/p' "$L.out" | tr -d ,)
    msg=""
    if [ $rc != 0 ]; then
      msg="exit $rc: $(last_line "$L.err" "$L.out")"
    elif [ -z "$tok" ] || [ -z "$ntok" ]; then
      rc=1 msg="no tokenize \"ran in\" line in the output (see $L.out)"
    elif [ "$ntok" != "$6" ]; then
      rc=1 msg="tokenize read $ntok tokens, expected $6"
    elif [ "$7" != - ] && [ "${nsent:-?}" != "$7" ]; then
      rc=1 msg="tokenize found ${nsent:-no} sentences, expected $7 (the lines)"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$r" "$rc" "$wall" "$rss" "${tok:--}" "$sum" \
      "${ntok:--}" "${nsent:--}" "$msg" >> "$runs"
    if [ $rc != 0 ]; then
      log "    FAILED: $msg (logs: $L.out, $L.err)"
      failed=$((failed + 1))
      return 1
    fi
    log "    wall $wall s, peak RSS $((rss / 1024)) MB, tokenize $tok s, $(grouped "$ntok") tokens"
  done
  return 0
}

# train_once LABEL NAME EXP: one training run in the row's last store, /proc sampled every 0.2 s
train_report=$res/train.md
train_once() {
  local label=$1 name=$2 exp=$3 store=$stores/$2 L=$res/logs/$2-train rc=0 tpid pid="" n=0 k v
  local vm=0 anon=0 file=0 pvm=0 panon=0 pfile=0 big tokinfo
  big=$(find "$store/objects" -type f -printf '%s %p\n' | sort -n | tail -n 1)
  tokinfo=$(python3 - "$store" <<'PY'
import glob, json, os, sys
for p in glob.glob(os.path.join(sys.argv[1], "runs", "*.json")):
    try:
        r = json.load(open(p))
    except (OSError, ValueError):
        continue
    if r.get("type") == "tokenize":
        t = r["outputs"]["tokens"]
        print(t["digest"], t["bytes"], r.get("metrics", {}).get("tokens", "?"))
        break
PY
) || tokinfo=""
  log "training on $label: subsample → train (sgns, 1 epoch, 2 threads), /proc sampled every 0.2 s"
  /usr/bin/time -f "%e %M" -o "$L.time" "$bin" run "$exp" --store "$store" --progress none < /dev/null > "$L.out" 2> "$L.err" &
  tpid=$!
  sampler=$tpid
  while kill -0 "$tpid" 2>/dev/null; do
    [ -n "$pid" ] || pid=$(pgrep -P "$tpid" | head -n 1 || true)
    if [ -n "$pid" ]; then
      vm="" anon="" file=""
      { while read -r k v _; do
          case $k in VmRSS:) vm=$v ;; RssAnon:) anon=$v ;; RssFile:) file=$v ;; esac
        done < "/proc/$pid/status"; } 2>/dev/null || true
      if [ -n "$vm" ]; then
        n=$((n + 1))
        [ "$vm" -le $pvm ] || pvm=$vm
        [ "${anon:-0}" -le $panon ] || panon=$anon
        [ "${file:-0}" -le $pfile ] || pfile=$file
      fi
    fi
    sleep 0.2
  done
  wait "$tpid" || rc=$?
  sampler=""
  local wall rss wps tsec stages
  read -r wall rss < <(tail -n 1 "$L.time")
  wps=$(grep -E ' train +ran in ' "$L.out" | grep -o -E '[0-9.]+[kKMG]? words/s' | head -n 1 || true)
  # "ran in 8.12 s:" or, past a minute, "ran in 2:24:" (minutes:seconds); the unit goes with it.
  tsec=$(awk '$2 == "train" && $3 == "ran" && $4 == "in" { t = $5; sub(/:$/, "", t); print (t ~ /:/ ? t " (m:ss)" : t " s") }' "$L.out")
  stages=$(grep -E '^[0-9]+ stages: ' "$L.out" | sed 's/, in [0-9.]* s$//' || true)
  {
    echo
    echo "## One epoch of training on $label"
    echo
    echo "subsample (t 1e-4) → train (sgns, dim 100, window 5, negatives 5, 1 epoch, 2 threads, seed 1), in the store of"
    echo "$label's last run (data stages reused: ${stages:-?})."
    echo
    if [ $rc != 0 ] || [ -z "$wps" ]; then
      if [ $rc != 0 ]; then echo "**FAILED** (exit $rc): $(last_line "$L.err" "$L.out") (logs: $L.out, $L.err)"
      else echo "**FAILED**: no words/s in a train \"ran in\" line of the output (logs: $L.out, $L.err)"; fi
    else
      echo "- words/s: **$wps** (the train stage's summary line); train stage ran in $tsec"
      echo "- process: wall $wall s, peak RSS $((rss / 1024)) MB (/usr/bin/time)"
      echo "- /proc/$pid/status, $n samples every 0.2 s: peak VmRSS $((pvm / 1024)) MB, peak RssAnon **$((panon / 1024)) MB**" \
           "(model tables and buffers), peak RssFile **$((pfile / 1024)) MB** (memory-mapped token ids, plus the binary's and libraries' pages)"
    fi
    if [ -n "$big" ]; then
      local bbytes=${big%% *} bpath=${big#* } note=""
      if [ -n "$tokinfo" ]; then
        read -r tdig tbytes ttok <<< "$tokinfo"
        if [ "$(basename "$(dirname "$bpath")")$(basename "$bpath")" = "$tdig" ]; then note="the tokens artifact (tokenize run record: $ttok tokens)"
        else note="not the tokens artifact, which is $((tbytes / 1048576)) MB ($tbytes bytes)"; fi
      fi
      echo "- tokens artifact: $((bbytes / 1048576)) MB ($bbytes bytes): the largest file under the store's objects/ after the data" \
           "stages, ${bpath#"$store"/}${note:+, $note}; compare RssFile with it"
    fi
  } > "$train_report"
  if [ $rc != 0 ] || [ -z "$wps" ]; then
    log "    training FAILED (logs: $L.out, $L.err)"; failed=$((failed + 1))
  else
    log "    $wps, wall $wall s, peak RSS $((rss / 1024)) MB, peak RssAnon $((panon / 1024)) MB, RssFile $((pfile / 1024)) MB"
  fi
}

: > "$train_report"
if [ $train = 1 ] && [ -z "$ktrain" ]; then
  printf '\n## Training\n\nnot run: no size is ≤ 1 GB (training runs on the 1 GB corpus, else the largest size ≤ 1)\n' > "$train_report"
fi
for k in "${ks[@]}"; do
  g=$(gb "$k") f=$(corpus_file "$k") name=corpus-$(gb "$k" | tr . p)
  exp=$(write_exp "$name" "{\"type\": \"read-text\", \"params\": {\"path\": \"$f\"}}" lines)
  row_ok=1
  run_row "corpus-$g" "$name" "$exp" $((k * lines_bytes)) 1 $((k * lines_words)) $((k * lines_lines)) "$k" || row_ok=0
  if [ $train = 1 ] && [ "$k" = "$ktrain" ]; then
    if [ $row_ok = 1 ]; then
      train_once "corpus-$g" "$name" "$(write_exp "$name" "{\"type\": \"read-text\", \"params\": {\"path\": \"$f\"}}" lines train)"
    else
      printf '\n## One epoch of training on corpus-%s\n\nnot run: the data-stage runs of corpus-%s failed\n' "$g" "$g" > "$train_report"
    fi
  fi
  [ $keep = 1 ] || rm -rf "${stores:?}/$name"
  if [ "$k" = 10 ] && [ $has_folder = 1 ]; then
    exp=$(write_exp folder-1 "{\"type\": \"read-text\", \"params\": {\"path\": \"$folder\"}}" lines)
    run_row "folder-1/" folder-1 "$exp" $((10 * lines_bytes)) 10 $((10 * lines_words)) $((10 * lines_lines)) - || true
    [ $keep = 1 ] || rm -rf "${stores:?}/folder-1"
  fi
done
exp=$(write_exp en-corpus-zip "{\"type\": \"unzip\", \"params\": {\"path\": \"$corpus\", \"member\": \"$member\"}}" none)
run_row "$(basename "$corpus") (unzip)" en-corpus-zip "$exp" "$member_bytes" "1 (member)" "$lines_words" - - || true
[ $keep = 1 ] || rm -rf "${stores:?}/en-corpus-zip"

# ---------------------------------------------------------------------------------------------
# results
python3 - "$rows" "$runs" "$repeats" > "$res/table.md" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
runs = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if l.strip()]
repeats = int(sys.argv[3])

def g(n):
    return f"{n:,}"

def med(xs):
    return statistics.median(xs)

print("| corpus | text bytes | files | wall s (median, min–max) | MB/s (median) | tokenize s (median) | peak RSS MB (median, max) |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
summary, outside, failures = {}, [], []
for label, nbytes, files, _, _, k in rows:
    nbytes = int(nbytes)
    ok = [r for r in runs if r[0] == label and r[2] == "0"]
    bad = [r for r in runs if r[0] == label and r[2] != "0"]
    if bad:
        failures.append(f"{label}, run {bad[0][1]}: {bad[0][9]}")
    if not ok:
        print(f"| {label} | {g(nbytes)} | {files} | **failed** | | | |")
        continue
    walls = [float(r[3]) for r in ok]
    rss = [int(r[4]) / 1024 for r in ok]
    tok = [float(r[5]) for r in ok]
    w = med(walls)
    mbs = nbytes / w / 1e6
    part = "" if len(ok) == repeats else f" ({len(ok)} of {repeats} runs)"
    print(f"| {label}{part} | {g(nbytes)} | {files} | {w:.2f} ({min(walls):.2f}–{max(walls):.2f}) | {mbs:.0f} "
          f"| {med(tok):.2f} | {med(rss):.0f} ({max(rss):.0f}) |")
    outside.append(f"{label} {med([float(r[3]) - float(r[6]) for r in ok]):.2f} s")
    if k != "-":
        summary[int(k)] = (label, nbytes, w, mbs, max(rss))
print()
print("Every run started from an empty store, so its wall time includes hashing the whole input (SHA-256, the "
      "content digest the store keys read-text and unzip by) before any stage runs: part of the honest "
      "end-to-end figure. Wall time outside the stages' own \"ran in\" (hashing, process start, opening the "
      "store), median: " + "; ".join(outside) + ".")
print("MB = 10^6 bytes of text; peak RSS from /usr/bin/time (KB ÷ 1024). Token and line counts of every run "
      "were checked against lines.txt's.")
print()
if summary:
    kmax = max(summary)
    label, nbytes, w, mbs, rss = summary[kmax]
    v1 = "met" if mbs >= 150 else "NOT met"
    v2 = "met" if rss < 600 else "NOT met"
    print(f"Targets at the largest size ({label}, {nbytes / 1e9:.1f} GB): end to end {mbs:.0f} MB/s ≥ 150: **{v1}**; "
          f"peak RSS {rss:.0f} MB (max over runs) < 600 MB: **{v2}**.")
    per = [(k, summary[k][2] / (summary[k][1] / 1e9)) for k in sorted(summary)]
    line = "Seconds per GB: " + ", ".join(f"{summary[k][0]} {s:.2f}" for k, s in per)
    if len(per) > 1:
        # Linear = a fixed cost plus a cost per GB that does not grow: the marginal seconds per GB
        # between consecutive sizes agree (within ±20% of the last one), and the fixed cost (the
        # line through the two largest sizes, at 0 GB) is small.
        ks = sorted(summary)
        gb = [summary[k][1] / 1e9 for k in ks]
        wall = [summary[k][2] for k in ks]
        slopes = [(wall[i + 1] - wall[i]) / (gb[i + 1] - gb[i]) for i in range(len(ks) - 1)]
        ref = slopes[-1]
        dev = max(abs(s / ref - 1) for s in slopes) if ref > 0 else float("inf")
        fixed = wall[-1] - ref * gb[-1]
        verdict = "linear" if dev <= 0.20 else "NOT linear"
        line += ("; marginal s/GB between sizes: " + ", ".join(
            f"{summary[ks[i]][0]}→{summary[ks[i + 1]][0]} {s:.2f}" for i, s in enumerate(slopes)))
        line += (f": **{verdict}** in size (marginal costs within {dev * 100:.0f}% of the last; linear means all "
                 f"within ±20%), with a fixed cost of {fixed:.2f} s (process start, opening the store).")
    else:
        line += " (one size only: linearity not checked)."
    print(line)
if failures:
    print()
    print("**Failed runs**: " + "; ".join(failures))
PY
{
  echo
  echo "# Data stages at corpus scale"
  echo
  echo "read-text → tokenize (text8, sentences lines) → build-vocab (min_count 5) on corpus-S.txt (lines.txt × round(S × 10))" \
       "$([ $has_folder = 1 ] && echo "and folder-1/ (10 hard links to lines.txt)" || true)" | sed 's/ *$/;/'
  echo "unzip → tokenize (text8, sentences none) → build-vocab on $(basename "$corpus");" \
       "$repeats run(s) each, a fresh store every run. lines.txt: $(basename "$corpus")'s $member cut into lines of 5–40 words" \
       "($(grouped "$lines_bytes") bytes, $(grouped "$lines_words") words, $(grouped "$lines_lines") lines)."
  echo
  cat "$res/table.md"
  cat "$train_report"
  echo
  echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "Corpora kept for reuse in $work (lines.txt, corpus-*.txt$([ $has_folder = 1 ] && echo ", folder-1/" || true));" \
       "delete them with: rm -rf $work"
  [ $keep = 1 ] && echo "Stores kept in $stores." || true
  echo "Experiment files, logs, rows.tsv and runs.tsv of this run: $res"
} > "$res/block.md"
cat "$res/block.md"
{ echo "$machine"; cat "$res/block.md"; } > "$res/results.md"; rm -f "$res/block.md"
if [ $failed -gt 0 ]; then
  die "$failed run(s) failed; see the table and $res/logs"
fi
