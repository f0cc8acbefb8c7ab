#!/usr/bin/env bash
# The standard benchmark configuration of the pruning issue, structured: SmolLM2, calibration
# valid.tokens 16 × 512 (seed 100), evaluation on the first 16 windows × 2048 of test.txt.
# 6 shots to 30 % (10/20/30 % at shots 2/4/6). Writes OUT/<variant>/report.json and prints a table.
# Usage: scripts/bench/standard_structured.sh OUT [variant ...]
#   variants: surgeon (defaults: damping 0.1/0.1) surgeon-ref (the reference's 0.01/0.01) surgeon-seq kobd magnitude
# The same on the sweep runner: surgeon sweep --grid config/sweeps/structured-test.json --out OUT
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:?output directory}; shift
VARIANTS=${*:-surgeon kobd magnitude surgeon-seq}
S=.build/release/surgeon
M=models/SmolLM2-135M-Instruct.Q4_1.gguf
COMMON="--model $M --structure structured --calibration ../shared/data/wikitext2/valid.tokens --samples 16 --seqlen 512 --seed 100 --eval ../shared/data/wikitext2/test.txt --eval-windows 16 --eval-seqlen 2048"
for v in $VARIANTS; do
  case $v in
    surgeon)     args="--method llm-surgeon --sparsity 0.3 --shots 6 --eval-every 2" ;;
    surgeon-ref) args="--method llm-surgeon --sparsity 0.3 --shots 6 --eval-every 2 --damp-g 0.01 --damp-a 0.01" ;;
    surgeon-seq) args="--method llm-surgeon --sparsity 0.3 --shots 6 --eval-every 2 --update-order sequential" ;;
    kobd)        args="--method kobd --sparsity 0.3 --shots 6 --eval-every 2" ;;
    magnitude)   args="--method magnitude --sparsity 0.3 --shots 3" ;;
    *) echo "unknown variant $v" >&2; exit 2 ;;
  esac
  [ -f "$OUT/$v/report.json" ] && { echo "$v: done already"; continue; }
  echo "== $v"
  /usr/bin/time -v $S prune $COMMON $args --out "$OUT/$v" 2> >(tr '\r' '\n' | grep -v '^\[shot' | grep -v '^\s*$' >&2)
done
python3 - "$OUT" $VARIANTS <<'PY'
import json, sys, os
out = sys.argv[1]
print(f"{'variant':<12} {'dense':>8} " + " ".join(f"{'shot'+str(i):>10}" for i in range(1, 7)) + "   seconds  peakGiB")
for v in sys.argv[2:]:
    p = os.path.join(out, v, "report.json")
    if not os.path.exists(p): continue
    r = json.load(open(p))
    cells = []
    for s in r["shots"]:
        cells.append(f"{s['perplexity']:.2f}@{s['achieved_sparsity']:.2f}" if s.get("perplexity") else "-")
    print(f"{v:<12} {r['perplexity_before']:>8.3f} " + " ".join(f"{c:>10}" for c in cells) +
          f"   {r['seconds'].get('total', 0):7.0f}  {r['peak_rss_bytes']/2**30:6.2f}")
PY
