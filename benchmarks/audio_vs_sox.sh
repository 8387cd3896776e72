#!/usr/bin/env bash
# Decode + downmix + resample of a 44.1 kHz stereo FLAC to 16 kHz mono s16le: `copilot convert`
# against sox (its default "high" rate quality, and -q) on the same file, alternating, with
# hyperfine. Usage: benchmarks/audio_vs_sox.sh [SECONDS] [RUNS]  (defaults: 600 s, 5 runs)
# Needs a release build (make build), sox and hyperfine (make deps installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_OF_AUDIO=${1:-600}
RUNS=${2:-5}
BIN=$PWD/.build/release/copilot
[ -x "$BIN" ] || { echo "build first: make build" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# Two tones and some noise per channel, like the bench suite's input.
sox -n -r 44100 -c 2 -b 16 "$WORK/in.flac" synth "$SECONDS_OF_AUDIO" sine 220 sine 330 \
    synth "$SECONDS_OF_AUDIO" whitenoise mix vol 0.5
hyperfine --runs "$RUNS" --warmup 1 -N --export-markdown "$WORK/table.md" \
    -n "copilot convert (fastest sinc)" "$BIN convert $WORK/in.flac --out-rate 16000 --to $WORK/copilot.wav" \
    -n "sox (rate -h, default)" "sox $WORK/in.flac -r 16000 -c 1 -b 16 $WORK/sox.wav" \
    -n "sox -q (rate -q, quick)" "sox $WORK/in.flac -r 16000 -c 1 -b 16 $WORK/soxq.wav rate -q 16000" >&2
cat "$WORK/table.md"
echo
echo "audio: $SECONDS_OF_AUDIO s per run; times real time = $SECONDS_OF_AUDIO / mean"
