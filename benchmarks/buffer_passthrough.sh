#!/usr/bin/env bash
# Pass-through throughput of `copilot buffer` through pipes, against `cat` in the same run.
# Usage: benchmarks/buffer_passthrough.sh [BYTES] [RUNS]   (defaults: 2000000000 bytes, 3 runs)
# Needs a release build: make build
set -euo pipefail
cd "$(dirname "$0")/.."
BYTES=${1:-2000000000}
RUNS=${2:-3}
BIN=.build/release/copilot
[ -x "$BIN" ] || { echo "build first: make build" >&2; exit 1; }

# Wall seconds of one pipeline, from bash's monotonic clock.
seconds() {
    local start=$EPOCHREALTIME
    eval "$1"
    local end=$EPOCHREALTIME
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.6f\n", b - a }'
}

best() { sort -g | head -1; }

declare -a cat_times buf_times
for ((i = 0; i < RUNS; i++)); do
    # Alternate the two so load drift hits both alike.
    cat_times+=("$(seconds "head -c $BYTES /dev/zero | cat > /dev/null")")
    buf_times+=("$(seconds "head -c $BYTES /dev/zero | $BIN buffer > /dev/null")")
done
cat_best=$(printf '%s\n' "${cat_times[@]}" | best)
buf_best=$(printf '%s\n' "${buf_times[@]}" | best)
printf '| pipeline | best of %d (s) | MB/s |\n|---|---:|---:|\n' "$RUNS"
mbps() { awk -v n="$BYTES" -v s="$1" 'BEGIN { printf "%.0f", n / s / 1e6 }'; }
printf '| head -c %d /dev/zero \\| cat | %.3f | %s |\n' "$BYTES" "$cat_best" "$(mbps "$cat_best")"
printf '| head -c %d /dev/zero \\| copilot buffer | %.3f | %s |\n' "$BYTES" "$buf_best" "$(mbps "$buf_best")"
# Correctness on the same path: random bytes come out unchanged.
head -c 10000000 /dev/urandom > /tmp/copilot-buffer-check.$$
$BIN buffer < /tmp/copilot-buffer-check.$$ | cmp -s - /tmp/copilot-buffer-check.$$ && echo "byte-for-byte: ok" || { echo "byte-for-byte: MISMATCH"; exit 1; }
rm -f /tmp/copilot-buffer-check.$$
