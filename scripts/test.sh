#!/usr/bin/env bash
# Sets up a fresh machine (system packages, the SmolLM2 model) and runs the whole test suite in
# release mode: the numeric tests touch the real model and are 10–50× slower in debug builds.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --build-tests
swift test -c release --skip-build --parallel --num-workers 1 2>&1 | tee .build/test.log
