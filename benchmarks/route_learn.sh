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
# Usage: benchmarks/route_learn.sh [seeds, default 20]
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${1:-20}
BIN=${BIN:-.build/release/copilot}
[ -x "$BIN" ] || { echo "build first: swift build -c release (or set BIN)" >&2; exit 2; }
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
