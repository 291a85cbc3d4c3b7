#!/usr/bin/env bash
# examples/crm/demo.sh end to end: a database loaded by examples/crm/load.sh (as `make run` does),
# `crmflow serve` on free ports with its mail going to the demo's SMTP sink, then the demo, which
# must say that all four scenarios ran through (exit 0). Then SIGTERM to serve.
#   test_crm_demo.sh CRMFLOW      (CF_SOURCE_DIR: the source tree)
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=${CF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crmflow-test-demo.XXXXXX")
serve_pid=
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
unset CRMFLOW_DB CRMFLOW_TOKEN

fail() {
  printf 'FAIL %s\n' "$1"
  for f in "${@:2}"; do
    [ -f "$f" ] && { printf -- '--- %s\n' "$(basename "$f")"; tail -40 "$f"; }
  done
  exit 1
}

# Three free ports on 127.0.0.1: serve, the SMTP sink, the webhook receiver.
read -r port smtp_port hook_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
for s in socks: s.close()')

db="$tmp/crm.db"
bash "$src/examples/crm/load.sh" "$bin" "$db" >"$tmp/load.out" 2>"$tmp/load.err" || fail "load.sh" "$tmp/load.out" "$tmp/load.err"
token=$(tail -1 "$tmp/load.out")
case $token in cft_*) ;; *) fail "load.sh printed no token last" "$tmp/load.out" ;; esac

"$bin" serve --db "$db" --listen "127.0.0.1:$port" --smtp "smtp://127.0.0.1:$smtp_port" \
  --allow-hosts 127.0.0.1 >"$tmp/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$serve_pid" 2>/dev/null || fail "serve exited" "$tmp/serve.log"
  sleep 0.1
done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || fail "serve does not answer /healthz" "$tmp/serve.log"

timeout 120 bash "$src/examples/crm/demo.sh" --url "http://127.0.0.1:$port" --token "$token" \
  --smtp-port "$smtp_port" --hook-port "$hook_port" >"$tmp/demo.out" 2>&1
rc=$?
cat "$tmp/demo.out"
[ $rc -eq 0 ] || fail "demo.sh exited $rc" "$tmp/serve.log"
grep -q '^4 of 4 scenarios ran through$' "$tmp/demo.out" || fail "the summary does not say 4 of 4"
grep -q 'SMTP sink on 127.0.0.1:' "$tmp/demo.out" || fail "the demo did not run its own SMTP sink"
grep -q "email to ada@example.com: 'We received your request" "$tmp/demo.out" || fail "no automatic reply seen"

kill -TERM "$serve_pid"
wait "$serve_pid"
src_rc=$?
serve_pid=
[ $src_rc -eq 0 ] || fail "serve exited $src_rc after SIGTERM" "$tmp/serve.log"
echo "ok: the CRM demo ran the four scenarios"
exit 0
