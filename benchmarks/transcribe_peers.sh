#!/usr/bin/env bash
# Runs the transcription peer benchmark (benchmarks/transcribe_peers.py) from the repo root:
# makes benchmarks/.venv with faster-whisper and pywhispercpp, fetches tiny.en (make model),
# then times faster-whisper, whisper.cpp and (when built) copilot on the same audio.
#   benchmarks/transcribe_peers.sh [--runs N] [--threads N] [--clips short,long]
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x benchmarks/.venv/bin/python ]]; then
    python3 -m venv benchmarks/.venv
fi
if ! benchmarks/.venv/bin/python -c "import faster_whisper, pywhispercpp" 2>/dev/null; then
    benchmarks/.venv/bin/pip install -q faster-whisper==1.2.1 pywhispercpp==1.5.1
fi
make model
exec benchmarks/.venv/bin/python benchmarks/transcribe_peers.py "$@"
