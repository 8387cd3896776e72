#!/usr/bin/env bash
# Route learns: the learning policies and the tuner in simulated worlds, then their speed.
#   1. `copilot route simulate`: Thompson sampling against the prototype's static weights and
#      epsilon-greedy, 5 task types x 4 models, one provider losing 0.3 of quality halfway;
#      both worlds (standard: the best leads by 0.17-0.21; close-call: by 0.085-0.105) and
#      both kinds of feedback (thumbs up/down, graded scores).
#   2. `copilot route tune --simulate`: evaluations until the tuner's best point is within 5%
#      of a noisy synthetic objective's optimum, Gaussian process + expected improvement
#      against random search, 300 evaluations per run.
#   3. `copilot bench --filter route/`: a pick with learning on (10 candidates), a tuning
#      suggestion with 200 observations and a hyperparameter fit, against the reference in
#      the same run.
#   4. `copilot consensus --ask` with 5 mock experts (50-90 ms each): what the circle adds over
#      its slowest expert (overhead_ms), over 20 runs.
# Usage: benchmarks/route_learn.sh [seeds, default 20]
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${1:-20}
BIN=${BIN:-.build/release/copilot}
[ -x "$BIN" ] || { echo "build first: make build (or set BIN)" >&2; exit 2; }
echo "# route learns, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
for world in standard close-call; do
    for feedback in thumbs graded; do
        echo
        "$BIN" route simulate --seeds "$SEEDS" --world "$world" --feedback "$feedback"
    done
done
echo
"$BIN" route tune --simulate --seeds "$SEEDS" --budget 300
echo
"$BIN" bench --filter "route/"
echo
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for i in 1 2 3 4 5; do
    printf '[[route.providers]]\nname = "e%s"\nkind = "mock"\nmodels = ["m%s"]\nmock_reply = "The launch moves to March %s."\nmock_delay_ms = %s\n\n' \
        "$i" "$i" "$(( i % 2 + 10 ))" "$(( 40 + 10 * i ))" >> "$WORK/experts.toml"
done
for i in $(seq 20); do
    "$BIN" consensus --config "$WORK/experts.toml" --ask "When is the launch?" --experts 5 --json > "$WORK/run$i.json" 2>/dev/null
done
python3 - "$WORK"/run*.json <<'PY'
import json, sys, statistics
rows = [json.load(open(path)) for path in sys.argv[1:]]
over = sorted(r["overhead_ms"] for r in rows)
slow = statistics.median(r["slowest_expert_ms"] for r in rows)
print(f"consensus --ask, 5 mock experts (50-90 ms), {len(rows)} runs: overhead over the slowest expert "
      f"median {statistics.median(over):.2f} ms, p90 {over[int(0.9 * (len(over) - 1))]:.2f} ms (slowest expert median {slow:.1f} ms)")
PY
