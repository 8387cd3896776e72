#!/usr/bin/env python3
"""The consensus reference against the CPython prototype it stands for, side by side in one run.

Three contestants on the same generated answer sets (2, 5, 10, 20 and 50 answers of about 200
words, `copilot bench`'s `consensus/N answers` cases, one thread each):
- the Python prototype, benchmarks/consensus_prototype.py, under this interpreter (its median
  of 20 aggregations per set);
- CopilotReference and the optimized aggregator, from `copilot bench --filter "answers x"
  --json` of every binary given (e.g. a build from before a change and one from after it);
- rounds alternate between them, so all see the same machine load; the table shows each
  figure's range over the rounds.

Run from the repository, after a release build (swift build -c release):
    python3 benchmarks/consensus_compare.py [--rounds 3] [BINARY ...]
BINARY defaults to .build/release/copilot; the sets are written by the last one
(`copilot bench --write-consensus-sets DIR`, hidden).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COUNTS = [2, 5, 10, 20, 50]


def swift_rows(binary):
    """{answers: (reference ms, optimized ms)} from one `copilot bench` run."""
    out = subprocess.run([binary, "bench", "--filter", "answers x", "--json"], check=True,
                         capture_output=True, text=True).stdout
    rows = {}
    for row in json.loads(out):
        answers = int(row["name"].split("/")[1].split()[0])
        assert row.get("baseline_threads", 1) == 1 and row.get("optimized_threads", 1) == 1, row
        rows[answers] = (row["reference_ns_per_op"] / 1e6, row["optimized_ns_per_op"] / 1e6)
    return rows


def prototype_ms(path):
    out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "consensus_prototype.py"), path],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["median_ms"]


def span(values, digits=3):
    lo, hi = min(values), max(values)
    return f"{lo:.{digits}g}" if f"{lo:.{digits}g}" == f"{hi:.{digits}g}" else f"{lo:.{digits}g}-{hi:.{digits}g}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binaries", nargs="*", default=[os.path.join(ROOT, ".build", "release", "copilot")])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as sets:
        subprocess.run([args.binaries[-1], "bench", "--write-consensus-sets", sets], check=True)
        python = {n: [] for n in COUNTS}
        swift = [{n: [] for n in COUNTS} for _ in args.binaries]
        for round_ in range(args.rounds):
            print(f"round {round_ + 1} of {args.rounds}", file=sys.stderr)
            for n in COUNTS:
                python[n].append(prototype_ms(os.path.join(sets, f"answers-{n}.jsonl")))
            for k, binary in enumerate(args.binaries):
                for n, times in swift_rows(binary).items():
                    swift[k][n].append(times)
    head = "| answers | CPython prototype |"
    rule = "|---:|---:|"
    for k, binary in enumerate(args.binaries):
        head += f" reference ({k + 1}) | reference / CPython ({k + 1}) |"
        rule += "---:|---:|"
    head += " optimized (last) |"
    rule += "---:|"
    print("\n".join(f"({k + 1}) {b}" for k, b in enumerate(args.binaries)))
    print(f"\n{head}\n{rule}")
    for n in COUNTS:
        line = f"| {n} | {span(python[n])} ms |"
        for k in range(len(args.binaries)):
            reference = [r for r, _ in swift[k][n]]
            ratios = [r / p for r, p in zip(reference, python[n])]
            line += f" {span(reference)} ms | {span(ratios, 2)}x |"
        line += f" {span([o for _, o in swift[-1][n]])} ms |"
        print(line)


if __name__ == "__main__":
    main()
