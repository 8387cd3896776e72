#!/usr/bin/env bash
# Checks that a copilot binary (the release build: float16 embedding, AVX2 kernels, the path
# users run) transcribes the short espeak-ng clip into exactly faster-whisper's tokens, with
# its average log-probability and no-speech probability within 0.002.
#
#   Tests/Fixtures/check_release_tokens.sh [BINARY]     # default .build/release/copilot
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="${1:-$here/../../.build/release/copilot}"
fixture="$here/faster_whisper_short_clip.json"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mapfile -t sentences < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["sentences"]))' "$fixture")
"$here/make_speech.sh" "$work/clip.wav" "${sentences[@]}" 2>/dev/null
# --no-vad --beam-size 1: the fixture is faster-whisper with vad_filter=False and beam_size=1
# (every 30 s window, greedy); compare like with like.
"$binary" transcribe "$work/clip.wav" --no-vad --beam-size 1 --format json --threads 2 > "$work/out.json"
python3 - "$fixture" "$work/out.json" "$binary" <<'PY'
import json, sys
expected, got, binary = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
tokens = [s["tokens"] for s in got["segments"]]
problems = []
if tokens != expected["tokens"]:
    problems.append(f"tokens {tokens} != faster-whisper's {expected['tokens']}")
for s in got["segments"]:
    if abs(s["avg_logprob"] - expected["avg_logprob"]) > 0.002 or abs(s["no_speech_prob"] - expected["no_speech_prob"]) > 0.002:
        problems.append(f"segment at {s['start']}: avg_logprob {s['avg_logprob']}, no_speech_prob {s['no_speech_prob']}")
if problems:
    print(f"check_release_tokens: {binary} disagrees with faster-whisper: " + "; ".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"check_release_tokens: {binary}: {len(tokens)} segments, tokens identical to faster-whisper's")
PY
