#!/usr/bin/env python3
"""Latency harness of `copilot transcribe --live` (standard library only).

Builds a corpus of espeak-ng utterances with known speech ends, separated by gaps of 0.2 to
3 s, some mixed with white noise at 20 and 10 dB SNR; pipes it to `copilot transcribe --live
--format jsonl --partials` as raw s16le 16 kHz mono in 20 ms chunks, each written on its
absolute deadline (chunk k when its last sample would have been captured), and stamps every
event line the moment it arrives. Reports:

  - end of speech to final line: p50, p95, max (a final is matched to the last corpus
    utterance whose speech ends inside it; utterances merged across a gap shorter than the
    VAD's silence count once);
  - partial cadence: first partial after the start of speech, then the gaps between the
    events of an utterance (partials and its final);
  - WER of the finals against the corpus text and against offline `copilot transcribe`
    (whose own WER is shown too), lowercase, punctuation stripped;
  - CPU (% of one core) and RSS of the copilot process, sampled every 0.5 s from /proc,
    overall and during the silence at the end;
  - where the time of the first partial goes (from the job trace, `--job-trace`): the VAD's
    onset (its speech start against the corpus's), when the first partial job was queued,
    how long it waited for the worker and decoded, and what became of each partial job
    (shown, empty, looping, abandoned, ...).

Usage:
  benchmarks/live_latency.py [--copilot .build/release/copilot] [--threads 2]
                             [--final-encoding content|content-then-silence|padded]
                             [--live-args "--post-roll-ms 150"] [--no-partials] [--json OUT]
"""
import argparse
import array
import json
import math
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave

RATE = 16000
CHUNK = 320  # 20 ms

SENTENCES = [
    "Thanks for joining. Today we review the quarterly budget.",
    "Can the launch move to the second week of March?",
    "I think we should ask the finance team first.",
    "The new office opens in Berlin next spring.",
    "Please send me the slides before the meeting.",
    "Our sales grew by twelve percent last year.",
    "Who is responsible for the customer survey?",
    "We need two more engineers for the mobile app.",
    "The server was down for an hour on Tuesday.",
    "Let us move on to the next item on the agenda.",
    "Marketing wants a bigger budget for the video.",
    "I will write the summary and share it tonight.",
]
GAPS = [0.2, 0.5, 3.0, 0.8, 1.0, 1.5, 2.0, 0.6, 1.2, 2.5, 0.4, 1.0]
NOISE_DB = {3: 20, 4: 20, 8: 10, 9: 10}  # utterance index -> SNR of white noise mixed in


def speak(text, path, speed, voice):
    raw = path + ".22k.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", raw, "--", text], check=True)
    subprocess.run(["sox", raw, "-r", str(RATE), "-c", "1", "-b", "16", path], check=True)
    os.remove(raw)
    with wave.open(path) as w:
        samples = array.array("h", w.readframes(w.getnframes()))
    # Trim espeak's leading/trailing silence so the speech end is known to the sample.
    peak = max(abs(s) for s in samples) or 1
    loud = [i for i, s in enumerate(samples) if abs(s) > 0.02 * peak]
    return samples[loud[0]:loud[-1] + 1]


def build_corpus(work, seed):
    rng = random.Random(seed)
    audio = array.array("h", [0] * (2 * RATE))  # lead-in while the model loads
    utterances = []
    for i, text in enumerate(SENTENCES):
        speech = speak(text, os.path.join(work, f"u{i}.wav"), speed=150 + 10 * (i % 3), voice="en-us")
        start = len(audio)
        audio.extend(speech)
        end = len(audio)
        gap = array.array("h", [0] * int(GAPS[i % len(GAPS)] * RATE))
        audio.extend(gap)
        if i in NOISE_DB:
            rms = math.sqrt(sum(s * s for s in speech) / len(speech))
            sigma = rms / (10 ** (NOISE_DB[i] / 20))
            for j in range(start, len(audio)):
                audio[j] = max(-32768, min(32767, int(audio[j] + rng.gauss(0, sigma))))
        utterances.append({"text": text, "start": start / RATE, "end": end / RATE, "snr": NOISE_DB.get(i)})
    silence_start = len(audio) / RATE
    audio.extend(array.array("h", [0] * (15 * RATE)))  # silence: CPU at rest, no text
    return audio, utterances, silence_start


def words(text):
    return re.sub(r"[^a-z0-9' ]", " ", text.lower().replace("-", " ")).split()


def wer(reference, hypothesis):
    r, h = words(reference), words(hypothesis)
    previous = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        current = [i] + [0] * len(h)
        for j in range(1, len(h) + 1):
            current[j] = min(previous[j - 1] + (r[i - 1] != h[j - 1]), previous[j] + 1, current[j - 1] + 1)
        previous = current
    return previous[len(h)] / max(1, len(r))


def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def sample_process(pid, samples, stop):
    ticks = os.sysconf("SC_CLK_TCK")
    while not stop.is_set():
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / ticks
            with open(f"/proc/{pid}/status") as f:
                rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
            samples.append((time.monotonic(), cpu, rss))
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            break
        time.sleep(0.5)


def run_live(copilot, audio, args, trace=None):
    command = [copilot, "transcribe", "--live", "--raw", "s16le", "--format", "jsonl", "--threads", str(args.threads), "--stats"]
    if trace:
        command += ["--job-trace", trace]
    if not args.no_partials:
        command.append("--partials")
    if args.final_encoding:
        command += ["--final-encoding", args.final_encoding]
    command += args.live_args.split()
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    events = []
    stderr = []

    def read_stdout():
        for line in process.stdout:
            events.append((time.monotonic(), json.loads(line)))

    def read_stderr():
        stderr.append(process.stderr.read().decode())

    readers = [threading.Thread(target=read_stdout), threading.Thread(target=read_stderr)]
    for t in readers:
        t.start()
    usage = []
    stop = threading.Event()
    sampler = threading.Thread(target=sample_process, args=(process.pid, usage, stop))
    sampler.start()
    data = audio.tobytes()
    step = CHUNK * 2
    t0 = time.monotonic()
    late = 0
    for k in range(0, len(data) // step):
        deadline = t0 + (k + 1) * CHUNK / RATE
        delay = deadline - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -0.005:
            late += 1
        process.stdin.write(data[k * step:(k + 1) * step])
        process.stdin.flush()
    process.stdin.close()
    process.wait()
    stop.set()
    for t in readers + [sampler]:
        t.join()
    return t0, events, usage, "".join(stderr), late, process.returncode


def analyse(t0, events, usage, utterances, silence_start):
    finals = [(t, e) for t, e in events if e["type"] == "final"]
    latencies = []
    per_final = []
    for t, e in finals:
        inside = [u for u in utterances if e["start"] - 0.5 <= u["end"] <= e["end"] + 0.05]
        if inside:
            latencies.append(t - (t0 + inside[-1]["end"]))
            per_final.append({"start": e["start"], "latency_ms": round(1000 * latencies[-1]), "snr": inside[-1]["snr"]})
    first_partial, gaps = [], []
    by_utterance = {}
    for t, e in events:
        by_utterance.setdefault(e["utterance"], []).append((t, e))
    for number, items in by_utterance.items():
        partials = [t for t, e in items if e["type"] == "partial"]
        if partials:
            speech_start = min((u["start"] for u in utterances if u["end"] >= items[0][1]["start"]), default=items[0][1]["start"])
            first_partial.append(partials[0] - (t0 + speech_start))
        times = [t for t, _ in items]
        gaps += [b - a for a, b in zip(times, times[1:])]
    cpu_all = cpu_silence = float("nan")
    if len(usage) >= 2:
        cpu_all = 100 * (usage[-1][1] - usage[0][1]) / (usage[-1][0] - usage[0][0])
        quiet = [u for u in usage if u[0] >= t0 + silence_start + 2]
        if len(quiet) >= 2:
            cpu_silence = 100 * (quiet[-1][1] - quiet[0][1]) / (quiet[-1][0] - quiet[0][0])
    rss = [u[2] for u in usage]
    by_minute = {}
    for moment, _, mb in usage:
        by_minute.setdefault(int((moment - t0) // 60), mb)
    return {
        "finals": len(finals),
        "partials": sum(1 for _, e in events if e["type"] == "partial"),
        "latency_p50_ms": 1000 * percentile(latencies, 0.5),
        "latency_p95_ms": 1000 * percentile(latencies, 0.95),
        "latency_max_ms": 1000 * max(latencies, default=float("nan")),
        "latency_n": len(latencies),
        "first_partial_p50_ms": 1000 * percentile(first_partial, 0.5),
        "first_partial_max_ms": 1000 * max(first_partial, default=float("nan")),
        "partial_gap_p50_ms": 1000 * percentile(gaps, 0.5),
        "partial_gap_p95_ms": 1000 * percentile(gaps, 0.95),
        "partial_gap_max_ms": 1000 * max(gaps, default=float("nan")),
        "cpu_percent": cpu_all,
        "cpu_silence_percent": cpu_silence,
        "rss_mb_start": rss[0] if rss else float("nan"),
        "rss_mb_peak": max(rss, default=float("nan")),
        "rss_mb_end": rss[-1] if rss else float("nan"),
        "rss_mb_by_minute": by_minute,
        "latency_p99_ms": 1000 * percentile(latencies, 0.99),
        "text_after_speech": [e["text"] for t, e in finals if e["start"] >= silence_start],
        "per_final": per_final,
    }


def first_partial_breakdown(trace_path, events, utterances):
    """Per utterance with partials: the VAD's onset against the corpus, and the first shown
    partial's job: queued (after the corpus speech start), wait for the worker, decode; plus
    the outcome count of every partial job. Times in ms."""
    try:
        with open(trace_path) as f:
            records = [json.loads(line) for line in f]
    except FileNotFoundError:
        return None
    queued = {}
    for r in records:
        if r["outcome"] == "queued":
            queued.setdefault((r["job"], r["utterance"], r["audio_end"]), r["started"])
    outcomes = {}
    for r in records:
        if r["job"] == "partial" and r["outcome"] != "queued":
            outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
    # The cutter numbers utterances as they open; events number those printed. Match a shown
    # partial record to its event by text and audio end.
    onset, queue_ms, wait_ms, decode_ms, tries = [], [], [], [], []
    first_event = {}
    for _, e in events:
        first_event.setdefault(e["utterance"], e)
    for number, e in first_event.items():
        speech_start = min((u["start"] for u in utterances if u["end"] >= e["start"]), default=e["start"])
        onset.append(1000 * (e["start"] - speech_start))
        shown = [r for r in records if r["job"] == "partial" and r["outcome"] == "shown"
                 and abs(r["audio_end"] - e["end"]) < 0.002 and r["text"] == e["text"]]
        if e["type"] != "partial" or not shown:
            continue
        r = shown[0]
        q = queued.get(("partial", r["utterance"], r["audio_end"]))
        if q is None:
            continue
        queue_ms.append(1000 * (q - speech_start))
        wait_ms.append(1000 * (r["started"] - q))
        decode_ms.append(1000 * (r["finished"] - r["started"]))
        tries.append(sum(1 for x in records if x["job"] == "partial" and x["utterance"] == r["utterance"]
                         and x["outcome"] != "queued" and x["audio_end"] <= r["audio_end"]))

    def summary(values):
        return {"p50": round(percentile(values, 0.5)), "max": round(max(values))} if values else None
    return {
        "vad_onset_ms": summary(onset),
        "first_partial_queued_ms": summary(queue_ms),
        "first_partial_wait_ms": summary(wait_ms),
        "first_partial_decode_ms": summary(decode_ms),
        "first_partial_decodes_until_shown": summary(tries),
        "partial_jobs": outcomes,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copilot", default=".build/release/copilot")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--final-encoding", choices=["content", "content-then-silence", "padded"])
    parser.add_argument("--live-args", default="", help="more flags for both live runs, e.g. \"--post-roll-ms 150\"")
    parser.add_argument("--no-partials", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json")
    parser.add_argument("--repeat", type=int, default=1, help="play the corpus this many times (long runs: RSS growth)")
    parser.add_argument("--live-only", action="store_true",
                        help="skip the offline and --pace none runs (long runs: no WER against offline)")
    parser.add_argument("--keep-corpus", metavar="WAV", help="also write the corpus to this WAV file")
    parser.add_argument("--trace", action="store_true",
                        help="pass --job-trace and report where the first partial's time goes (binaries with --job-trace)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        audio, utterances, silence_start = build_corpus(work, args.seed)
        if args.repeat > 1:
            length = len(audio) / RATE
            utterances = [dict(u, start=u["start"] + i * length, end=u["end"] + i * length)
                          for i in range(args.repeat) for u in utterances]
            silence_start += (args.repeat - 1) * length
            audio = audio * args.repeat
        wav = os.path.join(work, "corpus.wav")
        with wave.open(wav, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(audio.tobytes())
        if args.keep_corpus:
            import shutil
            shutil.copy(wav, args.keep_corpus)
            with open(args.keep_corpus + ".txt", "w") as f:
                f.write(" ".join(u["text"] for u in utterances) + "\n")
        reference = " ".join(u["text"] for u in utterances)
        offline = none = ""
        if not args.live_only:
            offline = subprocess.run([args.copilot, "transcribe", wav, "--threads", str(args.threads)],
                                     capture_output=True, text=True, check=True).stdout
            none = subprocess.run([args.copilot, "transcribe", wav, "--live", "--pace", "none", "--threads", str(args.threads)]
                                  + (["--final-encoding", args.final_encoding] if args.final_encoding else [])
                                  + ([] if args.no_partials else ["--partials"]) + args.live_args.split(),
                                  capture_output=True, text=True, check=True).stdout
        trace = os.path.join(work, "jobs.jsonl") if args.trace else None
        t0, events, usage, stderr, late, status = run_live(args.copilot, audio, args, trace)
        breakdown = first_partial_breakdown(trace, events, utterances) if trace else None
    live_text = " ".join(e["text"] for _, e in events if e["type"] == "final")
    result = analyse(t0, events, usage, utterances, silence_start)
    result.update({
        "status": status,
        "audio_seconds": len(audio) / RATE,
        "late_chunks": late,
        "wer_offline_vs_text": wer(reference, offline) if offline else None,
        "wer_live_vs_text": wer(reference, live_text),
        "wer_live_vs_offline": wer(offline, live_text) if offline else None,
        "live_pace_none_equals_realtime": " ".join(none.split()) == " ".join(live_text.split()) if none else None,
        "stats": stderr.strip(),
    })
    if breakdown:
        result["first_partial_breakdown"] = breakdown
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"result": result, "live_text": live_text, "offline_text": offline}, f, indent=2)
    return 0 if status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
