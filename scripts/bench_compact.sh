#!/usr/bin/env bash
# Coupled structured pruning at 20 % and 30 %, then compact GGUF export with the measured table
# (parameters, bytes, perplexity masked vs compact, forward tokens/s and FLOPs per token), and
# llama.cpp's perplexity of the compact GGUF when llama-cpp-python is installed.
# Usage: scripts/bench_compact.sh [METHOD] [SAMPLES] [SEQLEN] [EVAL_WINDOWS]   (run from the package root)
set -euo pipefail
METHOD=${1:-llm-surgeon}; SAMPLES=${2:-16}; SEQLEN=${3:-512}; WINDOWS=${4:-16}
BIN=.build/release/surgeon
MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
DATA=../shared/data/wikitext2
PY=${SURGEON_LLAMA_PYTHON:-/work/venv-llama/bin/python}
[ -x "$BIN" ] || swift build -c release --product surgeon
for S in 0.2 0.3; do
  OUT=/tmp/bench-compact-$METHOD-${S/./}
  [ -f "$OUT/report.json" ] || env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$BIN" prune --model "$MODEL" \
      --structure coupled --method "$METHOD" --sparsity "$S" --shots 2 --calibration "$DATA/valid.tokens" \
      --samples "$SAMPLES" --seqlen "$SEQLEN" --seed 100 --out "$OUT"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$BIN" export --from "$OUT" --format gguf --compact --storage F32 \
      --eval "$DATA/test.txt" --eval-windows "$WINDOWS" --eval-seqlen 2048
  if "$PY" -c "import llama_cpp" 2>/dev/null; then
    "$PY" scripts/verify_llamacpp.py --gguf "$OUT/export-compact-F32.gguf" --text "$DATA/test.txt" \
        --windows "$WINDOWS" --seqlen 2048 --report "$OUT/report.json"
  else
    echo "llama-cpp-python not installed: skipping llama.cpp check"
  fi
done
