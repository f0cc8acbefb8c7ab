#!/usr/bin/env bash
# Issue 12's scale benchmark: one structured shot (4 × 256 calibration tokens, shot 1 of the standard 30 %/6-shot
# schedule, i.e. 5 %) on synthetic GGUFs of real shapes with random weights (memory and time only, never quality),
# under a memory budget. Prints the plan, the peak RSS measured by the run itself (report.json, per phase) and by
# an outside sampler of /proc/PID/status (VmRSS every 0.5 s), their ratio, and seconds per phase and per block.
#   bash scripts/bench/scale.sh tinyllama 6GiB
#   bash scripts/bench/scale.sh llama2-7b 20GiB
set -euo pipefail
cd "$(dirname "$0")/../.."
shape=${1:-tinyllama}; budget=${2:-6GiB}; work=${WORK:-/tmp/surgeon-scale}
bin=.build/release/surgeon
[ -x "$bin" ] || swift build -c release --product surgeon
mkdir -p "$work"
model="$work/$shape.gguf"
[ -f "$model" ] || python3 scripts/bench/synth_gguf.py --shape "$shape" --out "$model"
cal=../shared/data/wikitext2/valid.tokens
out="$work/$shape-out"; rm -rf "$out" "$work/$shape.timeline"
args=(--model "$model" --structure structured --sparsity 0.05 --shots 1 --samples 4 --seqlen 256 --calibration "$cal"
      --memory-budget "$budget" --dtype "${DTYPE:-f32}" --out "$out")
"$bin" plan "${args[@]}"
"$bin" prune "${args[@]}" 2> "$work/$shape.log" &
pid=$!
peak=0
while kill -0 $pid 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
  [ "${rss:-0}" -gt "$peak" ] && peak=$rss && echo "$peak" > "$work/$shape.peak_kib"
  sleep 0.5
  n=$((${n:-0} + 1))
  if [ $((n % 20)) = 0 ]; then  # every 10 s: the time, resident bytes and the run's latest progress line
    echo "$(date +%T) rss_kib=$rss $(tail -c 300 "$work/$shape.log" | tr '\r' '\n' | grep -a . | tail -1 | tr -d '\033' | sed 's/\[K//g')" >> "$work/$shape.timeline"
  fi
done
wait $pid || { echo "prune failed:"; tail -5 "$work/$shape.log"; exit 1; }
python3 - "$out/report.json" "$peak" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); m = r["memory"]; plan = m["plan"]; sampled = int(sys.argv[2]) * 1024
GiB = 1 << 30
print(f"mode {plan['mode']}, weights {plan['weights']}, budget {plan['budget_bytes']/GiB:.2f} GiB")
for p in plan["phases"]:
    got = m["measured_peak_bytes"].get(p["name"], 0)
    print(f"  {p['name']:10s} planned {p['bytes']/GiB:6.2f} GiB  measured {got/GiB:6.2f} GiB  planned/measured {p['bytes']/max(got,1):.3f}")
measured = max(m["measured_peak_bytes"].values())
print(f"peak: planned {plan['peak_bytes']/GiB:.2f} GiB, measured {measured/GiB:.2f} GiB (ratio {plan['peak_bytes']/measured:.3f}), outside sampler {sampled/GiB:.2f} GiB")
s = r["shots"][0]["seconds"]; blocks = len(r["layers"]) // 7
print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(s.items())))
print(f"per block ({blocks} blocks): curvature {s['curvature']/blocks:.2f} s, prune {s['prune']/blocks:.2f} s")
# The standard configuration: 16 × 512 calibration tokens (8× the tokens: the pass and the factor rebuilds scale
# with tokens; inverses and updates do not), 6 shots.
est = 6 * (8 * s["curvature"] + s.get("prune.factors", 0) * 8 + (s["prune"] - s.get("prune.factors", 0)))
print(f"extrapolated to 16×512, 6 shots (pass and factor rebuilds ×8 tokens): {est/3600:.2f} h without evaluation")
PY
