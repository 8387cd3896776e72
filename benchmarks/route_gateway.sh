#!/usr/bin/env bash
# copilot route serve against the floor, side by side in one run, all on loopback:
#   direct   wrk -> nginx fake upstream (a fixed chat completion)
#   nginx    wrk -> nginx proxy_pass hop (keep-alive pool) -> the same upstream
#   copilot  wrk -> copilot route serve -> the same upstream (the channel-handler fast path)
#   copilot-router  the same through Hummingbird's router (COPILOT_ROUTE_FASTPATH=0)
#   litellm  wrk -> LiteLLM proxy (one worker) -> the same upstream, when benchmarks/.venv has it
#   mock     wrk -> copilot route serve answering with its built-in mock provider (no hop)
# For each: p50/p99 latency at 1 connection, requests/s at 64 connections, CPU per request of
# the proxy, its resident memory idle and after load.
# Then failover under load: three providers (nginx, the nginx hop, and one that is down, then
# one that hangs), wrk at 64 connections through the gateway; client errors (answers other than 200; requests wrk abandons when it stops count 499) and what reached
# the bad provider (from /metrics).
# Usage: benchmarks/route_gateway.sh [seconds per run, default 10]   (needs wrk, nginx, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-10}
BIN=${BIN:-.build/release/copilot}
OUT=benchmarks/out/route
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "needs nginx (apt-get install nginx-light)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "build first: make build (or set BIN)" >&2; exit 2; }

UP=18181 HOP=18182 GW=18183 MOCK=18184 LITE=18185 FAIL=18186 GW_OLD=18187 BAD=18190
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

BODY='{"id":"chatcmpl-bench","object":"chat.completion","created":1,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"The quarterly budget review is on Thursday."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}'
CHUNK='{"id":"c","object":"chat.completion.chunk","created":1,"model":"bench","choices":[{"index":0,"delta":{"content":"word "},"finish_reason":null}]}'
SSE="data: $CHUNK\n\ndata: $CHUNK\n\ndata: $CHUNK\n\ndata: [DONE]\n\n"
cat > "$OUT/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $PWD/$OUT/nginx.pid;
error_log $PWD/$OUT/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $PWD/$OUT/tmp;
    proxy_temp_path $PWD/$OUT/tmp;
    keepalive_requests 1000000;
    upstream fake { server 127.0.0.1:$UP; keepalive 128; }
    server {
        listen 127.0.0.1:$UP;
        location /v1/stream/ { default_type text/event-stream; return 200 '$SSE'; }
        location / { default_type application/json; return 200 '$BODY'; }
    }
    server {
        listen 127.0.0.1:$HOP;
        location / {
            proxy_pass http://fake;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
NGINX
mkdir -p "$OUT/tmp"
"$NGINX" -c "$PWD/$OUT/nginx.conf" -p "$PWD/$OUT" 2>>"$OUT/nginx-error.log" &
PIDS+=($!)

cat > "$OUT/route.toml" <<TOML
[route]
state_path = "$PWD/$OUT/route-state.sqlite"  # not the user's learned state

[[route.providers]]
name = "fake"
base_url = "http://127.0.0.1:$UP/v1"
models = ["bench"]
TOML
cat >> "$OUT/route.toml" <<TOML
[[route.providers]]
name = "fake-stream"
base_url = "http://127.0.0.1:$UP/v1/stream"
models = ["bench-stream"]
TOML
cat > "$OUT/mock.toml" <<TOML
[route]
state_path = "$PWD/$OUT/route-state.sqlite"

[[route.providers]]
name = "mock"
kind = "mock"
models = ["bench"]
mock_reply = "The quarterly budget review is on Thursday."
TOML
"$BIN" route serve --config "$OUT/route.toml" --port $GW 2>"$OUT/gateway.log" &
GW_PID=$!; PIDS+=($GW_PID)
COPILOT_ROUTE_FASTPATH=0 "$BIN" route serve --config "$OUT/route.toml" --port $GW_OLD 2>"$OUT/gateway-router.log" &
GW_OLD_PID=$!; PIDS+=($GW_OLD_PID)
"$BIN" route serve --config "$OUT/mock.toml" --port $MOCK 2>"$OUT/mock.log" &
MOCK_PID=$!; PIDS+=($MOCK_PID)

LITE_PID=
if [ -x benchmarks/.venv/bin/litellm ]; then
    cat > "$OUT/litellm.yaml" <<YAML
model_list:
  - model_name: bench
    litellm_params: { model: openai/bench, api_base: "http://127.0.0.1:$UP/v1", api_key: "unused" }
YAML
    # Offline and local: no cost-map download, no master key (loopback benchmark only).
    LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY=true LITELLM_TELEMETRY=False \
    benchmarks/.venv/bin/litellm --config "$OUT/litellm.yaml" --host 127.0.0.1 --port $LITE --num_workers 1 >"$OUT/litellm.log" 2>&1 &
    LITE_PID=$!; PIDS+=($LITE_PID)
fi

cat > "$OUT/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"bench","messages":[{"role":"user","content":"When is the quarterly budget review?"}]}'
wrk.headers["Content-Type"] = "application/json"
LUA
cat > "$OUT/stream.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"bench-stream","stream":true,"messages":[{"role":"user","content":"When is the quarterly budget review?"}]}'
wrk.headers["Content-Type"] = "application/json"
LUA

wait_port() { for _ in $(seq 1 ${2:-300}); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; return 1; }
for p in $UP $HOP $GW $GW_OLD $MOCK; do wait_port $p; done
[ -n "$LITE_PID" ] && wait_port $LITE 1800  # its imports take a while
rss_kb() { awk '/VmRSS/ {print $2}' /proc/$1/status; }
cpu_ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
# nginx's worker is the child of the master started above.
NGINX_WORKER=$(pgrep -P "${PIDS[0]}" | head -1)
sleep 1
GW_IDLE=$(rss_kb $GW_PID); MOCK_IDLE=$(rss_kb $MOCK_PID)
LITE_IDLE=; [ -n "$LITE_PID" ] && LITE_IDLE=$(rss_kb $(pgrep -P $LITE_PID | head -1 || echo $LITE_PID) 2>/dev/null || rss_kb $LITE_PID)

run() { # name port -> "p50 p99 rps cpu_us_per_req"
    local name=$1 port=$2 pid=${3:-}
    local url="http://127.0.0.1:$port/v1/chat/completions"
    wrk -t1 -c1 -d2s -s "$OUT/post.lua" "$url" >/dev/null  # warm-up
    wrk -t1 -c1 -d${SECONDS_PER_RUN}s --latency -s "$OUT/post.lua" "$url" > "$OUT/$name-c1.txt"
    local t0=0; [ -n "$pid" ] && t0=$(cpu_ticks $pid)
    wrk -t2 -c64 -d${SECONDS_PER_RUN}s --latency -s "$OUT/post.lua" "$url" > "$OUT/$name-c64.txt"
    local t1=0; [ -n "$pid" ] && t1=$(cpu_ticks $pid)
    local p50 p99 rps reqs
    p50=$(awk '$1=="50%" {print $2}' "$OUT/$name-c1.txt")
    p99=$(awk '$1=="99%" {print $2}' "$OUT/$name-c1.txt")
    rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$OUT/$name-c64.txt")
    reqs=$(awk '/requests in/ {print $1}' "$OUT/$name-c64.txt")
    local errs; errs=$(awk '/Non-2xx|Socket errors/ {print}' "$OUT/$name-c64.txt" | tr '\n' ' ')
    local cpu="-"
    if [ -n "$pid" ] && [ "${reqs:-0}" -gt 0 ]; then
        cpu=$(awk -v d=$((t1 - t0)) -v n="$reqs" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", d / hz * 1e6 / n}')
    fi
    echo "$name $p50 $p99 $rps $cpu ${errs:-}"
}

echo "# $(date -u +%FT%TZ)  $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), ${SECONDS_PER_RUN}s per run"
echo "| path | p50 @1 conn | p99 @1 conn | requests/s @64 conns | proxy CPU per request (us) | errors |"
echo "|---|---:|---:|---:|---:|---|"
row() { set -- $1; echo "| $1 | $2 | $3 | $4 | $5 | ${6:-} ${7:-} ${8:-} |"; }
# Streams: a 4-event SSE answer sent at once, so the whole-answer time is time to first
# token plus a few microseconds (direct: the same nginx location).
stream_p50() { # url -> p50 at 1 connection
    wrk -t1 -c1 -d2s -s "$OUT/stream.lua" "$1" >/dev/null
    wrk -t1 -c1 -d${SECONDS_PER_RUN}s --latency -s "$OUT/stream.lua" "$1" > "$OUT/stream-$2.txt"
    awk '$1=="50%" {print $2}' "$OUT/stream-$2.txt"
}
row "$(run direct $UP)"
row "$(run nginx-hop $HOP "$NGINX_WORKER")"
row "$(run copilot $GW $GW_PID)"
row "$(run copilot-router $GW_OLD $GW_OLD_PID)"
row "$(run copilot-mock $MOCK $MOCK_PID)"
[ -n "$LITE_PID" ] && row "$(run litellm $LITE $LITE_PID)"
echo
echo "SSE answer at 1 connection, p50: direct $(stream_p50 http://127.0.0.1:$UP/v1/stream/chat/completions direct), through copilot $(stream_p50 http://127.0.0.1:$GW/v1/chat/completions copilot), through copilot-router $(stream_p50 http://127.0.0.1:$GW_OLD/v1/chat/completions copilot-router)"
echo "resident memory (MB): copilot idle $((GW_IDLE / 1024)), after load $(( $(rss_kb $GW_PID) / 1024 )); copilot-mock idle $((MOCK_IDLE / 1024)), after load $(( $(rss_kb $MOCK_PID) / 1024 ))${LITE_IDLE:+; litellm idle $((LITE_IDLE / 1024))}"

# Failover under load.
failover() { # label, extra provider keys -> one line
    cat > "$OUT/failover.toml" <<TOML
[route]
state_path = "$PWD/$OUT/failover-state.sqlite"

[[route.providers]]
name = "up-a"
base_url = "http://127.0.0.1:$UP/v1"
models = ["bench"]
[[route.providers]]
name = "up-b"
base_url = "http://127.0.0.1:$HOP/v1"
models = ["bench"]
[[route.providers]]
name = "bad"
base_url = "http://127.0.0.1:$BAD/v1"
models = ["bench"]
timeout_ms = 250
TOML
    "$BIN" route serve --config "$OUT/failover.toml" --port $FAIL 2>>"$OUT/gateway.log" &
    local pid=$!
    wait_port $FAIL
    wrk -t2 -c64 -d${FAILOVER_SECONDS:-$SECONDS_PER_RUN}s --latency -s "$OUT/${FAILOVER_SCRIPT:-post.lua}" "http://127.0.0.1:$FAIL/v1/chat/completions" > "$OUT/failover-$1.txt"
    local metrics; metrics=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "http://127.0.0.1:$FAIL/metrics")
    kill $pid; wait $pid 2>/dev/null || true
    local total bad
    total=$(awk '/requests in/ {print $1}' "$OUT/failover-$1.txt")
    bad=$(echo "$metrics" | awk '/^copilot_provider_requests_total\{provider="bad"\}/ {print $2}')
    echo "| $1 | $total | $(awk '/Requests\/sec/ {printf "%.0f", $2}' "$OUT/failover-$1.txt") | $(echo "$metrics" | awk '/^copilot_requests_total/ && !/status="(200|499)"/ {s += $2} END {print s + 0}') | ${bad:-0} | $(awk '$1=="99%" {print $2}' "$OUT/failover-$1.txt") |"
}
# FAILOVER_RATE=N: the failover runs at about N requests/s instead of flat out (wrk2 is not in
# Debian: each of wrk's 64 connections waits 64000/N ms before its next request, which holds
# the rate while answers take well under that), for FAILOVER_SECONDS (default: as above).
if [ -n "${FAILOVER_RATE:-}" ]; then
    { cat "$OUT/post.lua"; echo "function delay() return $((64000 / FAILOVER_RATE)) end"; } > "$OUT/rate.lua"
    FAILOVER_SCRIPT=rate.lua
fi
echo
echo "failover at ${FAILOVER_RATE:-full} requests/s for ${FAILOVER_SECONDS:-$SECONDS_PER_RUN}s:"
echo "| failover: third provider | client requests | requests/s | client errors | attempts that reached it | p99 @64 |"
echo "|---|---:|---:|---:|---:|---:|"
failover down
python3 - "$BAD" <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4096); s.settimeout(1)
held, end = [], time.time() + 600
while time.time() < end:
    try: held.append(s.accept()[0])  # accept and never answer
    except socket.timeout: pass
PY
PIDS+=($!)
wait_port $BAD
failover hanging
