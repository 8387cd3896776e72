#!/usr/bin/env bash
# Peak memory and wall time of `copilot transcribe FILE` with two binaries (before and after
# streaming windows, issue 13 item 5), the VAD default and --no-vad, on clips of 1 min, 10 min
# and 1 h (the "pauses" clip of benchmarks/transcribe_peers.py, nine sentences and 3-8 s pauses,
# repeated), and whether both binaries print the same transcript.
#
#   benchmarks/transcribe_streaming.sh BEFORE AFTER [CLIP...]   (default clips: min1 min10 hour)
#
# Clips are benchmarks/out/stream/CLIP.wav (make them with --make). Runs alternate binaries,
# one run each, 2 threads (MODES="vad" or "no-vad" runs one mode); peak RSS and wall time come from /usr/bin/time -v. Prints one
# markdown row per clip and mode; outputs stay in benchmarks/out/stream/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/out/stream
if [[ "${1:-}" == "--make" ]]; then
    mkdir -p "$out"
    python3 -c "
import sys; sys.path.insert(0, 'benchmarks')
import transcribe_peers as t
from pathlib import Path
t.make_clips(Path('$out'), ['pauses'])"
    cp "$out/pauses.wav" "$out/min1.wav"
    sox "$out/pauses.wav" "$out/min10.wav" repeat 9
    sox "$out/pauses.wav" "$out/hour.wav" repeat 59
    exit 0
fi
before=$1 after=$2
shift 2
clips=("$@")
[[ ${#clips[@]} -gt 0 ]] || clips=(min1 min10 hour)
model=models/tiny.en
echo "| clip | mode | before: peak RSS | after: peak RSS | before: wall | after: wall | after: audio held | same transcript |"
echo "|---|---|---|---|---|---|---|---|"
for clip in "${clips[@]}"; do
    wav=$out/$clip.wav
    seconds=$(soxi -D "$wav")
    for mode in ${MODES:-vad no-vad}; do
        flag=--vad
        [[ $mode == no-vad ]] && flag=--no-vad
        declare -A rss wall
        for side in before after; do
            binary=$before
            [[ $side == after ]] && binary=$after
            /usr/bin/time -v "$binary" transcribe "$wav" $flag --threads 2 --model "$model" --format json --stats \
                > "$out/$clip.$mode.$side.json" 2> "$out/$clip.$mode.$side.log"
            rss[$side]=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f MB", $2 / 1024}' "$out/$clip.$mode.$side.log")
            wall[$side]=$(awk '/Elapsed \(wall clock\)/ {n = split($NF, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; printf "%.1f s", s}' "$out/$clip.$mode.$side.log")
        done
        held=$(sed -n 's/^audio held: at most \(.*\) at once$/\1/p' "$out/$clip.$mode.after.log")
        same=no
        cmp -s "$out/$clip.$mode.before.json" "$out/$clip.$mode.after.json" && same=yes
        printf "| %s (%.0f s) | %s | %s | %s | %s | %s | %s | %s |\n" "$clip" "$seconds" "$mode" \
            "${rss[before]}" "${rss[after]}" "${wall[before]}" "${wall[after]}" "${held:-?}" "$same"
    done
done
