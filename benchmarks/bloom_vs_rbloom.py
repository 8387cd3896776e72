#!/usr/bin/env python3
"""copilot's Bloom filter against rbloom (Rust) on the same workload, in one script.

Workload: N string keys "item-0" ... "item-<N-1>" (default 1M) into a filter sized for N at
1% false positives; adds one by one, lookups of the present keys one by one, and both in bulk
(rbloom: update() and issuperset(); copilot: insertAll / containsAll). Every figure is the best
of several runs, copilot and rbloom alternating so both see the same machine load, timed in
CPU time of the measuring thread (time.thread_time here, CLOCK_THREAD_CPUTIME_ID in copilot)
because the machine is shared: wall time would also count other processes' turns.

copilot is measured in process by its hidden `copilot bloom speed` command (same keys, same
sizing); rbloom in this Python process, as a Python caller uses it.

Prerequisites: a release build (make build) and
    python3 -m venv benchmarks/.venv && benchmarks/.venv/bin/pip install rbloom
Run: benchmarks/.venv/bin/python benchmarks/bloom_vs_rbloom.py [--keys N] [--rounds R]
"""
import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
import time

import rbloom

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def best_of(repeats, fn):
    best = float("inf")
    for _ in range(repeats):
        start = time.thread_time()
        fn()
        best = min(best, time.thread_time() - start)
    return best


def measure_rbloom(keys, fp_rate, repeats):
    n = len(keys)
    times = {}

    def add_one_by_one():
        bf = rbloom.Bloom(n, fp_rate)
        add = bf.add
        for k in keys:
            add(k)
        measure_rbloom.filled = bf

    times["adds_per_s"] = best_of(repeats, add_one_by_one)
    bf = measure_rbloom.filled

    def lookup_one_by_one():
        hits = 0
        for k in keys:
            if k in bf:
                hits += 1
        assert hits == n

    times["lookups_per_s"] = best_of(repeats, lookup_one_by_one)
    times["bulk_adds_per_s"] = best_of(repeats, lambda: rbloom.Bloom(n, fp_rate).update(keys))
    times["bulk_lookups_per_s"] = best_of(repeats, lambda: bf.issuperset(keys))
    return {k: n / v for k, v in times.items()}


def measure_copilot(binary, n, fp_rate, repeats):
    out = subprocess.run(
        [binary, "bloom", "speed", "--keys", str(n), "--fp-rate", str(fp_rate), "--repeats", str(repeats)],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--fp-rate", type=float, default=0.01)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; best kept")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure per round")
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "copilot"))
    args = parser.parse_args()

    keys = [f"item-{i}" for i in range(args.keys)]
    figures = ["adds_per_s", "lookups_per_s", "bulk_adds_per_s", "bulk_lookups_per_s"]
    best = {"copilot": {f: 0.0 for f in figures}, "rbloom": {f: 0.0 for f in figures}}
    for _ in range(args.rounds):
        r = measure_rbloom(keys, args.fp_rate, args.repeats)
        c = measure_copilot(args.binary, args.keys, args.fp_rate, args.repeats)
        for f in figures:
            best["rbloom"][f] = max(best["rbloom"][f], r[f])
            best["copilot"][f] = max(best["copilot"][f], c[f])

    print(f"{args.keys} keys, fp rate {args.fp_rate}, best of {args.rounds} x {args.repeats} runs"
          f" (rbloom {importlib.metadata.version('rbloom')})")
    print("| figure | rbloom (M/s) | copilot (M/s) | copilot / rbloom |")
    print("|---|---:|---:|---:|")
    for f in figures:
        r, c = best["rbloom"][f] / 1e6, best["copilot"][f] / 1e6
        print(f"| {f.replace('_per_s', '').replace('_', ' ')} | {r:.1f} | {c:.1f} | {c / r:.2f}x |")
    json.dump(best, sys.stderr)
    sys.stderr.write("\n")


if __name__ == "__main__":
    main()
