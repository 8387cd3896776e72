#!/usr/bin/env python3
"""Failover at a fixed rate: `copilot route serve` over three upstreams for 60 s at 1,000
requests/s (open loop: request i leaves at i/rate whatever the others do), while the third
upstream goes down (killed) and then hangs (restarted and stopped with SIGSTOP: it accepts
connections and never answers).

The upstreams are three more `copilot route serve` processes answering from their built-in mock
provider, so nothing but copilot and Python's standard library is needed. The gateway's
/metrics is read at every phase boundary and each second, so the table shows what reached the
bad upstream before and after its breaker opened.

    python3 benchmarks/route_failover.py [--rate 1000] [--seconds 60] [--bin .build/release/copilot]

Prints a Markdown table: per phase the requests sent, their statuses, client-side p50/p99, and
the attempts that reached the bad upstream; then the breaker openings. Exit status 1 when any
client request failed.
"""
import argparse
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"route_failover.py: nothing listens on 127.0.0.1:{port} after {timeout} s")


def metric(text, name, provider):
    m = re.search(rf'^{name}{{provider="{provider}"}} (\S+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--bin", default=".build/release/copilot")
    ap.add_argument("--threads", type=int, default=256, help="client threads (enough for the requests a hang holds)")
    args = ap.parse_args()
    if not os.access(args.bin, os.X_OK):
        raise SystemExit(f"route_failover.py: {args.bin} is not built; run make build")
    work = tempfile.mkdtemp(prefix="copilot-failover-")
    procs = {}

    def upstream(i, port):
        path = os.path.join(work, f"up{i}.toml")
        with open(path, "w") as f:
            f.write(f'[route]\npolicy = "health"\n[[route.providers]]\nname = "mock{i}"\nkind = "mock"\nmodels = ["m"]\n'
                    f'mock_reply = "The budget review is on Thursday."\n')
        p = subprocess.Popen([args.bin, "route", "serve", "--config", path, "--port", str(port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs[f"up{i}"] = p
        wait_port(port)
        return p

    ports = [free_port() for _ in range(3)]
    gw = free_port()
    for i, port in enumerate(ports):
        upstream(i, port)
    gconf = os.path.join(work, "gateway.toml")
    with open(gconf, "w") as f:
        f.write('[route]\npolicy = "health"\ncache = "off"\n')
        for i, port in enumerate(ports):
            f.write(f'[[route.providers]]\nname = "u{i}"\nbase_url = "http://127.0.0.1:{port}/v1"\nmodels = ["m"]\n'
                    f'timeout_ms = 500\n')
    procs["gateway"] = subprocess.Popen([args.bin, "route", "serve", "--config", gconf, "--port", str(gw)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(gw)

    def scrape():
        c = http.client.HTTPConnection("127.0.0.1", gw, timeout=5)
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
        c.close()
        return text

    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "When is the review?"}]})
    total = args.rate * args.seconds
    start = time.monotonic() + 0.5
    lock = threading.Lock()
    state = {"next": 0}
    results = [None] * total  # (status, latency_s, send_time)

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", gw, timeout=30)
        while True:
            with lock:
                i = state["next"]
                state["next"] += 1
            if i >= total:
                conn.close()
                return
            due = start + i / args.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            t0 = time.monotonic()
            try:
                conn.request("POST", "/v1/chat/completions", body, {"content-type": "application/json"})
                r = conn.getresponse()
                r.read()
                status = r.status
            except Exception:
                status = -1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", gw, timeout=30)
            results[i] = (status, time.monotonic() - t0, t0 - start)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.threads)]
    for t in threads:
        t.start()
    down_at, hang_at = args.seconds / 4, args.seconds / 2
    samples = []  # (t, attempts to u2, breaker state of u2, openings)
    phase_marks = {}
    bad_port = ports[2]
    while any(t.is_alive() for t in threads):
        now = time.monotonic() - start
        if now >= down_at and "down" not in phase_marks:
            phase_marks["down"] = metric(scrape(), "copilot_provider_requests_total", "u2")
            procs["up2"].kill()
            procs["up2"].wait()
        if now >= hang_at and "hang" not in phase_marks:
            phase_marks["hang"] = metric(scrape(), "copilot_provider_requests_total", "u2")
            p = upstream(2, bad_port)
            os.kill(p.pid, signal.SIGSTOP)
        text = scrape()
        samples.append((now, metric(text, "copilot_provider_requests_total", "u2"),
                        metric(text, "copilot_breaker_state", "u2")))
        time.sleep(0.25)
    final = scrape()
    end_attempts = metric(final, "copilot_provider_requests_total", "u2")

    def row(name, lo, hi, a0, a1):
        rs = [r for r in results if r and lo <= r[2] < hi]
        ok = sum(1 for r in rs if r[0] == 200)
        lat = sorted(r[1] for r in rs)
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0
        other = {}
        for r in rs:
            if r[0] != 200:
                other[r[0]] = other.get(r[0], 0) + 1
        return (f"| {name} | {len(rs):,} | {ok:,} | {sum(other.values())} {other if other else ''} | "
                f"{p(0.5):.1f} | {p(0.99):.1f} | {int(a1 - a0)} |")

    print(f"# failover at {args.rate} requests/s for {args.seconds} s, {args.threads} client threads, "
          f"load {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores")
    print()
    print("| phase | requests | 200 | client errors | p50 ms | p99 ms | attempts that reached u2 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(row("all up", 0, down_at, 0, phase_marks.get("down", 0)))
    print(row("u2 down (killed)", down_at, hang_at, phase_marks.get("down", 0), phase_marks.get("hang", 0)))
    print(row("u2 hanging (SIGSTOP)", hang_at, args.seconds + 60, phase_marks.get("hang", 0), end_attempts))
    # When the breaker opened in each bad phase, and what reached u2 after that.
    for name, lo, hi in (("down", down_at, hang_at), ("hanging", hang_at, 1e9)):
        opened = next((s for s in samples if lo <= s[0] < hi and s[2] == 1), None)
        if opened:
            later = [s for s in samples if opened[0] <= s[0] < hi]
            print(f"\nu2 {name}: breaker open at {opened[0]:.1f} s with {int(opened[1])} attempts so far; "
                  f"{int(later[-1][1] - opened[1])} more attempts after that (half-open probes) until {later[-1][0]:.1f} s")
        else:
            print(f"\nu2 {name}: the breaker was never seen open")
    failed = sum(1 for r in results if r and r[0] != 200) + sum(1 for r in results if r is None)
    for p in procs.values():
        try:
            os.kill(p.pid, signal.SIGCONT)
        except OSError:
            pass
        p.kill()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
