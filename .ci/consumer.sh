#!/usr/bin/env bash
# Builds examples/consumer against this commit as a *versioned* dependency (a clone with a tag,
# reached by URL), the way another package would depend on w2v-pipe, and runs it on vectors that
# w2v-pipe exported. Usage: .ci/consumer.sh VECTORS_FILE WORD
set -euo pipefail
cd "$(dirname "$0")/.."
vectors=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
word=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The committed tree at HEAD, tagged 0.1.0 in a throwaway clone (nothing is tagged here).
git clone -q --no-local . "$work/w2v-pipe"
git -C "$work/w2v-pipe" -c user.name=ci -c user.email=ci@localhost tag -a 0.1.0 -m "consumer check"
cp -r examples/consumer "$work/consumer"
rm -rf "$work/consumer/.build"
export W2V_PIPE_URL="file://$work/w2v-pipe"
swift build --package-path "$work/consumer" 2>&1 | tail -n 3
"$work/consumer/.build/debug/nearest" "$vectors" "$word" 5 | tee "$work/out.txt"
grep -q "nearest to $word" "$work/out.txt"
echo "consumer: ok (w2v-pipe 0.1.0 resolved by URL and version)"
