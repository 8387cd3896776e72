#!/usr/bin/env bash
# Synthesises speech with espeak-ng into a 16 kHz mono 16-bit WAV, for tests and benchmarks.
#
#   Tests/Fixtures/make_speech.sh [--pause SECONDS] [--voice VOICE] [--speed WPM] OUT.wav SENTENCE...
#
# Each SENTENCE is spoken in turn; with --pause, that much silence separates them (and pads
# both ends). Needs espeak-ng and sox (Debian packages of the same names).
# Example:
#   Tests/Fixtures/make_speech.sh --pause 3 /tmp/two.wav "Hello world." "Good morning."
set -euo pipefail

pause=0
voice=en-us
speed=160
while [[ $# -gt 0 ]]; do
    case "$1" in
        --pause) pause="$2"; shift 2 ;;
        --voice) voice="$2"; shift 2 ;;
        --speed) speed="$2"; shift 2 ;;
        --) shift; break ;;
        -*) echo "make_speech.sh: unknown option $1" >&2; exit 64 ;;
        *) break ;;
    esac
done
if [[ $# -lt 2 ]]; then
    echo "usage: make_speech.sh [--pause SECONDS] [--voice VOICE] [--speed WPM] OUT.wav SENTENCE..." >&2
    exit 64
fi
for tool in espeak-ng sox; do
    command -v "$tool" >/dev/null || { echo "make_speech.sh: $tool not found; apt-get install $tool" >&2; exit 69; }
done

out="$1"; shift
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

parts=()
index=0
for sentence in "$@"; do
    espeak-ng -v "$voice" -s "$speed" -w "$work/raw$index.wav" -- "$sentence"
    sox "$work/raw$index.wav" -r 16000 -c 1 -b 16 "$work/part$index.wav"
    if [[ "$pause" != 0 ]]; then
        sox "$work/part$index.wav" "$work/padded$index.wav" pad "$pause" 0
        parts+=("$work/padded$index.wav")
    else
        parts+=("$work/part$index.wav")
    fi
    index=$((index + 1))
done
if [[ "$pause" != 0 ]]; then
    sox "${parts[@]}" "$work/joined.wav" pad 0 "$pause"
else
    sox "${parts[@]}" "$work/joined.wav"
fi
mkdir -p "$(dirname "$out")"
mv "$work/joined.wav" "$out"
