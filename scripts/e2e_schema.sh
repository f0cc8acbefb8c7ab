#!/usr/bin/env bash
# Schemathesis against a live `surgeon serve --runner simulated` with the real openapi.yaml: every
# response must conform (status codes, content types, headers, bodies) and no request may cause a
# 5xx. (The coverage phase is left out: schemathesis 4.32.5 crashes in it on Python 3.11 with
# "AST constructor recursion depth mismatch".) Schemathesis lives in a venv OUTSIDE the repository (created when missing).
#
#   swift build -c release --product surgeon && scripts/e2e_schema.sh
# Env: ST_VENV (/tmp/surgeon-ci-venv), ST_MAX_EXAMPLES (15), ST_MAX_TIME (150 s), ST_VERSION (4.32.5).
set -euo pipefail
source "$(dirname "$0")/e2e_lib.sh"
VENV="${ST_VENV:-/tmp/surgeon-ci-venv}"
if [ ! -x "$VENV/bin/schemathesis" ]; then
  echo "installing schemathesis ${ST_VERSION:-4.32.5} into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==${ST_VERSION:-4.32.5}"
fi
[ -x "$SURGEON" ] || fail "$SURGEON not built (swift build -c release --product surgeon)"
DATA="$(mktemp -d "${TMPDIR:-/tmp}/surgeon-schema.XXXXXX")"
new_token
cleanup() {
  stop_server
  if [ "${OK:-0}" = 1 ] && [ "${KEEP:-0}" != 1 ]; then rm -rf "$DATA"; else echo "(data, server.log and the report kept in $DATA)"; fi
}
trap cleanup EXIT
start_server "$DATA/srv" "$DATA/server.log" --runner simulated --sse-keepalive 1 --queue-capacity 1000
echo "server on $BASE"
# Something for the generated requests to find: a model, a text and a finished job.
printf 'calibration text\n' > "$DATA/t.txt"
curl -sf -H "$AUTH" -T "$DATA/t.txt" "$BASE/v1/texts/calib.txt" >/dev/null
curl -sf -H "$AUTH" -T "$DATA/t.txt" "$BASE/v1/models/m.bin" >/dev/null
JOB=$(curl -sf -H "$AUTH" -H 'Content-Type: application/json' -X POST "$BASE/v1/jobs" \
  -d '{"model":"m.bin","calibration":"calib.txt","sparsity":0.3,"shots":1}' | json 'j["id"]')
wait_job "$JOB" 60 >/dev/null

cd "$DATA"
set +e
timeout $(( ${ST_MAX_TIME:-150} + 60 )) "$VENV/bin/schemathesis" run "$ROOT/openapi.yaml" --url "$BASE" \
  -H "$AUTH" --checks all --exclude-checks positive_data_acceptance,use_after_free,ensure_resource_availability \
  --max-examples "${ST_MAX_EXAMPLES:-15}" --max-time "${ST_MAX_TIME:-150}" --request-timeout 10 \
  --phases examples,fuzzing,stateful --workers 2 --seed 1 --no-color --suppress-health-check all --warnings off \
  --report junit --report-dir "$DATA/report" 2>&1 | tee "$DATA/schemathesis.log"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 0 ] || { tail -n 20 "$DATA/server.log"; fail "schemathesis found non-conforming responses (rc $rc; see $DATA/schemathesis.log)"; }
OK=1
echo "OK: e2e_schema passed"
