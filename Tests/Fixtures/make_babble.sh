#!/usr/bin/env bash
# Synthesises six-talker babble with espeak-ng: six voices each saying other sentences, mixed
# at equal levels and cut to the shortest talker, so every moment has all six at once. A
# 16 kHz mono 16-bit WAV, for tests and benchmarks of what is not one person speaking.
#
#   Tests/Fixtures/make_babble.sh OUT.wav
#
# Needs espeak-ng and sox (Debian packages of the same names).
set -euo pipefail
if [[ $# -ne 1 ]]; then
    echo "usage: make_babble.sh OUT.wav" >&2
    exit 64
fi
for tool in espeak-ng sox soxi; do
    command -v "$tool" >/dev/null || { echo "make_babble.sh: $tool not found; apt-get install espeak-ng sox" >&2; exit 69; }
done
here="$(cd "$(dirname "$0")" && pwd)"
out="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

voices=(en-us en-gb en+f2 en+m2 en+f1 en-us+f3)
texts=(
    "The garden behind the old house was full of roses and the children played there every summer afternoon."
    "Our train was late again this morning so I missed the first half of the quarterly planning meeting."
    "She bought fresh bread, two kinds of cheese and a bottle of olive oil at the market on Saturday."
    "The engineers found the fault in the cooling system and replaced the pump before the weekend."
    "When the storm finally passed, the fishermen pulled their boats back into the harbour at dawn."
    "Remember to water the plants, feed the cat and lock the back door before you leave for the airport."
)
parts=()
shortest=
for i in "${!voices[@]}"; do
    "$here/make_speech.sh" --voice "${voices[$i]}" --speed $((150 + 8 * i)) "$work/talker$i.wav" "${texts[$i]}" "${texts[$(((i + 1) % 6))]}"
    length=$(soxi -D "$work/talker$i.wav")
    if [[ -z "$shortest" ]] || awk -v a="$length" -v b="$shortest" 'BEGIN { exit !(a < b) }'; then shortest=$length; fi
    parts+=("$work/talker$i.wav")
done
sox -m "${parts[@]}" "$work/mixed.wav" trim 0 "$shortest" norm -3
mkdir -p "$(dirname "$out")"
mv "$work/mixed.wav" "$out"
