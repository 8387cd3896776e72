#!/usr/bin/env python3
"""Peer benchmark for `copilot transcribe`: faster-whisper and whisper.cpp on the same weights.

Builds clips with espeak-ng (Tests/Fixtures/make_speech.sh) and sox: a ~11 s clip of three known
sentences, a ~112 s long-form file (sentences separated by 3 s pauses), and the clips of issue 13:
"pauses" (nine short sentences with 3-8 s pauses, where decoding 30 s windows lost speech),
"noise" (a sentence after 100 s of quiet white noise), "silence" (a sentence, one hour of digital
silence, another sentence) and "repeat" (one sentence said three times in 19 s). Runs every peer in
its own subprocess, alternating peers run by run, and reports medians of wall time, the peak
RSS of the process (ru_maxrss) and the word error rate against the known text:
  - faster-whisper 1.2.1: fp32, beam 1, no VAD, `--threads` CPU threads (CTranslate2 model dir);
  - whisper.cpp (pywhispercpp wheel): the same weights converted by ../shared/tools/ct2_to_ggml.py;
  - copilot: `.build/release/copilot transcribe` (its default: VAD regions), when that binary and
    subcommand exist; copilot-no-vad: the same with --no-vad (faster-whisper's 30 s windows).
Peers' "load" and "transcribe" are timed inside the worker (interpreter start-up and imports
excluded); "wall" is the whole subprocess. copilot reports only wall (it includes its load).
Writes the `## transcribe` section of benchmarks/RESULTS.md.

With --word-times, compares word timestamps instead: faster-whisper with word_timestamps=True
(beam 1, no VAD) against `copilot transcribe --word-timestamps --format json`, with --no-vad (the
same windows) and with its default (VAD regions), on each clip; words are matched by text in order
(difflib) and the mean and max absolute differences of their starts and ends are written to the
`## word timestamps` section of benchmarks/RESULTS.md.

Run through benchmarks/transcribe_peers.sh (it makes the venv and the model first).
"""
import argparse
import difflib
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHORT_SENTENCES = [
    "A journey of a thousand miles begins with a single step.",
    "Please remember to bring your umbrella because it might rain later today.",
    "The library opens at nine in the morning.",
]
LONG_SENTENCES = [
    "My brother likes to cook pasta with fresh tomatoes and basil.",
    "The train to the city was delayed because of the heavy snow.",
    "We planted a small garden behind the house last spring.",
    "Our teacher asked us to read the first chapter before Monday.",
    "The museum has a new exhibition about ancient ships.",
    "Coffee tastes better when the beans are ground just before brewing.",
    "The children played football in the park until it got dark.",
    "She wrote a long letter to her grandmother who lives by the sea.",
    "The engineer checked every cable before turning on the power.",
    "A good night of sleep helps you think clearly the next day.",
    "The market sells fresh bread, cheese and fruit every Saturday.",
    "He forgot his keys at the office and had to go back.",
    "The old bridge across the river was painted bright red.",
    "Birds were singing in the trees when the sun came up.",
    "We will meet again at the station after lunch.",
    "The weather was warm and sunny for the whole week.",
]
MEETING_SENTENCES = [
    "Good morning everyone.",
    "Let us start with the budget.",
    "The numbers look better this quarter.",
    "Sales grew by ten percent.",
    "Costs stayed about the same.",
    "We need two more engineers.",
    "Hiring takes about three months.",
    "Any questions so far?",
    "Thank you all for coming.",
]
# Pauses between the meeting sentences, in seconds (0.5 s before the first and after the last).
MEETING_PAUSES = [6, 7, 5, 5, 4, 4, 8, 3]
REPEATED = "Our teacher asked us to read the first chapter before Monday."
# Clips longer than this many seconds get one timed run and no warm-up (--single-run-over).
LONG_CLIP_SECONDS = 600


# ---------------------------------------------------------------------------- word error rate
def words(text):
    """Lowercase; every char that is not a letter, digit or apostrophe becomes a space;
    apostrophes at word edges dropped (the same rule as Tests/.../WordErrorRate.swift)."""
    cleaned = "".join(c if (c.isalnum() or c == "'") else " " for c in text.lower())
    return [w.strip("'") for w in cleaned.split() if w.strip("'")]


def word_error_rate(reference, hypothesis):
    ref, hyp = words(reference), words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            current[j] = min(previous[j - 1] + (r != h), previous[j] + 1, current[j - 1] + 1)
        previous = current
    return previous[-1] / max(len(ref), 1)


def lost_sentences(sentences, hypothesis):
    """Sentences of which fewer than half the words are found in the hypothesis, each found
    word used once (so a sentence said three times needs three copies)."""
    remaining = {}
    for word in words(hypothesis):
        remaining[word] = remaining.get(word, 0) + 1
    lost = 0
    for sentence in sentences:
        found = 0
        for word in words(sentence):
            if remaining.get(word, 0) > 0:
                remaining[word] -= 1
                found += 1
        lost += found * 2 < len(words(sentence))
    return lost


# ---------------------------------------------------------------------------- workers
def worker(peer, audio, threads, model_dir, ggml, beam_size=1):
    """Runs inside the measured subprocess; prints one JSON line."""
    start = time.perf_counter()
    if peer == "faster-whisper":
        from faster_whisper import WhisperModel
        imported = time.perf_counter()
        model = WhisperModel(model_dir, device="cpu", compute_type="float32", cpu_threads=threads, num_workers=1)
        loaded = time.perf_counter()
        segments, _ = model.transcribe(audio, beam_size=beam_size, vad_filter=False)
        text = "".join(segment.text for segment in segments)
    elif peer == "faster-whisper-words":
        from faster_whisper import WhisperModel
        imported = time.perf_counter()
        model = WhisperModel(model_dir, device="cpu", compute_type="float32", cpu_threads=threads, num_workers=1)
        loaded = time.perf_counter()
        segments, _ = model.transcribe(audio, beam_size=1, vad_filter=False, word_timestamps=True)
        segments = [{"start": s.start, "end": s.end, "text": s.text,
                     "words": [{"start": w.start, "end": w.end, "word": w.word, "probability": w.probability}
                               for w in s.words]} for s in segments]
        done = time.perf_counter()
        print(json.dumps({"segments": segments, "import_s": imported - start,
                          "load_s": loaded - imported, "transcribe_s": done - loaded}))
        return
    else:
        from pywhispercpp.model import Model
        imported = time.perf_counter()
        model = Model(ggml, n_threads=threads, print_realtime=False, print_progress=False,
                      redirect_whispercpp_logs_to=None)
        loaded = time.perf_counter()
        text = "".join(segment.text for segment in model.transcribe(audio))
    done = time.perf_counter()
    print(json.dumps({"text": text.strip(), "import_s": imported - start,
                      "load_s": loaded - imported, "transcribe_s": done - loaded}))


def measure(command):
    """Runs `command`, returns (wall seconds, peak RSS MB, stdout text)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = process.stdout.read()
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{command[0]} failed: {err.decode(errors='replace')[-500:]}")
    return wall, usage.ru_maxrss / 1024.0, out.decode(errors="replace")


# ---------------------------------------------------------------------------- driver
def make_clips(out_dir, names):
    """Builds the clips in `names` (once; kept in out_dir) and returns {name: (path, text, seconds)}."""
    script = ROOT / "Tests" / "Fixtures" / "make_speech.sh"

    def speech(path, sentences, pause="0"):
        subprocess.run([str(script), "--pause", pause, str(path), *sentences], check=True)

    def sox(*arguments):
        subprocess.run(["sox", "-R", *map(str, arguments)], check=True)

    def silence(path, seconds):
        sox("-n", "-r", "16000", "-c", "1", "-b", "16", path, "trim", "0", seconds)

    def joined(path, parts):
        sox(*parts, path)

    builders = {
        "short": (SHORT_SENTENCES, lambda path: speech(path, SHORT_SENTENCES, "0.25")),
        "long": (LONG_SENTENCES, lambda path: speech(path, LONG_SENTENCES, "3")),
    }

    def meeting(path):
        parts = [out_dir / "pause-0.5.wav"]
        silence(parts[0], 0.5)
        for index, sentence in enumerate(MEETING_SENTENCES):
            parts.append(out_dir / f"meeting-{index}.wav")
            speech(parts[-1], [sentence])
            gap = MEETING_PAUSES[index] if index < len(MEETING_PAUSES) else 0.5
            parts.append(out_dir / f"pause-{gap}.wav")
            silence(parts[-1], gap)
        joined(path, parts)

    def noise(path):
        sentence = out_dir / "noise-sentence.wav"
        speech(sentence, LONG_SENTENCES[:1])
        sox("-n", "-r", "16000", "-c", "1", "-b", "16", out_dir / "noise-100.wav", "synth", "100", "whitenoise", "vol", "0.02")
        joined(path, [out_dir / "noise-100.wav", sentence])

    def hour(path):
        first, second = out_dir / "hour-first.wav", out_dir / "hour-second.wav"
        speech(first, LONG_SENTENCES[1:2])
        speech(second, LONG_SENTENCES[2:3])
        silence(out_dir / "silence-3600.wav", 3600)
        joined(path, [first, out_dir / "silence-3600.wav", second])

    builders["pauses"] = (MEETING_SENTENCES, meeting)
    builders["noise"] = (LONG_SENTENCES[:1], noise)
    builders["silence"] = (LONG_SENTENCES[1:3], hour)
    builders["repeat"] = ([REPEATED] * 3, lambda path: speech(path, [REPEATED] * 3, "4"))
    clips = {}
    for name in names:
        sentences, build = builders[name]
        path = out_dir / f"{name}.wav"
        if not path.exists():
            build(path)
        duration = float(subprocess.run(["soxi", "-D", str(path)], check=True, capture_output=True, text=True).stdout)
        clips[name] = (path, sentences, duration)
    return clips


def copilot_available(binary):
    if not binary.exists():
        return False
    probe = subprocess.run([str(binary), "--help"], capture_output=True, text=True)
    return probe.returncode == 0 and re.search(r"^\s+transcribe\b", probe.stdout, re.M) is not None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=["faster-whisper", "faster-whisper-words", "whisper.cpp"], help=argparse.SUPPRESS)
    parser.add_argument("--audio", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per peer and clip (median)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--single-run-over", type=float, default=LONG_CLIP_SECONDS, metavar="SECONDS",
                        help="clips longer than this get one timed run and no warm-up")
    parser.add_argument("--model-dir", default=str(ROOT / "models" / "tiny.en"))
    parser.add_argument("--out-dir", default=str(ROOT / "benchmarks" / "out" / "transcribe"))
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    parser.add_argument("--clips", default="short,long,pauses,noise,silence,repeat",
                        help="comma-separated: short, long, pauses, noise, silence, repeat")
    parser.add_argument("--peers", default="faster-whisper,whisper.cpp,copilot,copilot-no-vad",
                        help="comma-separated: faster-whisper, whisper.cpp, copilot, copilot-no-vad, and "
                             "copilot-sequential / copilot-no-vad-sequential (--no-batch: samples and beams "
                             "one after another)")
    parser.add_argument("--beam-size", type=int, default=1,
                        help="beams at temperature 0 for faster-whisper and copilot (whisper.cpp stays greedy)")
    parser.add_argument("--word-times", action="store_true",
                        help="compare word timestamps with faster-whisper's instead of timing the peers")
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "copilot"),
                        help="the copilot executable (default: the release build)")
    args = parser.parse_args()
    out_dir = Path(args.out_dir)
    ggml = out_dir / "ggml-tiny.en.bin"
    if args.worker:
        worker(args.worker, args.audio, args.threads, args.model_dir, str(ggml), args.beam_size)
        return

    out_dir.mkdir(parents=True, exist_ok=True)
    binary = Path(args.binary)
    if args.word_times:
        compare_word_times(args, binary, make_clips(out_dir, args.clips.split(",")))
        return
    peers = [peer for peer in args.peers.split(",")
             if not peer.startswith("copilot") or copilot_available(binary)]
    if "whisper.cpp" in peers and not ggml.exists():
        converter = ROOT.parent / "shared" / "tools" / "ct2_to_ggml.py"
        subprocess.run([sys.executable, str(converter), args.model_dir, str(ggml)], check=True)
    clips = make_clips(out_dir, args.clips.split(","))

    results = {}
    load_before = os.getloadavg()[0]
    for clip in args.clips.split(","):
        path, sentences, duration = clips[clip]
        reference = " ".join(sentences)
        samples = {peer: [] for peer in peers}
        failures = {}
        # Run 0 warms the page cache and is discarded, except for an hour-long clip: one run.
        first, runs = (1, 1) if duration > args.single_run_over else (0, args.runs)
        for run in range(first, runs + 1):
            order = peers[run % len(peers):] + peers[:run % len(peers)]
            for peer in order:
                if peer in failures:
                    continue
                if peer.startswith("copilot"):
                    command = [str(binary), "transcribe", "--format", "txt", "--threads", str(args.threads),
                               "--beam-size", str(args.beam_size), "--model", args.model_dir, str(path)]
                    command += ["--no-vad"] if peer.startswith("copilot-no-vad") else []
                    command += ["--no-batch"] if peer.endswith("-sequential") else []
                else:
                    command = [sys.executable, __file__, "--worker", peer, "--audio", str(path),
                               "--threads", str(args.threads), "--model-dir", args.model_dir,
                               "--out-dir", str(out_dir), "--beam-size", str(args.beam_size)]
                try:
                    wall, rss, out = measure(command)
                except RuntimeError as error:
                    failures[peer] = str(error).splitlines()[0] if str(error) else "failed"
                    print(f"{clip} run {run} {peer}: {error}", file=sys.stderr)
                    continue
                if peer.startswith("copilot"):
                    record = {"text": " ".join(out.split()), "load_s": None, "transcribe_s": None}
                else:
                    record = json.loads(out.strip().splitlines()[-1])
                record["text"] = " ".join(record["text"].split())
                record.update(wall_s=wall, rss_mb=rss)
                if run > 0:
                    samples[peer].append(record)
                print(f"{clip} run {run} {peer}: wall {wall:.2f} s, rss {rss:.0f} MB", file=sys.stderr)
        results[clip] = (duration, sentences, {
            peer: {
                "wall_s": statistics.median(r["wall_s"] for r in runs),
                "load_s": statistics.median(r["load_s"] for r in runs) if runs[0]["load_s"] is not None else None,
                "transcribe_s": statistics.median(r["transcribe_s"] for r in runs) if runs[0]["transcribe_s"] is not None else None,
                "rss_mb": max(r["rss_mb"] for r in runs),
                "wer": word_error_rate(reference, runs[-1]["text"]),
                "lost": lost_sentences(sentences, runs[-1]["text"]),
                "text": runs[-1]["text"],
            } if runs else {"failed": failures.get(peer, "no run")} for peer, runs in samples.items()})
    args.load = (load_before, os.getloadavg()[0])
    write_results(Path(args.results), results, args, peers)


def write_results(path, results, args, peers):
    def seconds(value):
        return "" if value is None else f"{value:.2f} s"

    lines = ["## transcribe", "",
             f"`benchmarks/transcribe_peers.sh` on {time.strftime('%Y-%m-%d')}: tiny.en, {args.threads} threads, "
             f"beam {args.beam_size} for faster-whisper and copilot (whisper.cpp greedy); faster-whisper and "
             "whisper.cpp with their defaults (no VAD), copilot with its "
             "default (VAD regions) and with --no-vad (-sequential: --no-batch, samples and beams one after another); "
             f"medians of {args.runs} alternating runs after one discarded warm-up (clips over "
             f"{args.single_run_over:.0f} s: one run, no warm-up); "
             "peak RSS = ru_maxrss of the peer's process. load/transcribe are timed inside the Python worker "
             "(interpreter start-up and imports excluded); wall is the whole process "
             "(for copilot it includes loading the model). WER: lowercase, punctuation stripped, word Levenshtein; "
             "a sentence is lost when fewer than half its words are in the transcript (each word counted once). "
             f"Load average at start/end: {args.load[0]:.1f}/{args.load[1]:.1f} on {os.cpu_count()} cores "
             "(other work shares the machine, so absolute times vary; compare peers within one run).",
             ""]
    for clip, (duration, reference_sentences, table) in results.items():
        lines += [f"### {clip} clip ({duration:.1f} s, espeak-ng speech)", "",
                  "| peer | load | transcribe | load + transcribe | process wall | peak RSS | WER | sentences lost |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for peer in ["faster-whisper", "whisper.cpp", "copilot", "copilot-sequential", "copilot-no-vad", "copilot-no-vad-sequential"]:
            if peer not in table and peer.endswith("-sequential"):
                continue
            if peer not in table:
                missing = "no `copilot transcribe` in .build/release yet" if peer == "copilot" else "not run"
                lines.append(f"| {peer} | | | | {missing} | | | |")
                continue
            row = table[peer]
            if "failed" in row:
                lines.append(f"| {peer} | | | | failed: {row['failed'][:80]} | | | |")
                continue
            total = None if row["load_s"] is None else row["load_s"] + row["transcribe_s"]
            lines.append(f"| {peer} | {seconds(row['load_s'])} | {seconds(row['transcribe_s'])} | "
                         f"{seconds(total if total is not None else row['wall_s'])} | {seconds(row['wall_s'])} | "
                         f"{row['rss_mb']:.0f} MB | {row['wer']:.3f} | {row['lost']} of {len(reference_sentences)} |")
        lines.append("")
        for peer, row in table.items():
            if "failed" in row:
                continue
            lines.append(f"- {peer}: \"{row['text'][:300]}{'...' if len(row['text']) > 300 else ''}\"")
        lines.append("")
    replace_section(path, "transcribe", "\n".join(lines))


# ---------------------------------------------------------------------------- word times
def flat_words(segments):
    """The words of all segments, each marked `edge` when first or last in its segment."""
    flat = []
    for segment in segments:
        found = segment.get("words") or []
        for index, word in enumerate(found):
            flat.append(dict(word, edge=index in (0, len(found) - 1)))
    return flat


def word_differences(reference, hypothesis):
    """Matches words by normalised text in order; returns (matched, |start diffs|, |end diffs|,
    |start and end diffs| of the words inside faster-whisper's segments (neither first nor last))."""
    def key(word):
        return " ".join(words(word["word"]))
    matcher = difflib.SequenceMatcher(a=[key(w) for w in reference], b=[key(w) for w in hypothesis], autojunk=False)
    starts, ends, inner = [], [], []
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            a, b = reference[block.a + k], hypothesis[block.b + k]
            starts.append(abs(a["start"] - b["start"]))
            ends.append(abs(a["end"] - b["end"]))
            if not a["edge"]:
                inner += [starts[-1], ends[-1]]
    return len(starts), starts, ends, inner


def compare_word_times(args, binary, clips):
    rows = []
    for clip in args.clips.split(","):
        path, _, duration = clips[clip]
        _, _, out = measure([sys.executable, __file__, "--worker", "faster-whisper-words", "--audio", str(path),
                             "--threads", str(args.threads), "--model-dir", args.model_dir, "--out-dir", args.out_dir])
        reference = flat_words(json.loads(out.strip().splitlines()[-1])["segments"])
        for mode, extra in [("--no-vad", ["--no-vad"]), ("default (VAD)", [])]:
            command = [str(binary), "transcribe", "--word-timestamps", "--format", "json", "--threads", str(args.threads),
                       "--model", args.model_dir, str(path)] + extra
            wall, _, out = measure(command)
            hypothesis = flat_words(json.loads(out)["segments"])
            matched, starts, ends, inner = word_differences(reference, hypothesis)
            rows.append((clip, duration, mode, len(reference), len(hypothesis), matched, starts, ends, inner, wall))
            print(f"{clip} {mode}: {matched} of {len(reference)} words matched, "
                  f"start mean {statistics.fmean(starts or [0]):.3f} max {max(starts or [0]):.3f}, "
                  f"end mean {statistics.fmean(ends or [0]):.3f} max {max(ends or [0]):.3f}", file=sys.stderr)
    lines = ["## word timestamps", "",
             f"`benchmarks/transcribe_peers.sh --word-times` on {time.strftime('%Y-%m-%d')}: tiny.en, beam 1, "
             f"{args.threads} threads on both sides; faster-whisper 1.2.1 with word_timestamps=True and no VAD against "
             "`copilot transcribe --word-timestamps --format json` with --no-vad (the same 30 s windows) and with its "
             "default (VAD regions, times placed back on the file). Words are matched by their text in order "
             "(lowercase, punctuation stripped); differences are absolute, in seconds, over matched words; "
             "inner words are those neither first nor last in a faster-whisper segment. "
             f"copilot binary: `{binary.resolve().relative_to(ROOT) if binary.resolve().is_relative_to(ROOT) else binary}` "
             "(its wall time is the whole process, model load included).",
             "",
             "| clip | copilot | words (faster-whisper / copilot / matched) | start mean | start max | end mean | end max | "
             "both within 0.1 s | inner words: mean / max | copilot wall |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for clip, duration, mode, n_ref, n_hyp, matched, starts, ends, inner, wall in rows:
        close = sum(1 for a, b in zip(starts, ends) if a <= 0.1 and b <= 0.1)
        lines.append(f"| {clip} ({duration:.1f} s) | {mode} | {n_ref} / {n_hyp} / {matched} | "
                     f"{statistics.fmean(starts or [0]):.3f} | {max(starts or [0]):.3f} | "
                     f"{statistics.fmean(ends or [0]):.3f} | {max(ends or [0]):.3f} | {close} of {matched} | "
                     f"{statistics.fmean(inner or [0]):.3f} / {max(inner or [0]):.3f} | {wall:.2f} s |")
    replace_section(Path(args.results), "word timestamps", "\n".join(lines))


def replace_section(path, name, body):
    """Replaces (or appends) the `## name` section of a Markdown file, leaving the others."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^## {re.escape(name)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: body.rstrip() + "\n\n", text)
    else:
        text = text.rstrip() + "\n\n" + body.rstrip() + "\n"
    path.write_text(text.rstrip() + "\n")


if __name__ == "__main__":
    main()
