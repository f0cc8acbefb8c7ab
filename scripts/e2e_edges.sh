#!/usr/bin/env bash
# Edge cases over real sockets against `surgeon serve --runner simulated` (no model work):
# malformed requests (bad JSON, wrong types, huge headers, bad Range, traversal names, wrong
# token, another owner's job), cancellation in every state, and a full disk during an upload
# (a 24 MiB tmpfs data dir when `mount` is allowed, else skipped). Runs in well under a minute.
#
#   swift build -c release --product surgeon && scripts/e2e_edges.sh
set -euo pipefail
source "$(dirname "$0")/e2e_lib.sh"
[ -x "$SURGEON" ] || fail "$SURGEON not built (swift build -c release --product surgeon)"
DATA="$(mktemp -d "${TMPDIR:-/tmp}/surgeon-edges.XXXXXX")"
new_token
TOKEN2="other-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
HASH2="$(printf %s "$TOKEN2" | sha256sum | cut -d' ' -f1)"
AUTH2="Authorization: Bearer $TOKEN2"
FULL=""
cleanup() {
  stop_server
  [ -n "$FULL" ] && umount "$FULL" 2>/dev/null || true
  if [ "${OK:-0}" = 1 ] && [ "${KEEP:-0}" != 1 ]; then rm -rf "$DATA"; else echo "(data and server.log kept in $DATA)"; fi
}
trap cleanup EXIT
HASH="$HASH,other:$HASH2" start_server "$DATA/srv" "$DATA/server.log" --runner simulated --workers 1
echo "server on $BASE"
expect() {  # expect CODE[|CODE…] DESCRIPTION curl-args...
  local want="$1" what="$2"; shift 2
  local got; got=$(curl -s -o "$DATA/last" -w '%{http_code}' "$@" || true)
  [[ "|$want|" == *"|$got|"* ]] || fail "$what: expected $want, got $got: $(head -c 400 "$DATA/last")"
  echo "ok  $got  $what"
}
J=(-H "$AUTH" -H 'Content-Type: application/json')

say "malformed requests"
printf 'hello world\n' > "$DATA/calib.txt"
head -c 3000000 /dev/urandom > "$DATA/fake.gguf"
expect 201 "upload a text" -H "$AUTH" -T "$DATA/calib.txt" "$BASE/v1/texts/calib.txt"
expect 201 "upload a (fake) model" -H "$AUTH" -T "$DATA/fake.gguf" "$BASE/v1/models/m.bin"
expect 401 "no token" "$BASE/v1/jobs"
expect 401 "wrong token" -H "Authorization: Bearer nope" "$BASE/v1/jobs"
expect 401 "malformed Authorization" -H "Authorization: Basic Zm9vOmJhcg==" "$BASE/v1/jobs"
expect 400 "bad JSON" "${J[@]}" -X POST "$BASE/v1/jobs" -d '{"model": "m.bin", "sparsity": 0.3'
expect 400 "JSON array body" "${J[@]}" -X POST "$BASE/v1/jobs" -d '[1,2]'
expect 400 "empty body" "${J[@]}" -X POST "$BASE/v1/jobs" --data-binary ''
expect 422 "wrong types" "${J[@]}" -X POST "$BASE/v1/jobs" -d '{"model": 5, "sparsity": "a lot", "shots": 1.5, "structure": "cubist"}'
python3 -c 'import json,sys; p={e["pointer"] for e in json.load(open(sys.argv[1]))["errors"]}; assert {"/model","/sparsity","/shots","/structure"} <= p, p' "$DATA/last" \
  || fail "422 does not name every wrong field: $(cat "$DATA/last")"
expect 422 "unknown field" "${J[@]}" -X POST "$BASE/v1/jobs" -d '{"model":"m.bin","calibration":"calib.txt","sparsity":0.3,"bogus":1}'
expect 422 "runner rules (2:4 needs sparsity 0.5)" "${J[@]}" -X POST "$BASE/v1/jobs" -d '{"model":"m.bin","calibration":"calib.txt","structure":"2:4","sparsity":0.3}'
head -c 2000000 /dev/zero | tr '\0' ' ' > "$DATA/big.json"
expect 413 "JSON body over 1 MiB" "${J[@]}" -X POST "$BASE/v1/jobs" --data-binary "@$DATA/big.json"
expect "400|404" "traversal name (encoded)" -H "$AUTH" "$BASE/v1/models/..%2F..%2Fetc%2Fpasswd"
expect "400|404" "traversal name on upload" -H "$AUTH" -T "$DATA/calib.txt" "$BASE/v1/texts/..%2Fescape.txt"
expect "400|404" "traversal in artifact name" -H "$AUTH" "$BASE/v1/jobs/job_x/artifacts/..%2F..%2Fdev-token"
[ ! -e "$DATA/escape.txt" ] && [ ! -e "$DATA/srv/escape.txt" ] || fail "a traversal name wrote outside the store"
python3 - "$PORT" "$TOKEN" <<'PY' || fail "raw-socket checks"
import socket, sys
port, token = int(sys.argv[1]), sys.argv[2]
def raw(data, read=65536):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(data)
        out = b""
        while len(out) < read:
            try: chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError): break
            if not chunk: break
            out += chunk
            if b"\r\n\r\n" in out and b"Connection: close" in out: break
        return out
    finally: s.close()
def status(resp): return int(resp.split(b" ", 2)[1]) if resp.startswith(b"HTTP/1.1 ") else None
cases = [
    ("huge header (200 KB)", b"GET /v1/jobs HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n", {431, 400}),
    ("10 000 headers", b"GET /v1/jobs HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(10000)) + b"\r\n", {431, 400}),
    ("garbage request line", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n", {400}),
    ("bad Content-Length", b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: -5\r\n\r\n" % token.encode(), {400}),
    ("two Content-Lengths", b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", {400}),
    ("bad chunked body", b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" % token.encode(), {400}),
    ("raw ../ path", b"GET /v1/models/../../etc/passwd HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % token.encode(), {400, 404}),
    ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {400, 505}),
]
for name, data, want in cases:
    r = raw(data)
    st = status(r)
    assert st in want, f"{name}: status {st} not in {want}: {r[:200]!r}"
    print(f"ok  {st}  {name} (raw socket)")
# The server still answers after all of that.
assert status(raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) == 200
print("ok  200  still healthy")
PY

say "an artifact and Range edge cases"
JOB=$(curl -sf "${J[@]}" -X POST "$BASE/v1/jobs" -d '{"model":"m.bin","calibration":"calib.txt","sparsity":0.3,"shots":1}' | json 'j["id"]')
[ "$(wait_job "$JOB" 60)" = succeeded ] || fail "simulated job did not succeed"
A="$BASE/v1/jobs/$JOB/artifacts/model.safetensors"
SIZE=$(curl -sfI -H "$AUTH" "$A" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Ll]ength: //p')
expect 206 "Range bytes=0-99" -H "$AUTH" -r 0-99 "$A"
[ "$(stat -c %s "$DATA/last")" = 100 ] || fail "206 body size"
expect 206 "suffix Range bytes=-10" -H "$AUTH" -H "Range: bytes=-10" "$A"
expect 416 "Range past the end" -H "$AUTH" -H "Range: bytes=$((SIZE + 1))-" "$A"
expect 200 "invalid Range syntax is ignored (RFC 9110)" -H "$AUTH" -H "Range: bytes=abc-def" "$A"
expect 200 "reversed Range is ignored" -H "$AUTH" -H "Range: bytes=500-100" "$A"
expect 200 "Range of another unit is ignored" -H "$AUTH" -H "Range: items=0-5" "$A"
expect 404 "another owner's job" -H "$AUTH2" "$BASE/v1/jobs/$JOB"
expect 404 "another owner's artifact" -H "$AUTH2" "$A"
expect 404 "another owner's model" -H "$AUTH2" "$BASE/v1/models/m.bin"

say "cancellation in every state (1 worker)"
sub() { curl -sf "${J[@]}" -X POST "$BASE/v1/jobs" -d "{\"model\":\"m.bin\",\"calibration\":\"calib.txt\",\"sparsity\":0.3,\"shots\":$1}" | json 'j["id"]'; }
st() { curl -sf -H "$AUTH" "$BASE/v1/jobs/$1" | json 'j["status"]'; }
RUN=$(sub 64); Q=$(sub 64)
for _ in $(seq 1 100); do [ "$(st "$RUN")" = running ] && break; sleep 0.1; done
[ "$(st "$RUN")" = running ] && [ "$(st "$Q")" = queued ] || fail "expected one running and one queued job"
expect 202 "cancel a queued job" -H "$AUTH" -X POST "$BASE/v1/jobs/$Q/cancel"
[ "$(json 'j["status"]' < "$DATA/last")" = cancelled ] || fail "a queued job is cancelled at once"
expect 409 "cancel a cancelled job" -H "$AUTH" -X POST "$BASE/v1/jobs/$Q/cancel"
expect 409 "delete a running job" -H "$AUTH" -X DELETE "$BASE/v1/jobs/$RUN"
expect 404 "cancel another owner's job" -H "$AUTH2" -X POST "$BASE/v1/jobs/$RUN/cancel"
expect 202 "cancel a running job" -H "$AUTH" -X POST "$BASE/v1/jobs/$RUN/cancel"
s=$(json 'j["status"]' < "$DATA/last"); [ "$s" = cancelling ] || [ "$s" = cancelled ] || fail "running → $s"
expect "202|409" "cancel again (202 while cancelling, 409 once cancelled)" -H "$AUTH" -X POST "$BASE/v1/jobs/$RUN/cancel"
[ "$(wait_job "$RUN" 30)" = cancelled ] || fail "the running job did not end cancelled"
expect 409 "cancel a succeeded job" -H "$AUTH" -X POST "$BASE/v1/jobs/$JOB/cancel"
expect 204 "delete a cancelled job" -H "$AUTH" -X DELETE "$BASE/v1/jobs/$Q"
expect 404 "cancel a deleted job" -H "$AUTH" -X POST "$BASE/v1/jobs/$Q/cancel"
expect 404 "cancel a job that never existed" -H "$AUTH" -X POST "$BASE/v1/jobs/job_doesnotexist/cancel"
stop_server

say "full disk during an upload"
FULL="$DATA/full"; mkdir -p "$FULL"
if mount -t tmpfs -o size=24m tmpfs "$FULL" 2>/dev/null; then
  start_server "$FULL" "$DATA/server-full.log" --runner simulated
  head -c 64000000 /dev/urandom > "$DATA/big.bin"
  expect 507 "a 64 MB upload into 24 MiB" -H "$AUTH" -T "$DATA/big.bin" "$BASE/v1/models/big.gguf"
  left=$(find "$FULL" -type f -size +1M | wc -l)
  [ "$left" = 0 ] || fail "the failed upload left $left large file(s) behind: $(find "$FULL" -type f -size +1M)"
  expect 404 "nothing was stored" -H "$AUTH" "$BASE/v1/models/big.gguf"
  expect 201 "a small upload still works" -H "$AUTH" -T "$DATA/calib.txt" "$BASE/v1/texts/calib.txt"
  expect 200 "healthy" "$BASE/healthz"
  stop_server; umount "$FULL"; FULL=""
else
  echo "SKIP: cannot mount a tmpfs here (not root or no CAP_SYS_ADMIN); the 507 path is covered in-process"
fi
OK=1
echo
echo "OK: e2e_edges passed"
