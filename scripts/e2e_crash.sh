#!/usr/bin/env bash
# Crash recovery with the REAL runner: submit the small prune, `kill -9` the server while shot 2
# runs (its job's worker process must die with it), restart it on the same data dir; the job
# resumes (attempt 2) after shot 1 and succeeds,
# its model.safetensors is byte-identical to an uninterrupted run's, and the uploads survive.
#
#   scripts/e2e_crash.sh                      # runs the uninterrupted reference job first
#   REF_SHA=<sha256> scripts/e2e_crash.sh     # compare with a known sha (e2e_curl.sh SHA_OUT=…)
set -euo pipefail
source "$(dirname "$0")/e2e_lib.sh"
LIMIT="${LIMIT:-600}"
[ -x "$SURGEON" ] || fail "$SURGEON not built (swift build -c release --product surgeon)"
DATA="$(mktemp -d "${TMPDIR:-/tmp}/surgeon-crash.XXXXXX")"
new_token
cleanup() {
  stop_server
  if [ "${OK:-0}" = 1 ] && [ "${KEEP:-0}" != 1 ]; then rm -rf "$DATA"; else echo "(data and server.log kept in $DATA)"; fi
}
trap cleanup EXIT
start_server "$DATA/srv" "$DATA/server.log" --sse-keepalive 2
echo "server on $BASE"

say "upload the model and texts"
MSHA=$(curl -sf -H "$AUTH" -T "$MODEL" "$BASE/v1/models/smollm2.gguf" | json 'j["sha256"]')
curl -sf -H "$AUTH" -T "$CALIB" "$BASE/v1/texts/calib.txt" >/dev/null
curl -sf -H "$AUTH" -T "$EVAL" "$BASE/v1/texts/test.txt" >/dev/null
BODY=$(small_job_body smollm2.gguf calib.txt test.txt)
submit() { curl -sf -H "$AUTH" -H 'Content-Type: application/json' -X POST "$BASE/v1/jobs" -d "$BODY" | json 'j["id"]'; }
artifact_sha() {
  curl -sf -H "$AUTH" "$BASE/v1/jobs/$1/artifacts" | json "[a['sha256'] for a in j['data'] if a['name']=='model.safetensors'][0]"
}

REF="${REF_SHA:-}"
if [ -z "$REF" ]; then
  say "reference: the same job, uninterrupted"
  RJOB=$(submit)
  [ "$(wait_job "$RJOB" "$LIMIT")" = succeeded ] || fail "reference job $RJOB did not succeed"
  REF=$(artifact_sha "$RJOB")
fi
echo "reference model.safetensors sha256 $REF"

say "submit, wait for shot 2 to run, kill -9 the server"
JOB=$(submit); echo "job $JOB"
shot=0
for _ in $(seq 1 $((LIMIT * 5))); do
  read -r st shot phase <<<"$(curl -sf -H "$AUTH" "$BASE/v1/jobs/$JOB" | json '"%s %s %s" % (j["status"], (j.get("progress") or {}).get("shot", 0), (j.get("progress") or {}).get("phase", "-"))')"
  [ "$st" = running ] && [ "$shot" -ge 2 ] && [ "$phase" != done ] && break
  case "$st" in succeeded|failed|cancelled) fail "job ended $st before shot 2 could be interrupted" ;; esac
  sleep 0.2
done
[ "$shot" -ge 2 ] || fail "shot 2 never started"
# The job runs in its own `surgeon worker` process (job_processes), which must die with the server.
WORKER_ARGS="worker --job-dir $DATA/srv/jobs/$JOB/output"
WORKER=$(pgrep -f -- "$WORKER_ARGS" || true)
[ -n "$WORKER" ] || fail "no worker process for job $JOB ($WORKER_ARGS)"
echo "shot $shot, phase $phase: kill -9 $SERVER (worker process $WORKER)"
kill -9 "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
for _ in $(seq 1 50); do pgrep -f -- "$WORKER_ARGS" >/dev/null || break; sleep 0.1; done
! pgrep -f -- "$WORKER_ARGS" >/dev/null || fail "worker process $WORKER outlived the killed server"
ls "$DATA/srv/jobs/$JOB/output/checkpoints/"

say "restart on the same data dir; the job resumes after shot 1"
start_server "$DATA/srv" "$DATA/server.log" --sse-keepalive 2
[ "$(wait_job "$JOB" "$LIMIT")" = succeeded ] || { tail -n 30 "$DATA/server.log"; fail "job $JOB did not succeed after the restart"; }
attempt=$(curl -sf -H "$AUTH" "$BASE/v1/jobs/$JOB" | json 'j.get("attempt")')
echo "attempt $attempt"
[ "$attempt" = 2 ] || fail "expected attempt 2, got $attempt"
grep -q "resuming after shot 1" "$DATA/server.log" || fail "the runner did not resume after shot 1 (server.log)"
GOT=$(artifact_sha "$JOB")
echo "resumed model.safetensors sha256 $GOT"
[ "$GOT" = "$REF" ] || fail "resumed model differs from the uninterrupted run ($GOT vs $REF)"
curl -sf -H "$AUTH" -o "$DATA/m.st" "$BASE/v1/jobs/$JOB/artifacts/model.safetensors"
[ "$(sha256sum "$DATA/m.st" | cut -d' ' -f1)" = "$REF" ] || fail "downloaded bytes differ from the listed sha256"

say "uploads survived the crash"
[ "$(curl -sf -H "$AUTH" "$BASE/v1/models/smollm2.gguf" | json 'j["sha256"]')" = "$MSHA" ] || fail "model record lost"
for t in calib.txt test.txt; do curl -sf -H "$AUTH" "$BASE/v1/texts/$t" >/dev/null || fail "text $t lost"; done
OK=1
echo
echo "OK: e2e_crash passed (job $JOB resumed on attempt $attempt, byte-identical model)"
