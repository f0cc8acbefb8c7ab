#!/usr/bin/env bash
# SSE fan-out figures (a benchmark, not a test; prints numbers, asserts nothing). Runs the same small real prune
# twice on one server: first with no event-stream clients, then with BENCH_CLIENTS (100) `curl -N` clients following
# GET /v1/jobs/{id}/events (Accept: text/event-stream). For each run it measures, during the job's curvature pass,
# the latency of BENCH_REQUESTS (200) GET /v1/jobs/{id} (one keep-alive connection, p50/p99), and the job's
# curvature seconds (report.json, summed over shots). Targets: p99 ≤ 50 ms with the clients; curvature with the
# clients within 5 % of without.
#   swift build -c release --product surgeon && scripts/bench_sse.sh
#   (or SURGEON=/path/to/release/surgeon scripts/bench_sse.sh)
# Env: BENCH_CLIENTS (100), BENCH_REQUESTS (200), SHOTS (2), SAMPLES (4), SEQLEN (128).
set -euo pipefail
source "$(dirname "$0")/e2e_lib.sh"
[ -x "$SURGEON" ] || fail "$SURGEON not built (swift build -c release --product surgeon)"
CLIENTS="${BENCH_CLIENTS:-100}"; REQUESTS="${BENCH_REQUESTS:-200}"
DATA="$(mktemp -d "${TMPDIR:-/tmp}/surgeon-bench-sse.XXXXXX")"
CURLS=()
new_token
cleanup() {
  for p in "${CURLS[@]}"; do kill "$p" 2>/dev/null || true; done
  stop_server
  [ "${KEEP:-0}" = 1 ] && echo "(kept $DATA)" || rm -rf "$DATA"
}
trap cleanup EXIT
start_server "$DATA/srv" "$DATA/server.log"
curl -sf -H "$AUTH" -T "$MODEL" "$BASE/v1/models/smollm2.gguf" >/dev/null
curl -sf -H "$AUTH" -T "$CALIB" "$BASE/v1/texts/calib.txt" >/dev/null
curl -sf -H "$AUTH" -T "$EVAL" "$BASE/v1/texts/test.txt" >/dev/null

# latency ID: REQUESTS sequential GET /v1/jobs/ID on one keep-alive connection, 5 ms apart; prints "p50 p99" in ms.
latency() {
  python3 - "$PORT" "$1" "$TOKEN" "$REQUESTS" <<'PY'
import http.client, sys, time
port, job, token, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
out = []
for _ in range(n):
    t = time.perf_counter()
    c.request("GET", "/v1/jobs/" + job, headers={"Authorization": "Bearer " + token})
    r = c.getresponse(); r.read()
    out.append((time.perf_counter() - t) * 1000)
    if r.status != 200: sys.exit("status %d" % r.status)
    time.sleep(0.005)
out.sort()
print("%.2f %.2f" % (out[len(out) // 2], out[min(len(out) - 1, int(len(out) * 0.99))]))
PY
}

# run CLIENTS: submits the job, attaches CLIENTS SSE clients while it is queued or starting, measures latency once
# the curvature pass runs, waits for the end; sets LAT ("p50 p99"), CURV (seconds), EVENTS and ENDED (clients that
# received the terminal event and closed).
run() {
  local n="$1" dir="$DATA/run-$1" job phase
  mkdir -p "$dir"; CURLS=()
  job=$(curl -sf -H "$AUTH" -H 'Content-Type: application/json' -X POST "$BASE/v1/jobs" \
    -d "$(SHOTS=${SHOTS:-2} SAMPLES=${SAMPLES:-4} SEQLEN=${SEQLEN:-128} small_job_body smollm2.gguf calib.txt test.txt)" | json 'j["id"]')
  for i in $(seq 1 "$n"); do
    curl -sN -H "$AUTH" -H 'Accept: text/event-stream' "$BASE/v1/jobs/$job/events" >"$dir/sse-$i.txt" 2>/dev/null &
    CURLS+=($!)
  done
  for _ in $(seq 1 600); do
    phase=$(curl -sf -H "$AUTH" "$BASE/v1/jobs/$job" | json '(j.get("progress") or {}).get("phase","")')
    [ "$phase" = curvature ] && break; sleep 0.1
  done
  LAT=$(latency "$job")
  [ "$(wait_job "$job" 900)" = succeeded ] || fail "bench job $job did not succeed"
  CURV=$(curl -sf -H "$AUTH" "$BASE/v1/jobs/$job/artifacts/report.json" \
    | json 'round(sum((s.get("seconds") or {}).get("curvature", 0) for s in j["shots"]), 3)')
  EVENTS=$(curl -sN -H "$AUTH" -H 'Accept: text/event-stream' "$BASE/v1/jobs/$job/events" | grep -c '^id: ')
  local waited=0
  for p in "${CURLS[@]}"; do
    while kill -0 "$p" 2>/dev/null && [ "$waited" -lt 300 ]; do sleep 0.1; waited=$((waited + 1)); done
  done
  ENDED=0
  for i in $(seq 1 "$n"); do grep -q '"status":"succeeded"' "$dir/sse-$i.txt" && ENDED=$((ENDED + 1)); done
  MINIDS=$( { for i in $(seq 1 "$n"); do grep -c '^id: ' "$dir/sse-$i.txt"; done; echo 999999; } | sort -n | head -1)
  echo "job $job: $n SSE clients; GET /v1/jobs/{id} during curvature p50 ${LAT% *} ms, p99 ${LAT#* } ms;" \
       "curvature ${CURV} s; clients ended with the terminal event: $ENDED/$n"
  [ "$n" -gt 0 ] && echo "   fewest events a client received: $MINIDS of the job's $EVENTS"
  return 0
}

echo "== SSE fan-out on $(nproc) cores (load $(cut -d' ' -f1 /proc/loadavg))"
run 0;          P99_0=${LAT#* }; CURV_0=$CURV
run "$CLIENTS"; P99_N=${LAT#* }; CURV_N=$CURV
echo; echo "== summary"
echo "p99 GET /v1/jobs/{id}: ${P99_0} ms with no clients, ${P99_N} ms with $CLIENTS SSE clients (target ≤ 50 ms)"
echo "curvature seconds:     ${CURV_0} s with no clients, ${CURV_N} s with $CLIENTS SSE clients," \
     "ratio $(python3 -c "print('%.3f' % ($CURV_N / $CURV_0))") (target ≤ 1.05)"
