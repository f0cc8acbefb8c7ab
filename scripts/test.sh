#!/usr/bin/env bash
# Sets up a fresh machine (system packages, the SmolLM2 model) and runs the whole test suite in
# release mode: the numeric tests touch the real model and are 10–50× slower in debug builds.
# Then the service's end-to-end checks against the release binary over 127.0.0.1 (real processes,
# curl, schemathesis in a venv outside the repository): about 10–15 minutes on 2 loaded cores.
# SKIP_E2E=1 runs the Swift tests only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --build-tests
mkdir -p .build
status=0
swift test -c release --skip-build --disable-swift-testing 2>&1 | tee .build/test.log || status=$?
summary=$(grep -E "^\s*Executed [0-9]+ tests?, with .*failures?" .build/test.log | tail -1)
if [ -z "$summary" ]; then echo "test.sh: no XCTest summary found" >&2; exit 1; fi
total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
failed=$(echo "$summary" | sed -E 's/.* ([0-9]+) failures?.*/\1/')
passed=$((total - failed))
if [ "$status" != 0 ] || [ "${SKIP_E2E:-0}" = 1 ]; then
  echo "tests: $passed passed, $failed failed"
  exit $status
fi

swift build -c release --product surgeon      # already built above; makes sure the binary is there
e2e() {  # e2e SECONDS SCRIPT [env...]: one bounded end-to-end check
  local limit="$1" script="$2"; shift 2
  echo; echo "=== $script (limit ${limit}s)"
  local t0=$SECONDS
  if env "$@" timeout --kill-after=10 "$limit" bash "scripts/$script"; then
    passed=$((passed + 1)); echo "=== $script passed in $((SECONDS - t0))s"
  else
    failed=$((failed + 1)); echo "=== $script FAILED"
  fi
}
REF=$(mktemp "${TMPDIR:-/tmp}/surgeon-ref-sha.XXXXXX")
trap 'rm -f "$REF"' EXIT
e2e 240 e2e_edges.sh                                   # malformed requests, cancellation, full disk (simulated runner)
e2e 420 e2e_schema.sh ST_MAX_TIME=120                  # schemathesis vs openapi.yaml (simulated runner)
e2e 900 e2e_curl.sh SHA_OUT="$REF"                     # a real prune end to end, resumed download
e2e 1200 e2e_crash.sh REF_SHA="$(cat "$REF")"          # kill -9 mid-shot, resume, byte-identical model

echo "tests: $passed passed, $failed failed"
[ "$failed" = 0 ]
