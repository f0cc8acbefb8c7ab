#!/usr/bin/env bash
# Start here: sets the machine up (scripts/setup.sh), builds the release binary, prints a curl
# walkthrough, then runs `surgeon serve` on 127.0.0.1:8080 with its data under ./data.
# Extra arguments go to `surgeon serve` (e.g. `scripts/serve.sh --port 9000 --runner simulated`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product surgeon
HOST="${SURGEON_HOST:-127.0.0.1}"; PORT="${SURGEON_PORT:-8080}"; DATA="${SURGEON_DATA_DIR:-./data}"
for ((i = 1; i <= $#; i++)); do
  case "${!i}" in
    --port) j=$((i + 1)); PORT="${!j}" ;;
    --host) j=$((i + 1)); HOST="${!j}" ;;
    --data-dir) j=$((i + 1)); DATA="${!j}" ;;
  esac
done
mkdir -p "$DATA"
if [ -z "${SURGEON_TOKENS:-}${SURGEON_TOKEN_FILE:-}" ] && [ ! -s "$DATA/dev-token" ]; then
  # The same development token `surgeon serve` would create, made here so the walkthrough can show it.
  (umask 077; echo "dev-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$DATA/dev-token")
fi
TOKEN=$( [ -s "$DATA/dev-token" ] && tr -d '\n' < "$DATA/dev-token" || echo '<your token>')
B="http://$HOST:$PORT"
cat <<WALK

──────────────────────────────────────────────────────────────────────────────
Surgeon API on $B — in another terminal:

  export T='$TOKEN' B=$B
  # 1. upload the model (streamed) and a calibration text
  curl -fT models/SmolLM2-135M-Instruct.Q4_1.gguf -H "Authorization: Bearer \$T" \$B/v1/models/smollm2.gguf
  curl -fT ../shared/data/wikitext2/valid.tokens  -H "Authorization: Bearer \$T" \$B/v1/texts/calib.txt
  curl -fT ../shared/data/wikitext2/test.txt      -H "Authorization: Bearer \$T" \$B/v1/texts/test.txt
  # 2. submit a structured prune (20 % of the rows/columns, 2 shots, a few minutes on 2 cores)
  JOB=\$(curl -fs -H "Authorization: Bearer \$T" -H 'Content-Type: application/json' \$B/v1/jobs \\
    -d '{"model":"smollm2.gguf","calibration":"calib.txt","eval":"test.txt","structure":"structured",
         "sparsity":0.2,"shots":2,"samples":8,"seqlen":256,"eval_windows":4,"eval_seqlen":512}' \\
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'); echo \$JOB
  # 3. watch it (server-sent events; ends with the terminal status event)
  curl -N -H "Authorization: Bearer \$T" -H "Accept: text/event-stream" \$B/v1/jobs/\$JOB/events
  curl -s  -H "Authorization: Bearer \$T" \$B/v1/jobs/\$JOB | python3 -m json.tool
  # 4. download the pruned model (re-run the same command to resume an interrupted transfer)
  curl -f -C - -o model.safetensors -H "Authorization: Bearer \$T" \$B/v1/jobs/\$JOB/artifacts/model.safetensors
  curl -fs -H "Authorization: Bearer \$T" \$B/v1/jobs/\$JOB/archive.tar.gz | tar xz   # the whole HF directory

API: openapi.yaml · settings: config/README.md · Ctrl-C stops (running jobs resume at the next start)
──────────────────────────────────────────────────────────────────────────────

WALK
exec .build/release/surgeon serve --host "$HOST" --port "$PORT" --data-dir "$DATA" "$@"
