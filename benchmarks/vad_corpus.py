#!/usr/bin/env python3
"""Builds the labelled VAD corpora from espeak-ng speech (numpy only, seeded, reproducible).

Two corpora are written under benchmarks/corpus/ (git-ignored):

  eval/   the evaluation corpus: one clean track of utterances separated by random silences,
          mixed with 4 noises (white, pink, brown, babble) at 4 SNRs (20, 10, 5, 0 dB) = 12
          conditions.
  train/  the training corpus for benchmarks/vad_train.py: DIFFERENT sentences (another
          grammar seed and a partly different word list), DIFFERENT voices and rate mix,
          different seeds, more SNRs (30, 15, 10, 5, 0, -3 dB) and its own babble.

Audio: 16 kHz mono, raw s16le (`<condition>.s16`). Labels: one byte per 10 ms (`labels10.u8`,
values 0/1), from the CLEAN speech only:

  1. per 10 ms block, RMS of the clean utterance;
  2. a block is speech when its RMS is above the utterance's peak block RMS times 10^(-35/20)
     (35 dB below the utterance's loudest block);
  3. gaps of at most 10 blocks (100 ms) between speech blocks of the same utterance are
     filled (stop closures and short pauses inside words and between words of one breath
     group count as speech, as a listener labels them).

A 20 or 30 ms frame is speech when at least half of its 10 ms blocks are (1 of 2 for 20 ms,
2 of 3 for 30 ms); see `frame_labels`.

SNR is the active speech level against the noise: 10 log10(P_speech / P_noise), P_speech the
mean power of the clean track over its speech-labelled samples, P_noise the noise's mean power.
The clean speech has an active RMS of 0.1 (-20 dBFS); the mixture is clipped to [-1, 1].

Usage: python3 benchmarks/vad_corpus.py [--out benchmarks/corpus] [--utterances 48]
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

RATE = 16000
BLOCK = 160  # 10 ms

EVAL_VOICES = ["en-us", "en-gb", "en+f3", "en+m7", "en-gb-scotland", "en-us+f2", "en+m3"]
TRAIN_VOICES = ["en-gb-x-rp", "en+m1", "en+f4", "en-029", "en-us-nyc", "en-gb+f1", "en+m5",
                "en-gb-x-gbclan", "en-us+m4", "en+f5"]
BABBLE_VOICES = ["en-us", "en-gb", "en+f2", "en+m2", "en+f1", "en-gb-x-gbcwmd", "en+m6", "en-us+f3"]

EVAL_RATES = [140, 160, 175, 190]
TRAIN_RATES = [120, 150, 170, 185, 210]

SUBJECTS_A = ["the engineer", "my neighbour", "a tired pilot", "our manager", "the old farmer",
              "every student", "the quiet doctor", "her brother", "the new assistant", "a local baker"]
SUBJECTS_B = ["the captain", "his sister", "a young teacher", "the mechanic", "your lawyer",
              "the museum guide", "a careful driver", "their cousin", "the night nurse", "my landlord"]
VERBS = ["repaired", "described", "carried", "ordered", "painted", "forgot", "measured", "delivered",
         "borrowed", "photographed", "explained", "cleaned", "counted", "moved", "checked"]
OBJECTS_A = ["the broken radio", "seven yellow boxes", "a long report", "the kitchen table",
             "several maps of the coast", "an expensive camera", "the garden fence", "two heavy suitcases"]
OBJECTS_B = ["the red bicycle", "a stack of letters", "the wooden ladder", "four glass bottles",
             "the weekly budget", "a strange machine", "the office printer", "three paper lanterns"]
TAILS = ["before lunch", "in the rain", "without asking anyone", "at the station", "last Thursday",
         "after the meeting", "with great care", "near the river", "for almost an hour",
         "while everybody watched", "on a windy afternoon", "as quickly as possible"]
QUESTIONS = ["did you hear what happened", "can we finish this tomorrow", "where should I put these",
             "is the train late again", "who left the door open", "what time does it start"]


def sentences(rng, n, subjects, objects):
    out = []
    for _ in range(n):
        if rng.random() < 0.15:
            out.append(QUESTIONS[rng.integers(len(QUESTIONS))])
            continue
        s = f"{subjects[rng.integers(len(subjects))]} {VERBS[rng.integers(len(VERBS))]} " \
            f"{objects[rng.integers(len(objects))]}"
        if rng.random() < 0.7:
            s += " " + TAILS[rng.integers(len(TAILS))]
        out.append(s)
    return out


def speak(text, voice, rate_wpm, pitch):
    """espeak-ng speech resampled to 16 kHz by sox, float64 in [-1, 1]."""
    cmd = (f"espeak-ng -v {voice} -s {rate_wpm} -p {pitch} --stdout {json.dumps(text)} | "
           f"sox -q -t wav - -t raw -r {RATE} -e signed -b 16 -c 1 -")
    raw = subprocess.run(["bash", "-c", cmd], check=True, capture_output=True).stdout
    x = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    return trim(x)


def trim(x):
    """Drops leading/trailing near-silence so the silences between utterances are controlled."""
    if len(x) == 0:
        return x
    thr = np.max(np.abs(x)) * 10 ** (-50 / 20)
    idx = np.flatnonzero(np.abs(x) > thr)
    return x[idx[0]: idx[-1] + 1] if len(idx) else x[:0]


def utterance_labels(x):
    """10 ms labels of one clean utterance (rule in the module docstring)."""
    nb = (len(x) + BLOCK - 1) // BLOCK
    padded = np.zeros(nb * BLOCK)
    padded[: len(x)] = x
    rms = np.sqrt(np.mean(padded.reshape(nb, BLOCK) ** 2, axis=1))
    lab = rms > rms.max() * 10 ** (-35 / 20)
    idx = np.flatnonzero(lab)
    if len(idx):
        for a, b in zip(idx[:-1], idx[1:]):
            if 1 < b - a <= 11:
                lab[a:b] = True
    return lab.astype(np.uint8)


def build_track(rng, texts, voices, rates, min_sil=0.3, max_sil=3.0):
    """Utterances separated by uniform random silences; each starts on a 10 ms boundary."""
    pieces, labels = [], []
    for text in texts:
        sil_blocks = int(round(rng.uniform(min_sil, max_sil) * 100))
        pieces.append(np.zeros(sil_blocks * BLOCK))
        labels.append(np.zeros(sil_blocks, np.uint8))
        x = speak(text, voices[rng.integers(len(voices))], int(rates[rng.integers(len(rates))]),
                  int(rng.integers(35, 65)))
        x *= rng.uniform(0.5, 1.0) / max(np.max(np.abs(x)), 1e-9)  # loudness varies per utterance
        lab = utterance_labels(x)
        seg = np.zeros(len(lab) * BLOCK)
        seg[: len(x)] = x
        pieces.append(seg)
        labels.append(lab)
    tail = int(round(rng.uniform(min_sil, max_sil) * 100))
    pieces.append(np.zeros(tail * BLOCK))
    labels.append(np.zeros(tail, np.uint8))
    return np.concatenate(pieces), np.concatenate(labels)


def colored_noise(rng, n, exponent):
    """Gaussian noise with power spectrum ~ 1/f^exponent (0 white, 1 pink, 2 brown)."""
    white = rng.standard_normal(n)
    if exponent == 0:
        return white
    spec = np.fft.rfft(white)
    f = np.fft.rfftfreq(n, 1 / RATE)
    f[0] = f[1]
    spec *= f ** (-exponent / 2)
    y = np.fft.irfft(spec, n)
    return y - y.mean()


def babble(rng, n, texts, talkers=6):
    """Several overlapped talkers, each a continuous stream of espeak sentences."""
    out = np.zeros(n)
    per = max(1, len(texts) // talkers)
    for t in range(talkers):
        stream = []
        total = 0
        k = 0
        while total < n:
            text = texts[(t * per + k) % len(texts)]
            k += 1
            x = speak(text, BABBLE_VOICES[rng.integers(len(BABBLE_VOICES))],
                      int(rng.integers(130, 200)), int(rng.integers(30, 70)))
            x /= max(np.sqrt(np.mean(x ** 2)), 1e-9)
            gap = np.zeros(int(rng.uniform(0.02, 0.25) * RATE))
            stream += [x, gap]
            total += len(x) + len(gap)
        s = np.concatenate(stream)
        start = int(rng.integers(0, len(s) - n + 1))
        out += s[start: start + n]
    return out


def mix(clean, labels, noise, snr_db):
    speech = np.repeat(labels.astype(bool), BLOCK)[: len(clean)]
    p_speech = np.mean(clean[speech] ** 2)
    p_noise = np.mean(noise ** 2)
    gain = np.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))
    return clean + gain * noise


def frame_labels(labels10, frame_ms):
    """10 ms labels to 10/20/30 ms frames: speech when at least half of the blocks are
    (rounded up: 1 of 1, 1 of 2, 2 of 3)."""
    k = frame_ms // 10
    n = len(labels10) // k
    s = labels10[: n * k].reshape(n, k).sum(axis=1)
    return (s * 2 >= k).astype(np.uint8)


def write_s16(path, x):
    np.clip(np.round(x * 32767), -32768, 32767).astype("<i2").tofile(path)


def build(out_dir, name, seed, n_utt, voices, rates, subjects, objects, snrs):
    rng = np.random.default_rng(seed)
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    texts = sentences(rng, n_utt, subjects, objects)
    clean, labels = build_track(rng, texts, voices, rates)
    speech = np.repeat(labels.astype(bool), BLOCK)
    clean *= 0.1 / np.sqrt(np.mean(clean[speech] ** 2))
    write_s16(os.path.join(d, "clean.s16"), clean)
    labels.tofile(os.path.join(d, "labels10.u8"))
    babble_texts = sentences(rng, 40, SUBJECTS_A + SUBJECTS_B, OBJECTS_A + OBJECTS_B)
    noises = {
        "white": colored_noise(rng, len(clean), 0),
        "pink": colored_noise(rng, len(clean), 1),
        "brown": colored_noise(rng, len(clean), 2),
        "babble": babble(rng, len(clean), babble_texts),
    }
    conditions = []
    for kind, noise in noises.items():
        for snr in snrs:
            cond = f"{kind}_{snr}dB"
            write_s16(os.path.join(d, cond + ".s16"), mix(clean, labels, noise, snr))
            conditions.append(cond)
    meta = {"rate": RATE, "seed": seed, "utterances": n_utt, "seconds": len(clean) / RATE,
            "speech_fraction": float(labels.mean()), "voices": voices, "rates": rates,
            "conditions": conditions}
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"{name}: {len(clean) / RATE:.1f} s, speech {labels.mean():.2f}, {len(conditions)} conditions",
          file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus"))
    ap.add_argument("--utterances", type=int, default=48)
    ap.add_argument("--train-utterances", type=int, default=120)
    ap.add_argument("--only", choices=["eval", "train"])
    a = ap.parse_args()
    if a.only in (None, "eval"):
        build(a.out, "eval", 20261122, a.utterances, EVAL_VOICES, EVAL_RATES, SUBJECTS_A, OBJECTS_A,
              [20, 10, 5, 0])
    if a.only in (None, "train"):
        build(a.out, "train", 7, a.train_utterances, TRAIN_VOICES, TRAIN_RATES, SUBJECTS_B, OBJECTS_B,
              [30, 15, 10, 5, 0, -3])


if __name__ == "__main__":
    main()
