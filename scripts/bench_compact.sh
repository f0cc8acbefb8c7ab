#!/usr/bin/env bash
# Coupled structured pruning on the standard configuration (16 × 512 calibration tokens of valid.tokens,
# seed 100, the default 6 shots), then the compact exports with the measured table (parameters, bytes,
# perplexity masked vs compact on the first 16 test windows × 2048, FLOPs per token) and the speed figures:
#   - 20 % and 30 %: compact GGUF with per-layer widths (padded to multiples of 32), llama.cpp's perplexity
#     of it (scripts/verify_llamacpp.py) and llama.cpp's speed against the masked GGUF
#     (scripts/bench_llamacpp.py), when llama-cpp-python is installed;
#   - 20 % with --uniform: compact Hugging Face directory with a standard config.json, and transformers'
#     perplexity of it when torch + transformers are installed (scripts/verify_transformers.py);
#   - every level: Surgeon's forward speed, masked against compact, timed alternately (`surgeon bench --compact`).
# A pruning output that exists is reused; the exports and measurements are redone.
# Usage: scripts/bench_compact.sh [LEVELS] [UNIFORM_LEVELS]   (run from the package root; outputs in /tmp)
set -euo pipefail
LEVELS=${1:-"0.2 0.3"}; UNIFORM_LEVELS=${2:-"0.2"}
BIN=${SURGEON_BIN:-.build/release/surgeon}
MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
DATA=../shared/data/wikitext2
LLAMA_PY=${SURGEON_LLAMA_PYTHON:-/work/venv-llama/bin/python}
TORCH_PY=${SURGEON_TORCH_PYTHON:-/work/venv-ref/bin/python}
[ -x "$BIN" ] || swift build -c release --product surgeon
SURGEON() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$BIN" "$@"; }
prune() {  # OUT, extra prune flags…
  local out=$1; shift
  [ -f "$out/report.json" ] && return 0
  SURGEON prune --model "$MODEL" --structure coupled \
      --calibration "$DATA/valid.tokens" --samples 16 --seqlen 512 --seed 100 \
      --eval "$DATA/test.txt" --eval-windows 16 --eval-seqlen 2048 --eval-every 6 --out "$out" "$@"
}
speed() {  # OUT: Surgeon's forward, masked against compact (exact widths, in memory), 4 windows × 512 tokens, 8 alternating passes
  SURGEON bench --what forward --model "$1" --compact --data "$DATA/test.txt" --seqlen 512 --windows 4 --reps 8
}
for S in $LEVELS; do
  OUT=/tmp/bench-compact-${S/./}
  prune "$OUT" --sparsity "$S"
  SURGEON export --from "$OUT" --format gguf --compact --storage F32 --bench-seqlen 0
  SURGEON export --from "$OUT" --format gguf --storage F32 --out "$OUT/export-masked-F32.gguf" --no-eval --bench-seqlen 0 >/dev/null
  speed "$OUT"
  if "$LLAMA_PY" -c "import llama_cpp" 2>/dev/null; then
    "$LLAMA_PY" scripts/verify_llamacpp.py --gguf "$OUT/export-compact-F32.gguf" --text "$DATA/test.txt" \
        --windows 16 --seqlen 2048 --report "$OUT/report.json"
    "$LLAMA_PY" scripts/bench_llamacpp.py --gguf "$OUT/export-masked-F32.gguf" --compare "$OUT/export-compact-F32.gguf" \
        --text "$DATA/test.txt" --seqlen 512 --windows 4 --reps 5
  else
    echo "llama-cpp-python not installed: skipping the llama.cpp checks"
  fi
done
for S in $UNIFORM_LEVELS; do
  OUT=/tmp/bench-compact-uniform-${S/./}
  prune "$OUT" --sparsity "$S" --uniform
  SURGEON export --from "$OUT" --format hf --compact --uniform --bench-seqlen 0
  speed "$OUT"
  if "$TORCH_PY" -c "import torch, transformers" 2>/dev/null; then
    "$TORCH_PY" scripts/verify_transformers.py --model "$OUT/export-compact-hf" --tokenizer "$MODEL" --text "$DATA/test.txt" \
        --windows 16 --seqlen 2048 --report "$OUT/report.json"
  else
    echo "torch/transformers not installed: skipping the transformers check"
  fi
done
