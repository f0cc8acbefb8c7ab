# Shared helpers of the scripts/e2e_*.sh checks (sourced, not run). Every server listens on
# 127.0.0.1 on a free port (port 0; the port is read from the "serving on" line it prints).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SURGEON="${SURGEON:-$ROOT/.build/release/surgeon}"
MODEL="${MODEL:-$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
CALIB="${CALIB:-$ROOT/../shared/data/wikitext2/valid.tokens}"
EVAL="${EVAL:-$ROOT/../shared/data/wikitext2/test.txt}"

say() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# json EXPR: evaluates a Python expression over the JSON document on stdin, bound to `j`.
json() { python3 -c "import json,sys; j=json.load(sys.stdin); r=($1); print('' if r is None else r)"; }

# new_token: sets TOKEN, HASH and AUTH (an Authorization header line).
new_token() {
  TOKEN="e2e-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  HASH="$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)"
  AUTH="Authorization: Bearer $TOKEN"
}

# start_server DATA_DIR LOG [serve flags...]: starts `surgeon serve` in the background; sets SERVER
# (its pid), PORT and BASE once it answers /readyz (fails after 60 s).
start_server() {
  local data="$1" log="$2"; shift 2
  SURGEON_TOKENS="e2e:$HASH" "$SURGEON" serve --host 127.0.0.1 --port 0 --data-dir "$data" "$@" >>"$log" 2>&1 &
  SERVER=$!
  PORT=""
  for _ in $(seq 1 600); do
    PORT=$(sed -n 's|.*serving on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$log" | tail -n 1)
    [ -n "$PORT" ] && curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    kill -0 "$SERVER" 2>/dev/null || fail "server exited at start; see $log"
    PORT=""; sleep 0.1
  done
  [ -n "$PORT" ] || fail "server not ready after 60 s; see $log"
  BASE="http://127.0.0.1:$PORT"
  # The log keeps earlier starts' lines; forget them so the next start reads its own port.
  echo "(started pid $SERVER on port $PORT)" >>"$log"
}

stop_server() {
  if [ -n "${SERVER:-}" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=""; fi
}

# wait_job ID SECONDS: polls the job until it is terminal; prints the final status.
wait_job() {
  local id="$1" limit="$2" s=""
  for _ in $(seq 1 $((limit * 2))); do
    s=$(curl -sf -H "$AUTH" "$BASE/v1/jobs/$id" | json 'j["status"]') || true
    case "$s" in succeeded|failed|cancelled) echo "$s"; return 0 ;; esac
    sleep 0.5
  done
  echo "timeout($s)"
}

# small_job_body MODEL CALIB EVAL: the JSON of the small real prune the e2e checks run.
small_job_body() {
  printf '{"model":"%s","calibration":"%s","eval":"%s","structure":"structured","method":"llm-surgeon","sparsity":%s,"shots":%s,"samples":%s,"seqlen":%s,"eval_windows":%s,"eval_seqlen":%s}' \
    "$1" "$2" "$3" "${SPARSITY:-0.1}" "${SHOTS:-2}" "${SAMPLES:-2}" "${SEQLEN:-64}" "${EVAL_WINDOWS:-1}" "${EVAL_SEQLEN:-128}"
}
