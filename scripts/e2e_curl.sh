#!/usr/bin/env bash
# End-to-end walkthrough of the API with curl against `.build/release/surgeon serve`:
# upload a model and a calibration text, submit a job (idempotently), follow its SSE stream,
# download the pruned model with an interrupted and resumed Range transfer, check its sha256.
#
#   swift build -c release && scripts/e2e_curl.sh
#   RUNNER=simulated scripts/e2e_curl.sh          # without the real pruning runner
#   SURGEON=.build/debug/surgeon SPARSITY=0.2 SHOTS=2 KEEP=1 scripts/e2e_curl.sh   # KEEP=1 keeps the data dir
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SURGEON="${SURGEON:-$ROOT/.build/release/surgeon}"
MODEL="${MODEL:-$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
CALIB="${CALIB:-$ROOT/../shared/data/wikitext2/valid.tokens}"
RUNNER="${RUNNER:-real}"
SPARSITY="${SPARSITY:-0.3}"
SHOTS="${SHOTS:-2}"
PORT="${PORT:-18480}"
DATA="$(mktemp -d "${TMPDIR:-/tmp}/surgeon-e2e.XXXXXX")"
BASE="http://127.0.0.1:$PORT"
say() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[ -x "$SURGEON" ] || fail "$SURGEON not built (swift build -c release)"
[ -f "$MODEL" ] || fail "model $MODEL missing"
[ -f "$CALIB" ] || fail "calibration text $CALIB missing"

TOKEN="e2e-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
HASH="$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)"
AUTH="Authorization: Bearer $TOKEN"

SURGEON_TOKENS="e2e:$HASH" "$SURGEON" serve --port "$PORT" --data-dir "$DATA" --runner "$RUNNER" --sse-keepalive 2 \
  --default-calibration "$CALIB" > "$DATA/server.log" 2>&1 &
SERVER=$!
cleanup() {
  kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true
  if [ "${OK:-0}" = 1 ] && [ "${KEEP:-0}" != 1 ]; then rm -rf "$DATA"; else echo "(data and server.log kept in $DATA)"; fi
}
trap cleanup EXIT
for _ in $(seq 1 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "$BASE/readyz" >/dev/null || fail "server not ready; see $DATA/server.log"

say "no token → 401 with WWW-Authenticate"
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/v1/jobs"); [ "$code" = 401 ] || fail "expected 401, got $code"

say "upload the model (streamed, hashed while streaming)"
up=$(curl -sf -H "$AUTH" -T "$MODEL" "$BASE/v1/models/smollm2.gguf")
echo "$up"
[ "$(echo "$up" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sha256"])')" = "$(sha256sum "$MODEL" | cut -d' ' -f1)" ] \
  || fail "upload sha256 differs"

say "upload the calibration text"
curl -sf -H "$AUTH" -T "$CALIB" "$BASE/v1/texts/calib.txt" >/dev/null

say "submit a job (twice with the same Idempotency-Key → same job)"
KEY="e2e-$(date +%s)"
BODY="{\"model\":\"smollm2.gguf\",\"calibration\":\"calib.txt\",\"method\":\"llm-surgeon\",\"structure\":\"structured\",\"sparsity\":$SPARSITY,\"shots\":$SHOTS}"
job=$(curl -sf -H "$AUTH" -H "Idempotency-Key: $KEY" -H 'Content-Type: application/json' -X POST "$BASE/v1/jobs" -d "$BODY")
again=$(curl -sf -H "$AUTH" -H "Idempotency-Key: $KEY" -H 'Content-Type: application/json' -X POST "$BASE/v1/jobs" -d "$BODY")
JOB=$(echo "$job" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
[ "$JOB" = "$(echo "$again" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')" ] || fail "idempotent replay made a new job"
echo "job $JOB"

say "follow the SSE stream until the terminal event"
curl -sN -H "$AUTH" -H 'Accept: text/event-stream' "$BASE/v1/jobs/$JOB/events" | grep -E '^(id|event):|"status"' | tail -n 8
status=$(curl -sf -H "$AUTH" "$BASE/v1/jobs/$JOB" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
[ "$status" = succeeded ] || fail "job ended $status"

say "result"
curl -sf -H "$AUTH" "$BASE/v1/jobs/$JOB" | python3 -c '
import json,sys; j=json.load(sys.stdin); r=j["result"]
print("achieved sparsity", r["achieved_sparsity"], "params", r["parameters_before"], "->", r["parameters_after"])
print("perplexity", r.get("perplexity_before"), "->", r.get("perplexity_after"), "|", r.get("evaluation"))'
curl -sf -H "$AUTH" "$BASE/v1/jobs/$JOB/checkpoints" | python3 -c '
import json,sys; [print("shot", c["shot"], "sparsity", c["achieved_sparsity"], "ppl", c["perplexity"]) for c in json.load(sys.stdin)["data"]]'

say "download the largest artifact: interrupted, then resumed with Range"
art=$(curl -sf -H "$AUTH" "$BASE/v1/jobs/$JOB/artifacts" | python3 -c '
import json,sys; a=max(json.load(sys.stdin)["data"], key=lambda a: a["size"]); print(a["name"], a["size"], a["sha256"])')
read -r NAME SIZE SHA <<<"$art"
echo "$NAME: $SIZE bytes, sha256 $SHA"
OUT="$DATA/$NAME"
HALF=$((SIZE / 2))
curl -sf -H "$AUTH" -r "0-$((HALF - 1))" -o "$OUT" "$BASE/v1/jobs/$JOB/artifacts/$NAME"     # the "interrupted" first half
[ "$(stat -c %s "$OUT")" = "$HALF" ] || fail "first part has the wrong size"
curl -sf -H "$AUTH" -C - -o "$OUT" "$BASE/v1/jobs/$JOB/artifacts/$NAME"                     # resume where it stopped
[ "$(sha256sum "$OUT" | cut -d' ' -f1)" = "$SHA" ] || fail "resumed download sha256 differs"
curl -sfI -H "$AUTH" "$BASE/v1/jobs/$JOB/artifacts/$NAME" | grep -iE '^(etag|repr-digest|accept-ranges|content-length):'
code=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" -H "If-None-Match: \"$SHA\"" "$BASE/v1/jobs/$JOB/artifacts/$NAME")
[ "$code" = 304 ] || fail "If-None-Match gave $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" -r "$((SIZE + 10))-" "$BASE/v1/jobs/$JOB/artifacts/$NAME")
[ "$code" = 416 ] || fail "range past the end gave $code"

say "archive.tar.gz"
curl -sf -H "$AUTH" "$BASE/v1/jobs/$JOB/archive.tar.gz" | tar tzf - | head -n 20

say "metrics"
curl -sf "$BASE/metrics" | grep -E '^surgeon_(jobs|queue_depth|workers_busy)' || true

OK=1
echo
echo "OK: e2e walkthrough passed (job $JOB)"
