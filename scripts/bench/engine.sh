#!/usr/bin/env bash
# Engine speed against PyTorch in the same run: forward over 2048-token windows, and the curvature pass
# (forward + backward at 512 tokens). Needs a venv with torch + transformers + gguf + accelerate outside
# the repository: VENV=/path/to/venv (default /work/venv-ref). Uses both cores, as a user's machine would.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-/work/venv-ref}
MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
DATA=../shared/data/wikitext2/test.txt
swift build -c release --product surgeon >/dev/null
RUN="env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE"
echo "# surgeon"
$RUN .build/release/surgeon bench --model $MODEL --data $DATA --what all --windows ${WINDOWS:-2} --samples ${SAMPLES:-4} | tee /tmp/bench_surgeon.jsonl
echo "# pytorch (transformers, fp32, 2 threads)"
$RUN THREADS=2 "$VENV/bin/python" scripts/bench/torch_reference.py forward --windows ${WINDOWS:-2} | tee /tmp/bench_torch_fwd.json
$RUN THREADS=2 "$VENV/bin/python" scripts/bench/torch_reference.py backward --samples ${SAMPLES:-4} | tee /tmp/bench_torch_bwd.json
python3 - <<'PY'
import json
s = [json.loads(l) for l in open("/tmp/bench_surgeon.jsonl")]
fwd = next(x for x in s if x["what"] == "forward"); cur = next(x for x in s if x["what"].startswith("curvature"))
tf = json.load(open("/tmp/bench_torch_fwd.json")); tb = json.load(open("/tmp/bench_torch_bwd.json"))
print(f"forward:   surgeon {fwd['tokens_per_second']:.0f} tok/s ({fwd['seconds_per_window']:.2f} s/window, {fwd['gflops']:.0f} GFLOP/s = {100*fwd['fraction_of_528_gflops_peak']:.0f}% of 528) vs pytorch {tf['tokens_per_second']:.0f} tok/s: ratio {fwd['tokens_per_second']/tf['tokens_per_second']:.2f}x")
print(f"curvature: surgeon {cur['tokens_per_second']:.0f} tok/s vs pytorch forward+backward {tb['tokens_per_second']:.0f} tok/s: ratio {cur['tokens_per_second']/tb['tokens_per_second']:.2f}x")
PY
