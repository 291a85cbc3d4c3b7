#!/usr/bin/env bash
# Overload: with the writer's queue cut to 2 commands (--max-queue 2), a burst of 300 concurrent
# instance creations gets some 503 RESOURCE_EXHAUSTED answers (what the Camunda SDKs retry), every
# other one a 200; and exactly the acknowledged instances exist: a refused command left nothing, an
# accepted one was not lost. The server answers normally afterwards.
set -u
bin="$1"
src="${CF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crmflow-test-overload.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { printf 'FAIL %s\n' "$1"; tail -5 "$tmp/log" 2>/dev/null | sed 's/^/    serve: /'; exit 1; }
db="$tmp/o.db"
tok=$("$bin" token create --db "$db" --name t --role admin 2>/dev/null) || fail "token create"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --db "$db" --listen "127.0.0.1:$port" --max-queue 2 2>"$tmp/log" &
pid=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" \
  -F "resources=@$src/tests/fixtures/api_order.bpmn" "http://127.0.0.1:$port/v2/deployments" | grep -q 200 ||
  fail "deploy"
python3 - "$port" "$tok" <<'PY' || fail "overload"
import http.client, json, sys, threading
port, tok = int(sys.argv[1]), sys.argv[2]
h = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
def req(method, path, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    d = r.read()
    c.close()
    return r.status, d
ok, refused, other = 0, 0, []
for rnd in range(5):
    res = [None] * 300
    def one(i):
        res[i] = req("POST", "/v2/process-instances", json.dumps({"processDefinitionId": "api_quick", "variables": {"n": i}}))
    ts = [threading.Thread(target=one, args=(i,)) for i in range(300)]
    for t in ts: t.start()
    for t in ts: t.join()
    for st, d in res:
        if st == 200: ok += 1
        elif st == 503 and json.loads(d)["title"] == "RESOURCE_EXHAUSTED": refused += 1
        else: other.append((st, d[:200]))
    if refused: break
st, d = req("POST", "/v2/process-instances/search", json.dumps({"filter": {"processDefinitionId": "api_quick"}, "page": {"limit": 1}}))
total = json.loads(d)["page"]["totalItems"]
print(f"overload: {ok} created, {refused} refused with 503, {len(other)} other; {total} instances stored")
assert not other, other
assert refused > 0, "no 503 in 5 bursts of 300"
assert total == ok, f"{total} stored but {ok} acknowledged"
st, d = req("POST", "/v2/process-instances", json.dumps({"processDefinitionId": "api_quick", "variables": {"n": 1}}))
assert st == 200, (st, d)
PY
grep -q "crmflow_writer_refused_total [1-9]" <(curl -s -H "Authorization: Bearer $tok" "http://127.0.0.1:$port/metrics") ||
  fail "/metrics does not count the refusals"
kill -TERM "$pid"; wait "$pid"; rc=$?; pid=
[ "$rc" = 0 ] || fail "serve exited $rc"
echo ok
