#!/usr/bin/env bash
# `crmflow serve` answers HTTP on --listen (shared/contracts.md §6): /healthz and /v2/topology
# without authentication, problem+json for what it does not know, one log line per request, a
# clear refusal when the port is taken, and a clean stop on SIGTERM.
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
"$bin" serve --db "$tmp/s.db" --listen "127.0.0.1:$port" 2>"$tmp/log" &
pid=$!
pids+=("$pid")
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done

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

# The port is taken: a second server says so and exits 1.
timeout -s KILL 10 "$bin" serve --db "$tmp/t.db" --listen "127.0.0.1:$port" >/dev/null 2>"$tmp/err2"
rc=$?
[ $rc -eq 1 ] && grep -q "cannot listen on 127.0.0.1:$port" "$tmp/err2" && ok || bad "a taken port: exit $rc" "$(cat "$tmp/err2")"
timeout -s KILL 10 "$bin" serve --db "$tmp/t.db" --listen "nowhere" >/dev/null 2>&1
[ $? -eq 2 ] && ok || bad "--listen nowhere is not a usage error"

kill -TERM "$pid"
wait "$pid"
rc=$?
[ $rc -eq 0 ] && ok || bad "SIGTERM: exit $rc" "$(cat "$tmp/log")"
grep -q "GET /v2/topology 200" "$tmp/log" && ok || bad "no log line for GET /v2/topology" "$(cat "$tmp/log")"
grep -q "POST /v2/topology 405" "$tmp/log" && ok || bad "no log line for the 405" "$(cat "$tmp/log")"

printf 'cli.serve_http: %d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ]
