#!/usr/bin/env bash
# Sets up a fresh machine (system packages, the SmolLM2 model) and runs the whole test suite in
# release mode: the numeric tests touch the real model and are 10–50× slower in debug builds.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --build-tests
mkdir -p .build
status=0
swift test -c release --skip-build --disable-swift-testing 2>&1 | tee .build/test.log || status=$?
summary=$(grep -E "^\s*Executed [0-9]+ tests?, with [0-9]+ failures?" .build/test.log | tail -1)
total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
failed=$(echo "$summary" | sed -E 's/.*with ([0-9]+) failures?.*/\1/')
if [ -z "$summary" ]; then echo "test.sh: no XCTest summary found" >&2; exit 1; fi
echo "unit: $((total - failed)) passed, $failed failed"
exit $status
