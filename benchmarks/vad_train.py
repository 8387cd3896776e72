#!/usr/bin/env python3
"""Trains the default VAD detector's model (numpy only) and writes it as Swift constants.

Input: the TRAINING corpus of vad_corpus.py (benchmarks/corpus/train: other sentences, voices,
rates and seeds than the evaluation corpus, SNRs 30/15/10/5/0/-3 dB, plus the clean track).
Features: `copilot vad --dump-features` (the Swift feature extractor itself, so training and
inference see the same numbers): 33 float32 values per 10 ms hop, aligned with the 10 ms labels.

Model: a 33-16-1 network (tanh hidden layer, logistic output) trained with Adam on a
class-balanced cross-entropy, inputs standardized (the standardization is folded into the
first layer when exported). Then, on the same training data with 30 ms frames (frame
probability = mean of its 3 hops), the decision threshold and hangover of each aggressiveness
level are picked: level 1 maximizes balanced accuracy; levels 0/2/3 trade toward more/less
speech.

Writes Sources/CopilotCore/VAD/SpectralVADModel.swift.
Usage: python3 benchmarks/vad_train.py [--binary .build/release/copilot] [--epochs 30]
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FEATURES = 33
HIDDEN = 16


def load(binary, corpus):
    meta = json.load(open(os.path.join(corpus, "meta.json")))
    labels = np.fromfile(os.path.join(corpus, "labels10.u8"), dtype=np.uint8)
    xs, ys, groups = [], [], []
    for cond in ["clean"] + meta["conditions"]:
        raw = open(os.path.join(corpus, cond + ".s16"), "rb").read()
        out = subprocess.run([binary, "vad", "--dump-features"], input=raw, capture_output=True, check=True).stdout
        f = np.frombuffer(out, dtype=np.float32).reshape(-1, FEATURES)
        n = min(len(f), len(labels))
        xs.append(f[:n])
        ys.append(labels[:n])
        groups.append(cond)
        print(f"{cond}: {n} hops", file=sys.stderr)
    return xs, ys, groups


def forward(params, x):
    w1, b1, w2, b2 = params
    h = np.tanh(x @ w1.T + b1)
    z = h @ w2 + b2
    return h, z


def train(x, y, epochs, seed):
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((HIDDEN, FEATURES)) * (1 / np.sqrt(FEATURES))
    b1 = np.zeros(HIDDEN)
    w2 = rng.standard_normal(HIDDEN) * (1 / np.sqrt(HIDDEN))
    b2 = np.zeros(1)
    params = [w1, b1, w2, b2]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    pos = y.mean()
    weight = np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos))
    lr, beta1, beta2, step = 3e-3, 0.9, 0.999, 0
    batch = 1024
    n = len(x)
    for epoch in range(epochs):
        order = rng.permutation(n)
        total = 0.0
        for s in range(0, n, batch):
            idx = order[s: s + batch]
            xb, yb, wb = x[idx], y[idx], weight[idx]
            h, z = forward(params, xb)
            p = 1 / (1 + np.exp(-z))
            total += float(np.sum(wb * (np.logaddexp(0, z) - yb * z)))
            dz = wb * (p - yb) / len(idx)
            g_w2 = h.T @ dz
            g_b2 = np.array([dz.sum()])
            dh = np.outer(dz, params[2]) * (1 - h ** 2)
            g_w1 = dh.T @ xb + 1e-4 * params[0]
            g_b1 = dh.sum(axis=0)
            step += 1
            for i, g in enumerate([g_w1, g_b1, g_w2, g_b2]):
                m[i] = beta1 * m[i] + (1 - beta1) * g
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                mh = m[i] / (1 - beta1 ** step)
                vh = v[i] / (1 - beta2 ** step)
                params[i] -= lr * mh / (np.sqrt(vh) + 1e-8)
        if epoch == epochs * 2 // 3:
            lr *= 0.3
        print(f"epoch {epoch}: loss {total / n:.4f}", file=sys.stderr)
    return params


def frame_decisions(p_hops, threshold, hangover_frames, k=3):
    n = len(p_hops) // k
    pf = p_hops[: n * k].reshape(n, k).mean(axis=1)
    out = np.zeros(n, np.uint8)
    hang = 0
    for i in range(n):
        if pf[i] >= threshold:
            out[i] = 1
            hang = hangover_frames
        elif hang > 0:
            out[i] = 1
            hang -= 1
    return out


def frame_labels(labels10, k=3):
    n = len(labels10) // k
    s = labels10[: n * k].reshape(n, k).sum(axis=1)
    return (s * 2 >= k).astype(np.uint8)


def balanced(pred, truth):
    t = truth.astype(bool)
    p = pred.astype(bool)
    return 0.5 * ((p & t).sum() / max(t.sum(), 1) + (~p & ~t).sum() / max((~t).sum(), 1))


def swift_array(name, values, per_line=8):
    vals = [f"{float(v):.7g}" for v in np.asarray(values).ravel()]
    lines = [", ".join(vals[i: i + per_line]) for i in range(0, len(vals), per_line)]
    body = ",\n        ".join(lines)
    return f"    public static let {name}: [Float] = [\n        {body},\n    ]\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "copilot"))
    ap.add_argument("--corpus", default=os.path.join(HERE, "corpus", "train"))
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(ROOT, "Sources", "CopilotCore", "VAD", "SpectralVADModel.swift"))
    a = ap.parse_args()

    xs, ys, groups = load(os.path.abspath(a.binary), a.corpus)
    x = np.concatenate(xs).astype(np.float64)
    y = np.concatenate(ys).astype(np.float64)
    mean = x.mean(axis=0)
    std = x.std(axis=0) + 1e-6
    params = train((x - mean) / std, y, a.epochs, a.seed)
    w1, b1, w2, b2 = params
    # Fold the standardization into the first layer.
    w1f = w1 / std
    b1f = b1 - w1f @ mean

    # Decision tuning on 30 ms frames of the training data.
    probs = []
    for xi in xs:
        _, z = forward([w1f, b1f, w2, b2], xi.astype(np.float64))
        probs.append(1 / (1 + np.exp(-z)))
    truths = [frame_labels(yi) for yi in ys]

    def score(th, hang_ms):
        hf = (hang_ms + 29) // 30
        return float(np.mean([balanced(frame_decisions(p, th, hf), t) for p, t in zip(probs, truths)]))

    grid = [(th, hm) for th in [0.3, 0.4, 0.5, 0.6, 0.7] for hm in [0, 60, 120, 180, 240]]
    scored = {g: score(*g) for g in grid}
    best = max(scored, key=scored.get)
    print(f"best (threshold, hangover ms) {best}: {scored[best]:.4f}", file=sys.stderr)
    th, hm = best
    table = [(max(th - 0.15, 0.05), hm + 120), (th, hm), (min(th + 0.1, 0.95), max(hm - 60, 0)),
             (min(th + 0.2, 0.95), max(hm - 120, 0))]
    for lvl, (t, h) in enumerate(table):
        print(f"aggressiveness {lvl}: threshold {t:.2f} hangover {h} ms: train balanced acc {score(t, h):.4f}",
              file=sys.stderr)
    per_cond = {g: balanced(frame_decisions(p, th, (hm + 29) // 30), t) for g, p, t in zip(groups, probs, truths)}
    print(json.dumps({k: round(v, 3) for k, v in per_cond.items()}), file=sys.stderr)

    entries = ", ".join(f"({t:.2f}, {h})" for t, h in table)
    text = f"""// Generated by benchmarks/vad_train.py from the training corpus (seed {a.seed}, {a.epochs} epochs,
// {len(x)} hops); do not edit by hand: rerun the script.

/// The default detector's trained network: {FEATURES} features -> {HIDDEN} tanh units -> logistic output,
/// with the feature standardization folded into the hidden layer, and the decision table per
/// aggressiveness tuned on the training corpus.
public enum SpectralVADModel {{
    /// Inputs (features per hop).
    public static let inputCount = {FEATURES}
    /// Hidden units.
    public static let hiddenCount = {HIDDEN}
    /// (threshold on the frame's mean probability, hangover ms) for aggressiveness 0 ... 3.
    public static let decisionTable: [(threshold: Double, hangoverMs: Int)] = [{entries}]
    /// Hidden-layer weights, row-major [hidden][input].
{swift_array("hiddenWeights", w1f)}    /// Hidden-layer biases.
{swift_array("hiddenBias", b1f)}    /// Output weights.
{swift_array("outputWeights", w2)}    /// Output bias.
    public static let outputBias: Float = {float(b2[0]):.7g}
}}
"""
    with open(a.out, "w") as f:
        f.write(text)
    print(f"wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
