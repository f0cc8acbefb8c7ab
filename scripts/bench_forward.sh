#!/usr/bin/env bash
# Prints SmolLM2 forward throughput (one 2048-token window, 2 BLAS threads), the 512-token
# forward+backward time and peak RSS, and the dense perplexity on the first 3 WikiText-2 test windows.
# Usage: scripts/bench_forward.sh [MODEL]   MODEL: a .gguf file (default models/SmolLM2-135M-Instruct.Q4_1.gguf)
#        or an fp32 Hugging Face directory.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ge 1 ]; then
    case "$1" in
        *.gguf) export SURGEON_SMOLLM2_GGUF="$1" ;;
        *) export SURGEON_SMOLLM2_HF_DIR="$1" ;;
    esac
fi
swift build -c release --build-tests >/dev/null
for t in testBenchmarkForward2048_PrintsThroughput testGradients512Tokens_VisitsEveryLinearWithinMemory \
         testSmolLM2Perplexity_First3Windows_Is22_7319; do
    # Each test in its own process so peak RSS is per test.
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 \
        swift test -c release --skip-build --filter "SmolLM2Tests.$t" 2>&1 | grep -E "SmolLM2 |error|failed|skipped" || true
done
