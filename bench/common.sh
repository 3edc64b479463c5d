# Shared by bench/methods.sh and bench/map.sh (sourced after they set `caller` and `repo` and
# define `log` and `die`).

# A relative path given by the caller: from the caller's directory, else from the repo root.
from_caller() { case $1 in /*) echo "$1" ;; *) if [ -e "$caller/$1" ]; then echo "$caller/$1"; else echo "$repo/$1"; fi ;; esac; }

# The w2v-pipe binary into $bin (as bench/run.py: built unless $1 is 0, after any other swift
# build; $W2V_PIPE_BIN, when set, is used as it is).
release_binary() {
  bin=${W2V_PIPE_BIN:-$repo/.build/release/w2v-pipe}
  if [ "$1" = 1 ] && [ -z "${W2V_PIPE_BIN:-}" ]; then
    local waited=0
    while pgrep -f swift-build >/dev/null; do
      [ $waited = 0 ] && log "another swift build is running; waiting for it to finish"
      sleep 10; waited=$((waited + 10))
      [ $waited -lt 1800 ] || die "gave up waiting for another swift build"
    done
    log "swift build -c release --product w2v-pipe"
    swift build -c release --product w2v-pipe >/dev/null || die "swift build failed"
  fi
  [ -x "$bin" ] || die "no w2v-pipe binary at $bin (build it, or set W2V_PIPE_BIN)"
}

# Machine, date, load and our binary's version and commit (printed with the tables).
machine_info() {
  echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GB," \
       "flags: $(grep -o -w -E 'avx2|avx512f|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "w2v-pipe: $("$bin" --version 2>/dev/null) ($bin, built $(date -u -r "$bin" '+%Y-%m-%d %H:%M UTC')), repo $(git rev-parse --short HEAD)$(git status --porcelain -- Sources Package.swift | grep -q . && echo +dirty || true)"
}
