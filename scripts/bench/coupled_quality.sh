#!/usr/bin/env bash
# Coupled structured pruning on the standard configuration (16 × 512 calibration tokens of valid.tokens,
# seed 100, 6 shots to 30 %, perplexity after shots 2 / 4 / 6 on the first 16 test windows × 2048), for
# the variants of docs/quality.md "Coupled structures", keeping each final model (a sweep drops them) so
# that it can be evaluated on another text (scripts/bench/other_text.sh) and exported.
#   bash scripts/bench/coupled_quality.sh [VARIANT ...]    # outputs | members | uniform | bias (default: all)
# Outputs in ${OUT_ROOT:-/tmp/coupled-quality}/<variant>; a variant whose report.json exists is skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${SURGEON_BIN:-.build/release/surgeon}
DATA=../shared/data/wikitext2
ROOT=${OUT_ROOT:-/tmp/coupled-quality}
variants=${*:-"outputs members uniform bias"}
for v in $variants; do
  case $v in
    outputs) extra=(--coupled-cost outputs) ;;
    members) extra=(--coupled-cost members) ;;
    uniform) extra=(--coupled-cost outputs --uniform) ;;
    bias)    extra=(--coupled-cost outputs --bias-compensation) ;;
    *) echo "unknown variant $v" >&2; exit 2 ;;
  esac
  out=$ROOT/$v
  [ -f "$out/report.json" ] && { echo "$v: done earlier"; continue; }
  "$BIN" prune --model models/SmolLM2-135M-Instruct.Q4_1.gguf --structure coupled --sparsity 0.3 --shots 6 \
      --calibration "$DATA/valid.tokens" --samples 16 --seqlen 512 --seed 100 \
      --eval "$DATA/test.txt" --eval-windows 16 --eval-seqlen 2048 --eval-every 2 --out "$out" "${extra[@]}" 2>&1 \
    | tr '\r' '\n' | grep -a -E "shot [0-9]+/[0-9]+: target|dense perplexity|peak|wrote" || true
  python3 - "$out/report.json" "$v" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ppl = [f"{s['perplexity']:.4f}" for s in r["shots"] if s.get("perplexity") is not None]
sec = sum(s["seconds"].get("curvature", 0) + s["seconds"].get("prune", 0) for s in r["shots"])
print(f"{sys.argv[2]}: ppl after shots 2/4/6 {' / '.join(ppl)}; curvature + prune {sec:.0f} s; peak RSS {r.get('peak_rss_bytes', 0) / 2**30:.2f} GiB")
PY
done
