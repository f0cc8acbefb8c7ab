#!/usr/bin/env bash
# Requests/s of the HTTP server for a small JSON response with keep-alive, measured with wrk.
#   scripts/bench_http.sh                 # release build, in-process test server (HTTPServerBenchmarkTests)
#   scripts/bench_http.sh URL             # any running server, e.g. `surgeon serve` on http://127.0.0.1:8080/v1/health
# Env: BENCH_CONNECTIONS (50), BENCH_DURATION (5s), BENCH_THREADS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
if [[ $# -ge 1 ]]; then
  wrk -t"${BENCH_THREADS:-2}" -c"${BENCH_CONNECTIONS:-50}" -d"${BENCH_DURATION:-5s}" --latency "$1"
  exit
fi
swift build -c release --build-tests
SURGEON_BENCH=1 swift test -c release --skip-build --filter HTTPServerBenchmarkTests 2>&1 \
  | grep -E "Requests/sec|Latency|Transfer/sec|BENCH|requests in|Socket errors|[0-9]+%" || true
