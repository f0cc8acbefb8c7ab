#!/usr/bin/env bash
# Issue 14's figures for Gemma 3 270M (base): dense perplexity, then structured (rows/columns) 20 % and
# unstructured 50 % with LLM Surgeon, each exported (HF F32 and GGUF F32) and evaluated by Surgeon,
# transformers (Gemma3ForCausalLM, tokenizer from the export's tokenizer.gguf) and llama.cpp (llama-cpp-python), on the first
# WINDOWS × 2048 of WikiText-2 test with BOS at the start of the text (as Gemma's tokenizer adds it).
#   bash scripts/bench/gemma3.sh [OUT]      env: BIN, WINDOWS (3), SAMPLES (8), SEQLEN (512), SHOTS (2),
#                                                TORCH_PY (/work/venv-ref/bin/python), LLAMA_PY (/work/venv-llama/bin/python)
# transformers / llama.cpp columns are skipped (with a note) where their venv is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-/tmp/surgeon-gemma3}; mkdir -p "$out"
bin=${BIN:-.build/release/surgeon}; [ -x "$bin" ] || swift build -c release --product surgeon
model=models/gemma-3-270m-Q4_K_M.gguf
[ -f "$model" ] || { echo "no $model: run scripts/setup.sh" >&2; exit 1; }
W=${WINDOWS:-3}; TORCH_PY=${TORCH_PY:-/work/venv-ref/bin/python}; LLAMA_PY=${LLAMA_PY:-/work/venv-llama/bin/python}
text=../shared/data/wikitext2/test.txt
echo "== dense"
"$bin" eval --model "$model" --data "$text" --windows "$W" --json > "$out/dense.json"
cat "$out/dense.json"; echo
for v in "structured 0.2" "unstructured 0.5"; do
  set -- $v; name="$1-$2"
  if [ ! -f "$out/$name/report.json" ]; then
    echo "== prune $name"
    /usr/bin/time -v "$bin" prune --model "$model" --structure "$1" --method llm-surgeon --sparsity "$2" --shots "${SHOTS:-2}" \
      --calibration ../shared/data/wikitext2/valid.tokens --samples "${SAMPLES:-8}" --seqlen "${SEQLEN:-512}" --seed 100 \
      --eval "$text" --eval-windows "$W" --eval-seqlen 2048 --out "$out/$name" 2> >(tr '\r' '\n' | grep -v '^\[shot' | grep -E 'Maximum resident|Elapsed|perplexity|rror' >&2)
  fi
  "$bin" export --from "$out/$name" --format hf --out "$out/$name/hf" --no-eval --bench-seqlen 0 > /dev/null
  "$bin" export --from "$out/$name" --format gguf --out "$out/$name/model-F32.gguf" --no-eval --bench-seqlen 0 > /dev/null
  ppl=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print([s for s in r['shots'] if s.get('perplexity')][-1]['perplexity'])" "$out/$name/report.json")
  echo "$name: Surgeon perplexity $ppl"
  if [ -x "$TORCH_PY" ]; then
    "$TORCH_PY" scripts/verify_transformers.py --model "$out/$name/hf" --tokenizer "$out/$name/hf/tokenizer.gguf" --bos --text "$text" --windows "$W" --surgeon-ppl "$ppl" || true
  else echo "(no $TORCH_PY: transformers not run)"; fi
  if [ -x "$LLAMA_PY" ]; then
    "$LLAMA_PY" scripts/verify_llamacpp.py --gguf "$out/$name/model-F32.gguf" --bos --text "$text" --windows "$W" --surgeon-ppl "$ppl" || true
  else echo "(no $LLAMA_PY: llama.cpp not run)"; fi
done
