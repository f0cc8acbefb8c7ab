#!/usr/bin/env bash
# Service speed figures (a benchmark, not a test; prints numbers, asserts nothing):
#  1. p99 latency of GET /v1/jobs/{id} (wrk, keep-alive) while a real prune saturates the CPU (target ≤ 50 ms)
#  2. requests/s of the same status request on the idle server (target ≥ 20k/s)
#  3. loopback download throughput of the pruned model.safetensors (target ≥ 1 GB/s), beside
#     nginx serving the same file from the same disk.
#   swift build -c release --product surgeon && scripts/bench_service.sh
# Env: BENCH_DURATION (10s), BENCH_CONNECTIONS (16).
set -euo pipefail
source "$(dirname "$0")/e2e_lib.sh"
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null 2>&1 || fail "wrk missing (apt-get install wrk)"; }
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { apt-get install -y -qq nginx >/dev/null 2>&1 || fail "nginx missing"; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$SURGEON" ] || fail "$SURGEON not built (swift build -c release --product surgeon)"
DUR="${BENCH_DURATION:-10s}"; CONN="${BENCH_CONNECTIONS:-16}"
DATA="$(mktemp -d "${TMPDIR:-/tmp}/surgeon-bench.XXXXXX")"
NGINX_PID=""
new_token
cleanup() {
  stop_server
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null || true
  [ "${KEEP:-0}" = 1 ] && echo "(kept $DATA)" || rm -rf "$DATA"
}
trap cleanup EXIT
start_server "$DATA/srv" "$DATA/server.log"
curl -sf -H "$AUTH" -T "$MODEL" "$BASE/v1/models/smollm2.gguf" >/dev/null
curl -sf -H "$AUTH" -T "$CALIB" "$BASE/v1/texts/calib.txt" >/dev/null
curl -sf -H "$AUTH" -T "$EVAL" "$BASE/v1/texts/test.txt" >/dev/null
JOB=$(curl -sf -H "$AUTH" -H 'Content-Type: application/json' -X POST "$BASE/v1/jobs" \
  -d "$(SAMPLES=4 SEQLEN=128 small_job_body smollm2.gguf calib.txt test.txt)" | json 'j["id"]')
for _ in $(seq 1 200); do
  [ "$(curl -sf -H "$AUTH" "$BASE/v1/jobs/$JOB" | json '(j.get("progress") or {}).get("phase","")')" = curvature ] && break; sleep 0.1
done
wrkrun() { wrk -t2 -c"$CONN" -d"$DUR" --latency -H "$AUTH" "$BASE/v1/jobs/$JOB"; }

echo "== 1. status latency under a running prune ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
busy=$(wrkrun); echo "$busy" | grep -E 'Latency|Req/Sec|requests in|Requests/sec|^ +(50|90|99)%|Non-2xx|Socket errors'
P99=$(echo "$busy" | awk '$1=="99%"{print $2}')
echo "job phase afterwards: $(curl -sf -H "$AUTH" "$BASE/v1/jobs/$JOB" | json '(j.get("progress") or {}).get("phase")')"
[ "$(wait_job "$JOB" 900)" = succeeded ] || fail "bench job failed"

echo; echo "== 2. idle status requests/s"
idle=$(wrkrun); echo "$idle" | grep -E 'Latency|Requests/sec|^ +99%|Non-2xx|Socket errors'
RPS=$(echo "$idle" | awk '/Requests\/sec/{print $2}')

echo; echo "== 3. download throughput of model.safetensors on loopback"
FILE="$DATA/srv/jobs/$JOB/output/model.safetensors"
SIZE=$(stat -c %s "$FILE"); echo "file: $SIZE bytes"
cat "$FILE" > /dev/null    # page cache warm for both servers
NPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$DATA/nginx"
cat > "$DATA/nginx/nginx.conf" <<CONF
$([ "$(id -u)" = 0 ] && echo "user root;") worker_processes 1; daemon off; pid $DATA/nginx/nginx.pid; error_log $DATA/nginx/error.log;
events { worker_connections 64; }
http { access_log off; sendfile on; tcp_nopush on; client_body_temp_path $DATA/nginx; proxy_temp_path $DATA/nginx;
  fastcgi_temp_path $DATA/nginx; uwsgi_temp_path $DATA/nginx; scgi_temp_path $DATA/nginx;
  server { listen 127.0.0.1:$NPORT; root $DATA/srv/jobs/$JOB/output; } }
CONF
"$NGINX" -p "$DATA/nginx" -c "$DATA/nginx/nginx.conf" 2>"$DATA/nginx/stderr" & NGINX_PID=$!
for _ in $(seq 1 50); do curl -sf -o /dev/null -r 0-0 "http://127.0.0.1:$NPORT/model.safetensors" && break; sleep 0.1; done
best() {  # best of 5 transfers, in bytes/s
  local b=0 s
  for _ in 1 2 3 4 5; do
    s=$(curl -sf -o /dev/null -w '%{speed_download}' "$@" || echo 0); s=${s%.*}
    [ "$s" -gt "$b" ] && b=$s
  done
  echo "$b"
}
curl -sf -o /dev/null -r 0-0 "http://127.0.0.1:$NPORT/model.safetensors" || { cat "$DATA/nginx/stderr" "$DATA/nginx/error.log" 2>/dev/null; echo "nginx did not serve the file"; }
SURG=$(best -H "$AUTH" "$BASE/v1/jobs/$JOB/artifacts/model.safetensors")
NGX=$(best "http://127.0.0.1:$NPORT/model.safetensors")
fmt() { python3 -c "print('%.2f GB/s' % ($1 / 1e9))"; }
echo "surgeon: $(fmt "$SURG")   nginx: $(fmt "$NGX")   (best of 5, curl -o /dev/null)"

echo; echo "== summary"
echo "p99 status latency under load: $P99 (target ≤ 50ms)"
echo "idle status requests/s:         $RPS (target ≥ 20000)"
echo "download:                       surgeon $(fmt "$SURG"), nginx $(fmt "$NGX") (target ≥ 1 GB/s)"
