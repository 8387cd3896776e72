#!/usr/bin/env bash
# copilot's Redis cache backend against redis-benchmark, on one redis-server (loopback, a free
# port, persistence off), same clients, pipeline depth, value size and key space, side by side
# in one run. Also the embedded backends and the codecs. Writes a Markdown table to stdout.
#   benchmarks/cache_redis.sh [REQUESTS]      (default 200000)
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${1:-200000}
BIN=.build/release/copilot
[ -x "$BIN" ] || make build
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null || {
    echo "cache_redis.sh: needs redis-server and redis-benchmark (apt-get install redis-server redis-tools)" >&2; exit 2; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
WORK=$(mktemp -d)
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK" --daemonize no --loglevel warning >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
URL="redis://127.0.0.1:$PORT/0"
KEYSPACE=100000

rb() { # op clients pipeline -> requests/s
    redis-benchmark -p "$PORT" -t "$1" -c "$2" -P "$3" -d 256 -r "$KEYSPACE" -n "$REQUESTS" -q 2>/dev/null \
        | tr '\r' '\n' | grep -E "^$(echo "$1" | tr a-z A-Z):" | tail -1 | sed -E 's/.*: ([0-9.]+) requests per second.*/\1/'
}
cb() { # op clients pipeline [client-model] -> requests/s
    "$BIN" cache benchmark --url "$URL" --no-fallback --namespace "bench$RANDOM" --operation "$1" --clients "$2" \
        --pipeline "$3" --client-model "${4:-tasks}" --requests "$REQUESTS" --value-bytes 256 --keyspace "$KEYSPACE" --json \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests_per_second"])'
}

echo "Redis $(redis-server --version | sed -E 's/.*v=([0-9.]+).*/\1/'), loopback, 256-byte values, $KEYSPACE keys, $REQUESTS requests;"
echo "redis-benchmark: one thread, an event loop over all connections; copilot: each client a task on the async API,"
echo "all on the Redis store's one event-loop thread (non-blocking hiredis connections, as many as clients, each turn's"
echo "calls packed onto a few of them, about 4 KiB of commands each);"
echo "'threads' rows: each client a thread on the blocking API. Each row runs copilot, redis-benchmark, copilot again"
echo "(the better copilot run is shown; the machine is shared). Load $(cut -d' ' -f1 /proc/loadavg)"
echo
echo "| operation | clients | pipeline | copilot clients | redis-benchmark req/s | copilot redis req/s | copilot / redis-benchmark |"
echo "|---|---:|---:|---|---:|---:|---:|"
for spec in "get 50 1 tasks" "set 50 1 tasks" "get 50 16 tasks" "set 50 16 tasks" "get 1 1 tasks" "get 50 1 threads"; do
    set -- $spec
    b1=$(cb "$1" "$2" "$3" "$4"); a=$(rb "$1" "$2" "$3"); b2=$(cb "$1" "$2" "$3" "$4")
    b=$(python3 -c "print(max($b1, $b2))")
    python3 -c "print(f'| $1 | $2 | $3 | $4 | {float(\"$a\"):,.0f} | {float(\"$b\"):,.0f} | {float(\"$b\")/float(\"$a\"):.2f} |')"
done
echo
echo "Embedded backends (one client, one thread):"
echo
echo '```'
"$BIN" cache benchmark --backend memory --clients 1 --requests 1000000 --value-bytes 1024 --keyspace 10000
"$BIN" cache benchmark --backend sqlite --path "$WORK/b.sqlite" --clients 1 --requests "$REQUESTS" --value-bytes 1024 --keyspace 10000
"$BIN" cache benchmark --backend sqlite --path "$WORK/b.sqlite" --clients 1 --requests "$REQUESTS" --value-bytes 8192 --keyspace 10000 --namespace big
"$BIN" cache benchmark --backend sqlite --path "$WORK/b.sqlite" --operation set --clients 1 --pipeline 1000 --requests "$REQUESTS" --value-bytes 1024 --keyspace 100000
"$BIN" cache benchmark --backend sqlite --path "$WORK/b.sqlite" --operation set --clients 1 --requests 20000 --value-bytes 1024 --keyspace 100000
"$BIN" cache benchmark --codecs
echo '```'
