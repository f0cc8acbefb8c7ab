#!/usr/bin/env bash
# Perplexity of pruned models on text that no setting was chosen on (issue 15: "the same ordering must hold
# on text that no choice was made on"). The text is the Debian machine's own licence files (legal English,
# nothing like WikiText), concatenated in a fixed order; its sha256 is printed so runs can be compared.
#
#   bash scripts/bench/other_text.sh MODEL [MODEL ...]      # GGUF files or Hugging Face directories
set -euo pipefail
cd "$(dirname "$0")/../.."
text=${OTHER_TEXT:-/tmp/surgeon-other-text.txt}
: > "$text"
for f in Apache-2.0 Artistic CC0-1.0 GFDL-1.3 GPL-2 GPL-3 LGPL-2.1 MPL-1.1 MPL-2.0; do
  cat "/usr/share/common-licenses/$f" >> "$text"
done
echo "text: $text, $(wc -c < "$text") bytes, sha256 $(sha256sum "$text" | cut -c1-16)…"
for m in "$@"; do
  printf '%s\t' "$m"
  .build/release/surgeon eval --model "$m" --data "$text" --seqlen 2048 --json
done
