#!/usr/bin/env bash
# failover.sh CRMFLOW SOURCE_DIR
#
# Several `crmflow serve` nodes on one PostgreSQL database, one of them killed. Three nodes serve
# the same postgres:// URL; a model whose two job types run in parallel branches (so completions of
# one instance's two jobs meet on different nodes) is deployed through one node, N instances are
# started through the three in turn, and three workers, each attached to its own node, activate
# jobs with a short lease (2 s) and complete them. After a third of the jobs, node 3 is SIGKILLed
# and its worker dies with it, holding leased jobs it never completes; the leases expire and the
# surviving workers take those jobs. At the end, through the surviving nodes: all N instances are
# COMPLETED (search by state), none is left active; each instance's history holds exactly one
# INSTANCE_COMPLETED and one JOB_COMPLETED per job, no job key was completed twice (neither in a
# history nor by two 204 answers), and every job a worker lost to the kill was completed by a
# survivor. Fails (not skips) when no server can be started.
set -euo pipefail
crmflow=$1
src=$2
dir=$(mktemp -d /tmp/cf_pgfo_XXXXXX)
trap 'for p in $(cat "$dir"/pid.* 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done; bash "$src/tests/pg/pg.sh" stop "$dir"' EXIT

fail() {
  echo "pg.failover: $*" >&2
  for f in "$dir"/serve.*.log; do [ -f "$f" ] && tail -n 10 "$f" | sed "s|^|    $(basename "$f"): |" >&2; done
  exit 1
}

url=$(bash "$src/tests/pg/pg.sh" start "$dir") || fail "no PostgreSQL server could be started (see above)"
tok=$("$crmflow" token create --db "$url" --name fo --role admin 2>/dev/null) || fail "token create"
cat >"$dir/fo.bpmn" <<'BPMN'
<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d_fo" targetNamespace="t">
  <bpmn:process id="failover" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="split"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:serviceTask id="pick"><bpmn:extensionElements><zeebe:taskDefinition type="fo-pick" /></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:serviceTask id="bill"><bpmn:extensionElements><zeebe:taskDefinition type="fo-bill" /></bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:parallelGateway id="join"><bpmn:incoming>f4</bpmn:incoming><bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split" />
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="pick" />
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="bill" />
    <bpmn:sequenceFlow id="f4" sourceRef="pick" targetRef="join" />
    <bpmn:sequenceFlow id="f5" sourceRef="bill" targetRef="join" />
    <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
BPMN

ports=()
for n in 1 2 3; do
  p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$crmflow" serve --db "$url" --listen "127.0.0.1:$p" --no-workers 2>"$dir/serve.$n.log" &
  echo $! >"$dir/pid.$n"
  ports+=("$p")
done
for p in "${ports[@]}"; do
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$p/healthz" && break; sleep 0.1; done
  curl -s -o /dev/null "http://127.0.0.1:$p/healthz" || fail "a node does not answer on port $p"
done
out=$(curl -s -H "Authorization: Bearer $tok" -F "resources=@$dir/fo.bpmn" "http://127.0.0.1:${ports[0]}/v2/deployments")
grep -q '"processDefinitionId":"failover"' <<<"$out" || fail "deploy: $out"

python3 - "$tok" "$(cat "$dir/pid.3")" "${ports[@]}" <<'PY' || fail "the run (above)"
import json, os, signal, sys, threading, time, urllib.request, collections
tok, victim = sys.argv[1], int(sys.argv[2])
ports = [int(p) for p in sys.argv[3:]]
N = int(os.environ.get("FO_INSTANCES", "2000"))
LEASE = 2000
def call(port, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    return status, (json.loads(raw) if raw else None)

t0 = time.time()
keys = []
for i in range(N):
    st, r = call(ports[i % 3], "POST", "/v2/process-instances", {"processDefinitionId": "failover", "variables": {"i": i}})
    if st != 200: sys.exit(f"create {i} on node {i % 3 + 1}: {st} {r}")
    keys.append(r["processInstanceKey"])
print(f"{N} instances started in {time.time() - t0:.1f}s", flush=True)

lock = threading.Lock()
ok = collections.Counter()        # job key -> 204 answers
by_worker = collections.Counter() # worker -> completions
lost = set()                      # jobs leased by the dead worker, never completed by it
errors = collections.Counter()    # non-204 completion answers, by status
killed = threading.Event()
stop = threading.Event()
total = 2 * N

def worker(n):
    port = ports[n]
    types = ["fo-pick", "fo-bill"]
    t = 0
    while not stop.is_set():
        if n == 2 and killed.is_set(): return
        try:
            st, r = call(port, "POST", "/v2/jobs/activation",
                         {"type": types[t % 2], "worker": f"w{n + 1}", "timeout": LEASE, "maxJobsToActivate": 8, "requestTimeout": -1})
        except Exception as e:
            if n == 2 and killed.is_set(): return
            raise
        t += 1
        if st != 200:
            with lock: errors[f"activate {st}"] += 1
            time.sleep(0.05); continue
        jobs = [j["jobKey"] for j in r["jobs"]]
        if not jobs: time.sleep(0.02); continue
        with lock: done = sum(ok.values())
        if n == 2 and done >= total // 3:
            # The node and this worker die together, just after a lease: the whole batch stays leased.
            os.kill(victim, signal.SIGKILL)
            killed.set()
            with lock: lost.update(jobs)
            print(f"node 3 killed after {done} completions at {time.time() - t0:.1f}s, its worker held {len(jobs)} leased jobs", flush=True)
            return
        for i, k in enumerate(jobs):
            if n == 2 and killed.is_set():
                with lock: lost.update(jobs[i:])
                return
            try:
                st, r = call(port, "POST", f"/v2/jobs/{k}/completion", {"variables": {f"w{n + 1}": True}})
            except Exception:
                if n == 2 and killed.is_set():
                    with lock: lost.update(jobs[i:])
                    return
                raise
            with lock:
                if st == 204:
                    ok[k] += 1; by_worker[n + 1] += 1
                else:
                    errors[f"complete {st}: {(r or {}).get('detail', '')[:80]}"] += 1

threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(3)]
for th in threads: th.start()
deadline = time.time() + 60
survivors = ports[:2]
while time.time() < deadline:
    time.sleep(0.5)
    with lock: done = sum(ok.values())
    if done >= total and killed.is_set(): break
stop.set()
for th in threads: th.join(timeout=35)
print(f"{sum(ok.values())} completions at {time.time() - t0:.1f}s; by worker {dict(by_worker)}; other answers {dict(errors)}", flush=True)
bad = []
if not killed.is_set(): bad.append("node 3 was never killed")
if not lost: bad.append("the dead worker held no lease: the takeover was not tested")
twice = [k for k, c in ok.items() if c > 1]
if twice: bad.append(f"jobs completed twice (204 twice): {twice[:10]}")
if len(ok) != total: bad.append(f"{len(ok)} distinct jobs completed, not {total}")
missed = [k for k in lost if k not in ok]
if missed: bad.append(f"jobs the dead worker held never completed by a survivor: {missed[:10]}")

def search(state):
    items, after = [], None
    while True:
        body = {"filter": {"processDefinitionId": "failover", "state": state}, "page": {"limit": 500}}
        if after: body["page"]["after"] = after
        st, r = call(survivors[0], "POST", "/v2/process-instances/search", body)
        if st != 200: sys.exit(f"search {state}: {st} {r}")
        items += r["items"]
        after = r["page"].get("endCursor")
        if len(r["items"]) < 500 or not after: return items
completed = search("COMPLETED")
ck = [i["processInstanceKey"] for i in completed]
if len(ck) != len(set(ck)): bad.append("an instance listed twice as COMPLETED")
if set(ck) != set(keys): bad.append(f"{len(set(ck))} of {N} instances COMPLETED; not: {sorted(set(keys) - set(ck))[:10]}")
active = search("ACTIVE")
if active: bad.append(f"{len(active)} instances still ACTIVE: {[i['processInstanceKey'] for i in active][:10]}")
hist_jobs = collections.Counter()
for n, k in enumerate(keys):
    st, r = call(survivors[n % 2], "GET", f"/v2/crm/process-instances/{k}/history")
    if st != 200: bad.append(f"history {k}: {st}"); continue
    h = r["items"]
    ic = sum(1 for e in h if e["kind"] == "INSTANCE_COMPLETED")
    jc = collections.Counter(e["key"] for e in h if e["kind"] == "JOB_COMPLETED")
    if ic != 1: bad.append(f"instance {k}: {ic} INSTANCE_COMPLETED")
    if len(jc) != 2 or any(c != 1 for c in jc.values()): bad.append(f"instance {k}: job completions {dict(jc)}")
    hist_jobs.update(jc)
if set(hist_jobs) != set(ok): bad.append("the histories' completed jobs are not the ones the workers completed")
if bad:
    for b in bad[:20]: print("FAIL", b)
    sys.exit(1)
print(f"all {N} instances COMPLETED once, {total} jobs completed once each, {len(lost)} jobs taken over from the dead node, in {time.time() - t0:.1f}s")
PY

for n in 1 2; do
  p=$(cat "$dir/pid.$n")
  kill -TERM "$p"
  rc=0
  wait "$p" || rc=$?
  [ $rc -eq 0 ] || fail "node $n exited $rc on SIGTERM"
done
rm -f "$dir"/pid.*
echo "pg.failover: done on $url"
