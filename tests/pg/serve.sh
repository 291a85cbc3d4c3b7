#!/usr/bin/env bash
# serve.sh CRMFLOW SOURCE_DIR
#
# `crmflow serve` on the PostgreSQL backend, end to end through its HTTP API, against a server of
# its own (pg.sh): a token made with `crmflow token create --db postgres://...`, the order model
# deployed through POST /v2/deployments (multipart), instances created through
# POST /v2/process-instances, their jobs activated and completed type by type until every one
# ended, the instances found by POST /v2/process-instances/search (state COMPLETED), a CRM record
# created and found again through /v2/crm/records; then a second node on the same database, and
# messages across the two: a message published on one node correlates with the subscription an
# instance opened on the other, and a message buffered on one is taken by an instance started on
# the other; then SIGTERM, and serve exits 0.
# Fails (not skips) when no server can be started.
set -euo pipefail
crmflow=$1
src=$2
model=$src/tests/pg/order.bpmn
dir=$(mktemp -d /tmp/cf_pgsv_XXXXXX)
pid=
pid2=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; [ -n "$pid2" ] && kill -9 "$pid2" 2>/dev/null; bash "$src/tests/pg/pg.sh" stop "$dir"' EXIT

fail() {
  echo "pg.serve: $*" >&2
  [ -f "$dir/serve.log" ] && tail -n 20 "$dir/serve.log" | sed 's/^/    serve: /' >&2
  exit 1
}

url=$(bash "$src/tests/pg/pg.sh" start "$dir") || fail "no PostgreSQL server could be started (see above)"
tok=$("$crmflow" token create --db "$url" --name pgadmin --role admin 2>/dev/null) || fail "token create"
[ -n "$tok" ] || fail "token create printed no token"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$crmflow" serve --db "$url" --listen "127.0.0.1:$port" 2>"$dir/serve.log" &
pid=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
curl -s -o /dev/null "http://127.0.0.1:$port/healthz" || fail "serve does not answer on port $port"

out=$(curl -s -H "Authorization: Bearer $tok" -F "resources=@$model" "http://127.0.0.1:$port/v2/deployments")
grep -q '"processDefinitionId":"order_processing"' <<<"$out" || fail "deploy: $out"

python3 - "$port" "$tok" <<'PY' || fail "the API walk"
import json, sys, time, urllib.request
port, tok = int(sys.argv[1]), sys.argv[2]
base = f"http://127.0.0.1:{port}"
def call(method, path, body=None, want=(200,)):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    if status not in want:
        sys.exit(f"{method} {path}: {status} {raw[:400]!r}")
    return json.loads(raw) if raw else None

N = 10
keys = []
for i in range(N):
    r = call("POST", "/v2/process-instances",
             {"processDefinitionId": "order_processing", "variables": {"amount": 500 if i % 2 else 1500}})
    keys.append(r["processInstanceKey"])
types = ["approve-order", "handle-order", "reserve-stock", "charge-payment", "ship-order"]
completed = set()
deadline = time.time() + 60
while time.time() < deadline:
    progressed = False
    for t in types:
        r = call("POST", "/v2/jobs/activation",
                 {"type": t, "worker": "pgserve", "timeout": 30000, "maxJobsToActivate": 50, "requestTimeout": -1})
        for j in r["jobs"]:
            if j["jobKey"] in completed: sys.exit(f"job {j['jobKey']} activated again after its completion")
            call("POST", f"/v2/jobs/{j['jobKey']}/completion", {"variables": {"approved": True}}, want=(204,))
            completed.add(j["jobKey"])
            progressed = True
    r = call("POST", "/v2/process-instances/search",
             {"filter": {"processDefinitionId": "order_processing", "state": "COMPLETED"}, "page": {"limit": 100}})
    done = {i["processInstanceKey"] for i in r["items"]}
    if set(keys) <= done: break
    if not progressed: time.sleep(0.1)
else:
    sys.exit(f"not every instance completed: {sorted(set(keys) - done)}")
# 5 large orders (5 jobs each), 5 small (4 each).
if len(completed) != 45: sys.exit(f"{len(completed)} jobs completed, not 45")
r = call("POST", "/v2/process-instances/search", {"filter": {"state": "ACTIVE"}})
if r["items"]: sys.exit(f"instances still active: {r['items']}")
for k in keys:
    h = call("GET", f"/v2/crm/process-instances/{k}/history")["items"]
    if sum(1 for e in h if e["kind"] == "INSTANCE_COMPLETED") != 1: sys.exit(f"instance {k}: history {h}")

rec = call("POST", "/v2/crm/records/lead", {"fields": {"name": "Ann Lee", "email": "Ann.Lee@Example.COM", "source": "pg"}}, want=(200, 201))
rk = rec["recordKey"]
if rec["fields"]["email"] != "Ann.Lee@example.com": sys.exit(f"record: {rec}")
r = call("POST", "/v2/crm/records/lead/search", {"filter": {"source": "pg"}})
if [i["recordKey"] for i in r["items"]] != [rk]: sys.exit(f"record search: {r}")
got = call("GET", f"/v2/crm/records/lead/{rk}")
if got["fields"]["name"] != "Ann Lee": sys.exit(f"record get: {got}")
call("PATCH", f"/v2/crm/records/lead/{rk}", {"fields": {"status": "contacted"}, "version": 1}, want=(200, 204))
h = call("GET", f"/v2/crm/records/lead/{rk}/history")
if len(h["items"]) < 2: sys.exit(f"record history: {h}")
print(f"{N} instances, {len(completed)} jobs, record {rk}")
PY

# A second node on the same database, and a model that waits for a message.
port2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$crmflow" serve --db "$url" --listen "127.0.0.1:$port2" 2>"$dir/serve2.log" &
pid2=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port2/healthz" && break; sleep 0.1; done
curl -s -o /dev/null "http://127.0.0.1:$port2/healthz" || fail "the second node does not answer on port $port2"
cat >"$dir/paid.bpmn" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:message id="m_paid" name="paid"><bpmn:extensionElements><zeebe:subscription correlationKey="=orderId" /></bpmn:extensionElements></bpmn:message>
  <bpmn:process id="await_payment" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait_paid"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="m_paid" /></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait_paid" />
    <bpmn:sequenceFlow id="f2" sourceRef="wait_paid" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>
XML
out=$(curl -s -H "Authorization: Bearer $tok" -F "resources=@$dir/paid.bpmn" "http://127.0.0.1:$port/v2/deployments")
grep -q '"processDefinitionId":"await_payment"' <<<"$out" || fail "deploy the message model: $out"
python3 - "$port" "$port2" "$tok" <<'PY' || fail "messages across nodes"
import json, sys, time, urllib.request
p1, p2, tok = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def call(port, method, path, body=None, want=(200,)):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode() if body is not None else None,
                                 method=method, headers={"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    if status not in want: sys.exit(f"{method} :{port}{path}: {status} {raw[:400]!r}")
    return json.loads(raw) if raw else None
def state(port, key):
    return call(port, "GET", f"/v2/process-instances/{key}")["state"]
# Subscription opened on node 1, message published on node 2.
a = call(p1, "POST", "/v2/process-instances", {"processDefinitionId": "await_payment", "variables": {"orderId": "A-1"}})["processInstanceKey"]
if state(p2, a) != "ACTIVE": sys.exit("A-1 is not waiting")
call(p2, "POST", "/v2/messages/publication", {"name": "paid", "correlationKey": "A-1", "timeToLive": 0})
# Buffered on node 2 (no instance waits yet), taken by an instance started on node 1.
call(p2, "POST", "/v2/messages/publication", {"name": "paid", "correlationKey": "B-2", "timeToLive": 60000})
b = call(p1, "POST", "/v2/process-instances", {"processDefinitionId": "await_payment", "variables": {"orderId": "B-2"}})["processInstanceKey"]
deadline = time.time() + 10
while time.time() < deadline and (state(p1, a) != "COMPLETED" or state(p2, b) != "COMPLETED"): time.sleep(0.1)
for k, what in ((a, "published on node 2 to node 1's subscription"), (b, "buffered on node 2, started on node 1")):
    if state(p1, k) != "COMPLETED": sys.exit(f"instance {k} ({what}) is {state(p1, k)}")
print(f"messages across nodes: {a} and {b} completed")
PY
kill -TERM "$pid2"
rc=0
wait "$pid2" || rc=$?
pid2=
[ $rc -eq 0 ] || fail "the second node exited $rc on SIGTERM"

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
[ $rc -eq 0 ] || fail "serve exited $rc on SIGTERM"
grep -q "stopped serving" "$dir/serve.log" || fail "serve did not say it stopped"
echo "pg.serve: done on $url"
