#!/usr/bin/env bash
# `copilot bloom dedup` against `awk '!seen[$0]++'` on the same few million lines: wall time
# CPU time and peak RSS from /usr/bin/time -v, and whether the outputs agree.
#
# Input: LINES lines (default 4M) of ~30 bytes drawn with repeats from UNIQUE distinct values
# (default 2M), generated deterministically by Python into benchmarks/out/ (git-ignored).
# Prerequisites: a release build (make build), /usr/bin/time (Debian package
# `time`), awk (mawk on Debian; gawk if installed is used as well).
# Run: benchmarks/bloom_dedup_vs_awk.sh [LINES] [UNIQUE]
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-4000000}
UNIQUE=${2:-2000000}
BIN=.build/release/copilot
OUT=benchmarks/out/dedup
mkdir -p "$OUT"
INPUT="$OUT/lines-$LINES-$UNIQUE.txt"
if [ ! -s "$INPUT" ]; then
  python3 - "$LINES" "$UNIQUE" "$INPUT" <<'PY'
import random, sys
lines, unique, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = random.Random(42)
with open(path, "w") as f:
    for i in range(lines):
        v = i if i < unique else rng.randrange(unique)  # every value once, then repeats
        f.write(f"user-{v:09d}-{(v * 2654435761) & 0xffffffff:08x}\n")
PY
  # Shuffle so repeats are spread through the stream (deterministic seed).
  shuf --random-source=<(yes) "$INPUT" -o "$INPUT"
fi
echo "input: $(wc -l < "$INPUT") lines, $(du -h "$INPUT" | cut -f1), $(sort -u "$INPUT" | wc -l) distinct"

run() {  # name, command...
  local name=$1; shift
  local best_s="" best_cpu="" rss=""
  for _ in 1 2 3; do
    /usr/bin/time -v -o "$OUT/time.txt" "$@" < "$INPUT" > "$OUT/$name.out"
    local s; s=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); print (n==3 ? t[1]*3600+t[2]*60+t[3] : t[1]*60+t[2])}' "$OUT/time.txt")
    local r; r=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/time.txt")
    local c; c=$(awk -F': ' '/User time|System time/ {t += $2} END {print t}' "$OUT/time.txt")
    if [ -z "$best_s" ] || awk "BEGIN{exit !($s < $best_s)}"; then best_s=$s; fi
    if [ -z "$best_cpu" ] || awk "BEGIN{exit !($c < $best_cpu)}"; then best_cpu=$c; fi
    rss=$r
  done
  printf '| %s | %.2f s | %.2f s | %d MiB | %d |\n' "$name" "$best_s" "$best_cpu" $((rss / 1024)) "$(wc -l < "$OUT/$name.out")"
}

echo "| command | wall time (best of 3) | CPU user+sys (best of 3) | peak RSS | lines out |"
echo "|---|---:|---:|---:|---:|"
run "awk (mawk)" awk '!seen[$0]++'
if command -v gawk >/dev/null; then run "gawk" gawk '!seen[$0]++'; fi
run "copilot bloom dedup" "$BIN" bloom dedup
run "copilot bloom dedup --capacity $LINES" "$BIN" bloom dedup --capacity "$LINES"
if cmp -s "$OUT/awk (mawk).out" "$OUT/copilot bloom dedup.out"; then
  echo "outputs identical"
else
  echo "outputs differ in $(diff "$OUT/awk (mawk).out" "$OUT/copilot bloom dedup.out" | grep -c '^[<>]') lines (false positives drop new lines)"
fi
