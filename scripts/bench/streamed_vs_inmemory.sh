#!/usr/bin/env bash
# Issue 12's streamed-mode benchmark on the standard structured configuration (SmolLM2, structured 30 % over
# 6 shots, calibration 16 × 512, evaluation on the first 16 test windows × 2048 after shots 2/4/6): the same
# job in memory and under --memory-budget 1.5GiB (which forces the streamed mode), one after the other.
# Prints the perplexities, the peak RSS (the run's own, per phase, and an outside sampler of VmRSS), the
# seconds per phase, the ratios, OpenBLAS sgemm measured just before each run and the load average around it
# (the machine is shared: a ratio means something only when both runs saw the same load).
#   bash scripts/bench/streamed_vs_inmemory.sh [OUT]     (SHOTS=2 for a shorter run)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-/tmp/surgeon-streamed-bench}; shots=${SHOTS:-6}
bin=.build/release/surgeon
[ -x "$bin" ] || swift build -c release --product surgeon
model=models/SmolLM2-135M-Instruct.Q4_1.gguf
args=(--model "$model" --structure structured --method llm-surgeon --sparsity "$(python3 -c "print(round(0.3 * $shots / 6, 4))")"
      --shots "$shots" --eval-every 2 --calibration ../shared/data/wikitext2/valid.tokens --samples 16 --seqlen 512 --seed 100
      --eval ../shared/data/wikitext2/test.txt --eval-windows 16 --eval-seqlen 2048)
mkdir -p "$out"
run() {  # run NAME [extra args]: one prune, sampled from outside
  local name=$1; shift
  rm -rf "${out:?}/$name"
  "$bin" bench --model "$model" --data ../shared/data/wikitext2/test.txt --what sgemm 2>/dev/null | tail -1 > "$out/$name.sgemm.json" || echo '{}' > "$out/$name.sgemm.json"
  cut -d' ' -f1-3 /proc/loadavg > "$out/$name.load_before"
  "$bin" prune "${args[@]}" "$@" --out "$out/$name" 2> "$out/$name.log" &
  local pid=$! peak=0 rss
  while kill -0 $pid 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
    [ "${rss:-0}" -gt "$peak" ] && peak=$rss
    sleep 0.5
  done
  wait $pid || { echo "$name failed:"; tail -5 "$out/$name.log"; exit 1; }
  echo "$peak" > "$out/$name.peak_kib"
  cut -d' ' -f1-3 /proc/loadavg > "$out/$name.load_after"
}
run inmemory
run streamed --memory-budget 1.5GiB
python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
GiB = 1 << 30
def load(name):
    r = json.load(open(os.path.join(out, name, "report.json")))
    try: g = json.load(open(os.path.join(out, name + ".sgemm.json"))).get("gflops")
    except Exception: g = None
    return r, int(open(os.path.join(out, name + ".peak_kib")).read()) * 1024, g, \
        open(os.path.join(out, name + ".load_before")).read().strip(), open(os.path.join(out, name + ".load_after")).read().strip()
(a, pa, ga, la0, la1), (b, pb, gb, lb0, lb1) = load("inmemory"), load("streamed")
print(f"mode: in memory {a['memory']['plan']['mode']}, streamed {b['memory']['plan']['mode']} "
      f"(weights {b['memory']['plan']['weights']}, budget {b['memory']['plan']['budget_bytes'] / GiB:.2f} GiB)")
print(f"sgemm before the run: {ga} / {gb} GFLOP/s; load average before → after: {la0} → {la1} / {lb0} → {lb1}")
print(f"{'':<28} {'in memory':>12} {'streamed':>12} {'ratio':>8}")
print(f"{'perplexity before':<28} {a['perplexity_before']:>12.4f} {b['perplexity_before']:>12.4f}")
for sa, sb in zip(a["shots"], b["shots"]):
    if sa.get("perplexity") and sb.get("perplexity"):
        print(f"{'perplexity after shot ' + str(sa['shot']):<28} {sa['perplexity']:>12.4f} {sb['perplexity']:>12.4f} "
              f"{100 * (sb['perplexity'] / sa['perplexity'] - 1):>+7.3f}%")
print(f"{'achieved sparsity':<28} {a['achieved_sparsity']:>12.6f} {b['achieved_sparsity']:>12.6f}")
ma, mb = a["memory"]["measured_peak_bytes"], b["memory"]["measured_peak_bytes"]
for ph in sorted(set(ma) | set(mb)):
    print(f"{'peak ' + ph + ' (GiB)':<28} {ma.get(ph, 0) / GiB:>12.3f} {mb.get(ph, 0) / GiB:>12.3f}")
print(f"{'peak, outside sampler (GiB)':<28} {pa / GiB:>12.3f} {pb / GiB:>12.3f} {pb / pa:>8.3f}")
print(f"{'planned peak (GiB)':<28} {a['memory']['plan']['peak_bytes'] / GiB:>12.3f} {b['memory']['plan']['peak_bytes'] / GiB:>12.3f}")
def phases(r):  # seconds per phase, summed over the shots, then the run's own totals
    t = {}
    for s in r["shots"]:
        for k, v in s["seconds"].items(): t["shots: " + k] = t.get("shots: " + k, 0) + v
    for k, v in r["seconds"].items(): t[k] = v
    return t
sa, sb = phases(a), phases(b)
for k in sorted(set(sa) | set(sb), key=lambda k: (k == "total", not k.startswith("shots"), k)):
    x, y = sa.get(k, 0), sb.get(k, 0)
    print(f"{'s ' + k:<28} {x:>12.1f} {y:>12.1f} {(y / x if x else float('nan')):>8.3f}")
PY
