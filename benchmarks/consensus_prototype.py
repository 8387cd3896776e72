#!/usr/bin/env python3
"""The Python prototype of `copilot consensus` (text mode), as a timing and result peer.

Plain Python, standard library only: lowercase, split into words, drop stopwords, sets of
word 1..N-gram strings, pairwise Jaccard, single-linkage groups, mass-weighted support and
vote (the definitions in Sources/CopilotCore/Consensus/ConsensusReport.swift). Word
characters follow Python's `\\w` minus `_` (the same as copilot's rule for ASCII text).

    python3 benchmarks/consensus_prototype.py answers.jsonl [--threshold 0.15] [--ngram 2]

Prints the consensus expert, agreement, dissent and the median time per aggregation; compare
with `copilot consensus --json answers.jsonl` and `copilot bench --filter consensus`.
"""
import argparse
import json
import re
import statistics
import time

STOPWORDS = set("""a about above after again against all also am an and any are as at be because
been before being below between both but by can could did do does doing down during each few for
from further had has have having he her here hers herself him himself his how i if in into is it
its itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own s same she should so some such t than that the their theirs them themselves
then there these they this those through to too under until up very was we were what when where
which while who whom why will with would you your yours yourself yourselves""".split())
WORD = re.compile(r"[^\W_]+")


def ngrams(text, n_max):
    words = WORD.findall(text.lower())
    content = [w for w in words if w not in STOPWORDS] or words
    return words, {" ".join(content[i:i + n]) for n in range(1, n_max + 1) for i in range(len(content) - n + 1)}


def aggregate(answers, threshold, n_max):
    feats = [ngrams(a["text"], n_max) for a in answers]
    idx = [i for i, (words, _) in enumerate(feats) if words]
    max_w = max(answers[i].get("weight", 1.0) for i in idx)
    mass = [answers[i].get("weight", 1.0) / max_w * answers[i].get("confidence", 1.0) for i in idx]
    n = len(idx)
    sim = [[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            a, b = feats[idx[i]][1], feats[idx[j]][1]
            sim[i][j] = sim[j][i] = len(a & b) / len(a | b)
    group = [-1] * n
    groups = []
    for start in range(n):
        if group[start] >= 0:
            continue
        group[start] = len(groups)
        members, queue = [start], [start]
        while queue:
            cur = queue.pop()
            for other in range(n):
                if group[other] < 0 and sim[cur][other] >= threshold:
                    group[other] = len(groups)
                    members.append(other)
                    queue.append(other)
        groups.append(sorted(members))
    total = sum(mass)
    support = [sum(mass[j] * sim[i][j] for j in range(n)) / total for i in range(n)]
    gmass = [sum(mass[i] for i in g) for g in groups]
    win = max(range(len(groups)), key=lambda g: (gmass[g], -g))
    best = groups[win][0]
    for i in groups[win]:
        if (support[i], mass[i]) > (support[best], mass[best]):
            best = i
    pairs = [(i, j) for k, i in enumerate(groups[win]) for j in groups[win][k + 1:]]
    pw = sum(mass[i] * mass[j] for i, j in pairs)
    pa = sum(mass[i] * mass[j] * (min(1.0, sim[i][j] / threshold) if threshold > 0 else 1.0) for i, j in pairs)
    agreement = gmass[win] / total * (pa / pw if pw > 0 else 1.0)
    dissent = [answers[idx[i]]["expert"] for i in range(n) if group[i] != win]
    return answers[idx[best]]["expert"], min(1.0, max(0.0, agreement)), dissent


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("input")
    parser.add_argument("--threshold", type=float, default=0.15)
    parser.add_argument("--ngram", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with open(args.input, encoding="utf-8") as f:
        answers = [json.loads(line) for line in f if line.strip()]
    # As copilot consensus does: an answer without an expert name is "#N" (1-based position).
    for position, answer in enumerate(answers, start=1):
        answer.setdefault("expert", f"#{position}")
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        result = aggregate(answers, args.threshold, args.ngram)
        times.append(time.perf_counter() - t0)
    expert, agreement, dissent = result
    print(json.dumps({"answers": len(answers), "expert": expert, "agreement": round(agreement, 6),
                      "dissent": dissent, "median_ms": round(statistics.median(times) * 1e3, 3)}))


if __name__ == "__main__":
    main()
