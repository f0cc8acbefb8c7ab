#!/usr/bin/env bash
# End-to-end walkthrough of the API with curl against `.build/release/surgeon serve` and the REAL
# pruning runner: upload the SmolLM2 GGUF (streamed PUT) and two texts, submit a small structured
# prune (idempotently), follow its SSE stream to the end, download model.safetensors with an
# interrupted and resumed Range transfer, check it against ETag / Repr-Digest, check report.json.
#
#   swift build -c release --product surgeon && scripts/e2e_curl.sh
#   RUNNER=simulated scripts/e2e_curl.sh          # the fake runner (no model work)
#   SHA_OUT=/tmp/sha scripts/e2e_curl.sh           # also write the model's sha256 (e2e_crash.sh compares)
#   KEEP=1 keeps the data dir; SPARSITY/SHOTS/SAMPLES/SEQLEN/EVAL_WINDOWS/EVAL_SEQLEN size the job.
set -euo pipefail
source "$(dirname "$0")/e2e_lib.sh"
RUNNER="${RUNNER:-real}"
LIMIT="${LIMIT:-600}"   # seconds the job may take

[ -x "$SURGEON" ] || fail "$SURGEON not built (swift build -c release --product surgeon)"
for f in "$MODEL" "$CALIB" "$EVAL"; do [ -f "$f" ] || fail "$f missing (scripts/setup.sh)"; done
DATA="$(mktemp -d "${TMPDIR:-/tmp}/surgeon-e2e.XXXXXX")"
new_token
cleanup() {
  stop_server
  if [ "${OK:-0}" = 1 ] && [ "${KEEP:-0}" != 1 ]; then rm -rf "$DATA"; else echo "(data and server.log kept in $DATA)"; fi
}
trap cleanup EXIT
start_server "$DATA/srv" "$DATA/server.log" --runner "$RUNNER" --sse-keepalive 2
echo "server on $BASE (runner $RUNNER)"

say "no token → 401 with WWW-Authenticate"
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/v1/jobs"); [ "$code" = 401 ] || fail "expected 401, got $code"

say "upload the model (streamed PUT, hashed while streaming)"
up=$(curl -sf -H "$AUTH" -T "$MODEL" "$BASE/v1/models/smollm2.gguf")
echo "$up" | head -c 300; echo
[ "$(echo "$up" | json 'j["sha256"]')" = "$(sha256sum "$MODEL" | cut -d' ' -f1)" ] || fail "upload sha256 differs"

say "upload the calibration and evaluation texts"
curl -sf -H "$AUTH" -T "$CALIB" "$BASE/v1/texts/calib.txt" >/dev/null
curl -sf -H "$AUTH" -T "$EVAL" "$BASE/v1/texts/test.txt" >/dev/null

say "an invalid job is refused with the field named (422)"
code=$(curl -s -o "$DATA/bad.json" -w '%{http_code}' -H "$AUTH" -H 'Content-Type: application/json' -X POST "$BASE/v1/jobs" \
  -d '{"model":"smollm2.gguf","calibration":"calib.txt","method":"wanda","structure":"structured","sparsity":0.3}')
[ "$code" = 422 ] || fail "invalid job gave $code: $(cat "$DATA/bad.json")"
python3 -c 'import json,sys; p={e["pointer"] for e in json.load(open(sys.argv[1]))["errors"]}; assert {"/method"} <= p, p' "$DATA/bad.json" \
  || fail "422 does not name /method: $(cat "$DATA/bad.json")"

say "submit a small real prune (twice with the same Idempotency-Key → same job)"
KEY="e2e-$(date +%s)"
BODY=$(small_job_body smollm2.gguf calib.txt test.txt)
echo "$BODY"
job=$(curl -sf -H "$AUTH" -H "Idempotency-Key: $KEY" -H 'Content-Type: application/json' -X POST "$BASE/v1/jobs" -d "$BODY")
again=$(curl -sf -H "$AUTH" -H "Idempotency-Key: $KEY" -H 'Content-Type: application/json' -X POST "$BASE/v1/jobs" -d "$BODY")
JOB=$(echo "$job" | json 'j["id"]')
[ "$JOB" = "$(echo "$again" | json 'j["id"]')" ] || fail "idempotent replay made a new job"
echo "job $JOB, memory estimate $(echo "$job" | json 'j.get("memory_estimate_bytes")') bytes"

say "follow the SSE stream until the terminal event"
timeout "$LIMIT" curl -sN -H "$AUTH" -H 'Accept: text/event-stream' "$BASE/v1/jobs/$JOB/events" > "$DATA/events.txt" || true
grep -E '^event:' "$DATA/events.txt" | sort | uniq -c
grep -q '^event: checkpoint' "$DATA/events.txt" || fail "no checkpoint event in the stream"
tail -n 3 "$DATA/events.txt"
status=$(curl -sf -H "$AUTH" "$BASE/v1/jobs/$JOB" | json 'j["status"]')
[ "$status" = succeeded ] || { curl -s -H "$AUTH" "$BASE/v1/jobs/$JOB"; tail -n 20 "$DATA/server.log"; fail "job ended $status"; }

say "result and checkpoints"
curl -sf -H "$AUTH" "$BASE/v1/jobs/$JOB" | json '"achieved sparsity %.4f, params %s -> %s, ppl %s -> %s" % (j["result"]["achieved_sparsity"], j["result"]["parameters_before"], j["result"]["parameters_after"], j["result"].get("perplexity_before"), j["result"].get("perplexity_after"))'
n=$(curl -sf -H "$AUTH" "$BASE/v1/jobs/$JOB/checkpoints" | json 'len(j["data"])')
[ "$n" = "${SHOTS:-2}" ] || fail "expected ${SHOTS:-2} checkpoints, got $n"

say "report.json"
curl -sf -H "$AUTH" -o "$DATA/report.json" "$BASE/v1/jobs/$JOB/artifacts/report.json"
python3 - "$DATA/report.json" "${SPARSITY:-0.1}" "${SHOTS:-2}" "$RUNNER" <<'PY' || fail "report.json is wrong"
import json, sys
r = json.load(open(sys.argv[1])); target = float(sys.argv[2]); shots = int(sys.argv[3])
for k in ["request", "achieved_sparsity", "parameters_before", "parameters_after", "prunable_parameters",
          "removed_parameters", "shots", "layers", "artifacts"]:
    assert k in r, f"missing {k}"
assert len(r["shots"]) == shots, r["shots"]
assert abs(r["achieved_sparsity"] - target) < 0.02, r["achieved_sparsity"]
assert r["parameters_after"] < r["parameters_before"] or r["removed_parameters"] > 0
if sys.argv[4] == "real":
    assert "model.safetensors" in r["artifacts"], r["artifacts"]
    assert r["perplexity_before"] and r["perplexity_after"] and r["perplexity_after"] > 1, (r["perplexity_before"], r["perplexity_after"])
print("report ok: sparsity %.4f, ppl %s -> %s, artifacts %s" % (r["achieved_sparsity"], r.get("perplexity_before"), r.get("perplexity_after"), r["artifacts"]))
PY

say "download model.safetensors: interrupted, then resumed with Range (curl -C -)"
NAME=model.safetensors
[ "$RUNNER" = real ] || NAME=$(curl -sf -H "$AUTH" "$BASE/v1/jobs/$JOB/artifacts" | json 'max(j["data"], key=lambda a: a["size"])["name"]')
read -r SIZE SHA <<<"$(curl -sf -H "$AUTH" "$BASE/v1/jobs/$JOB/artifacts" | json "' '.join(str(a[k]) for a in j['data'] if a['name']=='$NAME' for k in ('size','sha256'))")"
[ -n "$SHA" ] || fail "no artifact $NAME"
echo "$NAME: $SIZE bytes, sha256 $SHA"
OUT="$DATA/$NAME"
curl -s -H "$AUTH" -r 0-999999 -o "$OUT" "$BASE/v1/jobs/$JOB/artifacts/$NAME"        # first MB only
[ "$(stat -c %s "$OUT")" = 1000000 ] || fail "ranged first part has $(stat -c %s "$OUT") bytes"
curl -s -H "$AUTH" --limit-rate 20M --max-time 1 -C - -o "$OUT" "$BASE/v1/jobs/$JOB/artifacts/$NAME" || true   # cut off after 1 s
got=$(stat -c %s "$OUT"); echo "after the interrupted transfer: $got of $SIZE bytes"
[ "$got" -lt "$SIZE" ] || fail "the transfer was not interrupted"
curl -sf -H "$AUTH" -C - -o "$OUT" "$BASE/v1/jobs/$JOB/artifacts/$NAME"                # resume to the end
[ "$(sha256sum "$OUT" | cut -d' ' -f1)" = "$SHA" ] || fail "resumed download sha256 differs"
HEAD=$(curl -sfI -H "$AUTH" "$BASE/v1/jobs/$JOB/artifacts/$NAME" | tr -d '\r')
echo "$HEAD" | grep -iE '^(etag|repr-digest|accept-ranges|content-length):'
etag=$(echo "$HEAD" | sed -n 's/^[Ee][Tt]ag: *"\(.*\)"$/\1/p')
[ "$etag" = "$SHA" ] || fail "ETag $etag is not the sha256 $SHA"
digest=$(echo "$HEAD" | sed -n 's/^[Rr]epr-[Dd]igest: *sha-256=:\(.*\):$/\1/p')
[ "$(echo "$digest" | base64 -d | od -An -tx1 | tr -d ' \n')" = "$SHA" ] || fail "Repr-Digest $digest is not the sha256"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" -H "If-None-Match: \"$SHA\"" "$BASE/v1/jobs/$JOB/artifacts/$NAME")
[ "$code" = 304 ] || fail "If-None-Match gave $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" -r "$((SIZE + 10))-" "$BASE/v1/jobs/$JOB/artifacts/$NAME")
[ "$code" = 416 ] || fail "range past the end gave $code"
[ -n "${SHA_OUT:-}" ] && echo "$SHA" > "$SHA_OUT"

say "archive.tar.gz (the first entries; the whole archive gzips ~1 GB)"
names=$( (curl -s -H "$AUTH" "$BASE/v1/jobs/$JOB/archive.tar.gz" | tar tzf - 2>/dev/null | head -n 3) || true)
echo "$names"
echo "$names" | grep -q "^$JOB/checkpoints/" || fail "archive.tar.gz does not list the job's files"

say "metrics"
curl -sf "$BASE/metrics" | grep -E '^surgeon_(jobs|queue_depth|workers_busy)' || true

OK=1
echo
echo "OK: e2e_curl passed (job $JOB, runner $RUNNER)"
