#!/usr/bin/env bash
# `crmflow serve` answers HTTP on --listen (shared/contracts.md §6): /healthz and /v2/topology
# without authentication, problem+json for what it does not know, one log line per request, a
# clear refusal when the port is taken, and a clean stop on SIGTERM. And its limits: a client that
# stalls is disconnected (after 10 s) while others are answered, a body past --max-body gets a 413,
# and 200 clients at once are all answered.
set -u
bin="$1"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crmflow-test-http.XXXXXX")
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
  fail=$((fail + 1))
  printf 'FAIL %s\n' "$1"
  [ $# -gt 1 ] && printf '%s\n' "$2" | head -20 | sed 's/^/    /'
}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --db "$tmp/s.db" --listen "127.0.0.1:$port" --max-body 1000 2>"$tmp/log" &
pid=$!
pids+=("$pid")
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done

# A slow client: its headers, 2 of the 10 bytes it announces, then nothing. The server closes the
# connection after its inactivity timeout (10 s); the rest of this script runs meanwhile.
(
  exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
  printf 'POST /v2/topology HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab' >&3
  t0=$(date +%s.%N)
  cat <&3 >/dev/null
  t1=$(date +%s.%N)
  echo "$t0 $t1" >"$tmp/slow"
) &
slow=$!
pids+=("$slow")
sleep 0.5

code=$(curl -s -o "$tmp/body" -w '%{http_code} %{content_type}' "http://127.0.0.1:$port/healthz")
[ "$code" = "200 application/json" ] && ok || bad "/healthz: $code" "$(cat "$tmp/body")"
code=$(curl -s -o "$tmp/body" -w '%{http_code}' "http://127.0.0.1:$port/v2/topology")
if [ "$code" = 200 ] && python3 - "$tmp/body" "$port" <<'PY'; then ok; else bad "/v2/topology" "$(cat "$tmp/body")"; fi
import json, sys
d = json.load(open(sys.argv[1]))
b = d["brokers"][0]
assert b["port"] == int(sys.argv[2]) and b["host"] == "127.0.0.1", d
assert b["partitions"] == [{"partitionId": 1, "role": "leader", "health": "healthy"}], d
for k in ("clusterSize", "partitionsCount", "replicationFactor"): assert d[k] == 1, d
assert d["gatewayVersion"].startswith("8.8") and d["lastCompletedChangeId"] == "-1", d
PY
code=$(curl -s -o "$tmp/body" -w '%{http_code} %{content_type}' "http://127.0.0.1:$port/v2/nothing-here")
[ "$code" = "404 application/problem+json" ] && ok || bad "unknown path: $code"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["status"] == 404 and d["instance"] == "/v2/nothing-here", d' "$tmp/body" && ok || bad "404 body" "$(cat "$tmp/body")"
hdr=$(curl -s -D - -o /dev/null -X POST "http://127.0.0.1:$port/v2/topology")
case $hdr in *"405"*) ok ;; *) bad "POST /v2/topology is not a 405" "$hdr" ;; esac
case $hdr in *"Allow: GET"*) ok ;; *) bad "the 405 has no Allow header" "$hdr" ;; esac

# While the slow client stalls: others are answered, HEAD too.
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/healthz")
[ "$code" = 200 ] && ok || bad "/healthz beside a slow client: $code"
code=$(curl -s -I -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/healthz")
[ "$code" = 200 ] && ok || bad "HEAD /healthz: $code"
# The query is never logged (it may carry a secret).
curl -s -o /dev/null "http://127.0.0.1:$port/healthz?token=s3cr3t"

# A body past --max-body: 413 problem+json, announced (Content-Length) or found while read (chunked).
head -c 2000 /dev/zero | tr '\0' 'x' >"$tmp/big"
code=$(curl -s -o "$tmp/body" -w '%{http_code} %{content_type}' -X POST --data-binary @"$tmp/big" \
  "http://127.0.0.1:$port/v2/topology")
[ "$code" = "413 application/problem+json" ] && ok || bad "a large body: $code" "$(cat "$tmp/body")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["status"] == 413 and d["instance"] == "/v2/topology", d' "$tmp/body" && ok || bad "413 body" "$(cat "$tmp/body")"
code=$(curl -s -o "$tmp/body" -w '%{http_code} %{content_type}' -X POST -H 'Transfer-Encoding: chunked' \
  --data-binary @"$tmp/big" "http://127.0.0.1:$port/v2/topology")
[ "$code" = "413 application/problem+json" ] && ok || bad "a large chunked body: $code" "$(cat "$tmp/body")"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary 'small' "http://127.0.0.1:$port/v2/topology")
[ "$code" = 405 ] && ok || bad "a small body is not taken to the API: $code"

# 200 clients at once: every one answered.
seq 200 | xargs -P 200 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 \
  "http://127.0.0.1:$port/healthz" >"$tmp/codes"
n=$(grep -c '^200$' "$tmp/codes")
[ "$n" = 200 ] && ok || bad "200 clients at once: $n answered 200" "$(sort "$tmp/codes" | uniq -c)"

# The port is taken: a second server says so and exits 1.
timeout -s KILL 10 "$bin" serve --db "$tmp/t.db" --listen "127.0.0.1:$port" >/dev/null 2>"$tmp/err2"
rc=$?
[ $rc -eq 1 ] && grep -q "cannot listen on 127.0.0.1:$port" "$tmp/err2" && ok || bad "a taken port: exit $rc" "$(cat "$tmp/err2")"
timeout -s KILL 10 "$bin" serve --db "$tmp/t.db" --listen "nowhere" >/dev/null 2>&1
[ $? -eq 2 ] && ok || bad "--listen nowhere is not a usage error"

# The slow client was disconnected after about 10 s of silence.
wait "$slow"
if [ -s "$tmp/slow" ]; then
  read -r t0 t1 <"$tmp/slow"
  python3 -c 'import sys; d=float(sys.argv[2])-float(sys.argv[1]); sys.exit(0 if 8.5 <= d <= 14 else 1)' "$t0" "$t1" \
    && ok || bad "the slow client was disconnected after $t0..$t1, not about 10 s"
else
  bad "the slow client: no connection"
fi

kill -TERM "$pid"
wait "$pid"
rc=$?
[ $rc -eq 0 ] && ok || bad "SIGTERM: exit $rc" "$(cat "$tmp/log")"
grep -q "GET /v2/topology 200" "$tmp/log" && ok || bad "no log line for GET /v2/topology" "$(cat "$tmp/log")"
grep -q "POST /v2/topology 405" "$tmp/log" && ok || bad "no log line for the 405" "$(cat "$tmp/log")"
grep -q "POST /v2/topology 413" "$tmp/log" && ok || bad "no log line for the 413" "$(cat "$tmp/log")"
grep -q "POST /v2/topology - .*client idle" "$tmp/log" && ok || bad "no log line for the slow client" "$(cat "$tmp/log")"
grep -q "s3cr3t" "$tmp/log" && bad "the query is in the log" "$(grep s3cr3t "$tmp/log")" || ok

printf 'cli.serve_http: %d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ]
