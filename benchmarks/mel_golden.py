#!/usr/bin/env python3
"""Prints the golden values of Tests/CopilotCoreTests/Mel/MelGoldenTests.swift.

The signal (0.5 s at 16 kHz): 0.5 sin(2 pi 440 t) + 0.3 sin(2 pi 1250 t) + 0.1 sin(2 pi 3100 t)
plus 0.05 x uniform noise in [-1, 1) from a 64-bit LCG seeded with 12345 (noise = top 24 bits
of the state / 2^24 * 2 - 1). Features from faster-whisper's numpy FeatureExtractor.
Run: benchmarks/.venv/bin/python benchmarks/mel_golden.py
"""
import math

import numpy as np
from faster_whisper.feature_extractor import FeatureExtractor


def golden_signal(count=8000, seed=12345):
    state = seed
    out = np.zeros(count, dtype=np.float32)
    for i in range(count):
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        noise = (state >> 40) / float(1 << 24) * 2.0 - 1.0
        t = i / 16000.0
        x = (0.5 * math.sin(2 * math.pi * 440 * t) + 0.3 * math.sin(2 * math.pi * 1250 * t)
             + 0.1 * math.sin(2 * math.pi * 3100 * t) + 0.05 * noise)
        out[i] = x
    return out


def main():
    features = FeatureExtractor()(golden_signal())
    print(f"// shape {features.shape}, global max {features.max():.6f}")
    points = [(m, (7 * m + 3) % features.shape[1]) for m in range(0, 80, 4)]
    for m, f in points:
        print(f"({m}, {f}, {features[m, f]:.6f}),")


if __name__ == "__main__":
    main()
