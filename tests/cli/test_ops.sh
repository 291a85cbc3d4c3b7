#!/usr/bin/env bash
# The operations on the embedded database (shared/contracts.md §5), through
# the real binary against a database in a temporary folder: deploy, start,
# instances, jobs, user tasks, incidents, messages, signals, cancel, prune,
# the JSON shapes, the tables, and the exit codes (0 done, 1 refused with a
# reason, 2 usage error). JSON is checked with python3.
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
shared="$here/../../../shared/models"
models="$here/../scenarios/models"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crmflow-test-ops.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
db="$tmp/crm.db"
unset CRMFLOW_DB
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() {
  fail=$((fail + 1))
  printf 'FAIL %s\n' "$1"
  [ $# -gt 1 ] && printf '%s\n' "$2" | head -20 | sed 's/^/    /'
}

# run WANT_EXIT ARGS...: runs crmflow ARGS --db $db; stdout in $out, stderr in $err.
run() {
  local want=$1
  shift
  out=$("$bin" "$@" --db "$db" 2>"$tmp/err")
  rc=$?
  err=$(cat "$tmp/err")
  if [ $rc -ne "$want" ]; then
    bad "crmflow $*: exit $rc, expected $want" "$out
$err"
    return 1
  fi
  ok
  return 0
}

# py 'PYTHON' [WHAT]: parses $out as exactly one JSON document into d, then runs
# PYTHON (asserts); prints what it prints. A failed assert is a failure.
py() {
  local res
  if res=$(printf '%s' "$out" | python3 -c "
import json, re, sys
d = json.load(sys.stdin)
$1" 2>&1); then
    ok
    printf '%s' "$res"
    return 0
  fi
  bad "${2:-json check}: $1" "$res
output: $out"
  return 1
}

# err_has TEXT: stderr contains TEXT.
err_has() {
  case $err in *"$1"*) ok ;; *) bad "stderr lacks '$1'" "$err" ;; esac
}
out_has() {
  case $out in *"$1"*) ok ;; *) bad "stdout lacks '$1'" "$out" ;; esac
}

iso='re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", %s)'

# ---------------------------------------------------------------- no database yet
run 1 instances && err_has "no database at $db" && err_has "deploy a model first"
[ ! -e "$db" ] && ok || bad "a read command created the database"
run 1 start order_processing && err_has "no database at"
[ ! -e "$db" ] && ok || bad "start created the database"

# A refused model deploys nothing, and does not even create the database.
cat >"$tmp/bad.bpmn" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://example.com">
  <bpmn:process id="broken" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="work"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
  </bpmn:process>
</bpmn:definitions>
EOF
run 1 deploy "$shared/linear10.bpmn" "$tmp/bad.bpmn" && err_has "bad.bpmn:5: element work (serviceTask)" &&
  err_has "nothing was deployed"
[ ! -e "$db" ] && ok || bad "a refused deploy created the database"
run 1 deploy "$tmp/missing.bpmn" && err_has "cannot read $tmp/missing.bpmn"

# ---------------------------------------------------------------- deploy
if run 0 deploy --json "$shared/usertask.bpmn" "$shared/order.bpmn"; then
  py '
deps = d["deployments"]
assert [(x["processDefinitionId"], x["version"]) for x in deps] == [("lead_review", 1), ("order_processing", 1)], deps
assert all(isinstance(x["processDefinitionKey"], str) and x["processDefinitionKey"].isdigit() for x in deps)
assert [x["resourceName"] for x in deps] == ["usertask.bpmn", "order.bpmn"]
assert not any(x["unchanged"] for x in deps)'
  keys1=$(py 'print(" ".join(x["processDefinitionKey"] for x in d["deployments"]))')
fi
# The same content again: the same versions and keys, unchanged.
if run 0 deploy --json "$shared/usertask.bpmn" "$shared/order.bpmn"; then
  py '
assert [x["version"] for x in d["deployments"]] == [1, 1]
assert all(x["unchanged"] for x in d["deployments"])'
  keys2=$(py 'print(" ".join(x["processDefinitionKey"] for x in d["deployments"]))')
  [ "${keys1:-}" = "$keys2" ] && ok || bad "a redeploy changed the definition keys: '${keys1:-}' vs '$keys2'"
fi
run 0 deploy "$shared/order.bpmn" && out_has "unchanged order_processing version 1"
# In an existing database too, one refused file deploys none of the others.
run 1 deploy "$shared/linear10.bpmn" "$tmp/bad.bpmn"
run 1 start linear10 && err_has "no process 'linear10' is deployed"

# ---------------------------------------------------------------- start, instances
if run 0 start order_processing --vars '{"amount": 1500}' --business-key ord-1 --json; then
  py 'assert re.fullmatch(r"\d+", d["processInstanceKey"]), d'
  k1=$(py 'print(d["processInstanceKey"])')
fi
k1=${k1:-0}
if run 0 instances --json; then
  py "
items = [x for x in d['items'] if x['processInstanceKey'] == '$k1']
assert len(items) == 1, d
x = items[0]
assert x['processDefinitionId'] == 'order_processing' and x['version'] == 1, x
assert x['state'] == 'active' and x['incident'] is False and x['businessKey'] == 'ord-1', x
assert $(printf "$iso" "x['startDate']") and x['endDate'] is None, x"
fi
run 0 instances --state completed --json && py 'assert d["items"] == [], d'
run 0 instances --process lead_review --json && py 'assert d["items"] == [], d'
run 1 start order_processing --version 2 && err_has "version 2 is deployed"
# The table: a header and aligned columns, also when stdout is no terminal.
if run 0 instances; then
  py_out=$out
  out=$(printf '%s' "$py_out" | python3 -c '
import json, sys
lines = sys.stdin.read().splitlines()
print(json.dumps(lines))')
  py "
assert d[0].split()[:2] == ['INSTANCE', 'PROCESS'], d
col = d[0].index('PROCESS')
assert all(l[col - 2:col] == '  ' and l[col] != ' ' for l in d[1:]), d
assert any(l.startswith('$k1 ') and 'order_processing' in l and 'ord-1' in l for l in d[1:]), d" "instances table"
fi

# ---------------------------------------------------------------- jobs
if run 0 jobs activate --type approve-order --worker w1 --json; then
  py "
jobs = d['jobs']
assert len(jobs) == 1, d
j = jobs[0]
assert j['processInstanceKey'] == '$k1' and j['type'] == 'approve-order' and j['elementId'] == 'approve_order', j
assert j['variables'] == {'amount': 1500}, j
assert j['retries'] == 3 and j['worker'] == 'w1' and j['customHeaders'] == {}, j
assert $(printf "$iso" "j['deadline']"), j"
  j1=$(py 'print(d["jobs"][0]["jobKey"])')
fi
j1=${j1:-0}
# Leased to w1: another worker gets nothing, and may not answer it.
run 0 jobs activate --type approve-order --worker w2 --json && py 'assert d == {"jobs": []}, d'
run 0 jobs activate --type approve-order && out_has "no job of type 'approve-order' is available"
run 1 jobs complete "$j1" --worker w2 && err_has "job $j1"
if run 0 jobs complete "$j1" --vars '{"approved": true}' --worker w1 --json; then
  py "assert d['jobKey'] == '$j1', d"
fi
run 1 jobs complete "$j1" && err_has "no job $j1 (it was completed, or the key is wrong"
if run 0 instances show "$k1" --json; then
  py "
assert d['processInstanceKey'] == '$k1' and d['state'] == 'active', d
assert d['variables'] == {'amount': 1500, 'approved': True}, d['variables']
kinds = [e['kind'] for e in d['history']]
assert 'JOB_COMPLETED' in kinds and 'JOB_CREATED' in kinds, kinds
done = [e for e in d['history'] if e['kind'] == 'JOB_COMPLETED'][0]
assert done['key'] == '$j1' and done['actor'] == 'worker:w1' and done['variables'] == {'approved': True}, done
assert all($(printf "$iso" "e['at']") for e in d['history'])
assert [j['type'] for j in d['jobs']] == ['handle-order'], d['jobs']
assert d['userTasks'] == [] and d['incidents'] == [], d"
fi
run 0 instances show "$k1" && out_has "history:" && out_has "JOB_COMPLETED" && out_has "handle-order"

# Work the order to its end: handle, reserve and charge (in parallel), ship.
for t in handle-order reserve-stock charge-payment ship-order; do
  if run 0 jobs activate --type "$t" --json; then
    jk=$(py "assert len(d['jobs']) == 1, d; print(d['jobs'][0]['jobKey'])") && run 0 jobs complete "$jk"
  fi
done
if run 0 instances --state completed --json; then
  py "
x = [x for x in d['items'] if x['processInstanceKey'] == '$k1']
assert len(x) == 1 and x[0]['state'] == 'completed' and $(printf "$iso" "x[0]['endDate']"), d"
fi
run 0 instances --state active --json && py "assert all(x['processInstanceKey'] != '$k1' for x in d['items']), d"

# ---------------------------------------------------------------- user tasks
run 0 deploy "$models/user-task-static.bpmn"
run 0 start user-task-static --json && k2=$(py 'print(d["processInstanceKey"])')
k2=${k2:-0}
if run 0 tasks --assignee john --json; then
  py "
t = [t for t in d['items'] if t['processInstanceKey'] == '$k2']
assert len(t) == 1, d
t = t[0]
assert t['elementId'] == 'approve' and t['assignee'] == 'john' and t['state'] == 'created', t
assert t['candidateGroups'] == ['sales', 'support'], t
assert $(printf "$iso" "t['creationDate']") and isinstance(t['priority'], int), t"
  t1=$(py 'print(d["items"][0]["userTaskKey"])')
fi
t1=${t1:-0}
run 0 tasks --group support --json && py "assert [t['userTaskKey'] for t in d['items']] == ['$t1'], d"
run 0 tasks --assignee nobody --json && py 'assert d["items"] == [], d'
run 0 tasks --assignee john && out_has "approve" && out_has "sales, support"
run 0 tasks claim "$t1" --assignee ann
run 0 tasks --assignee ann --json && py "assert [t['userTaskKey'] for t in d['items']] == ['$t1'], d"
run 0 tasks unclaim "$t1"
run 0 tasks --json && py "assert [t['assignee'] for t in d['items'] if t['userTaskKey'] == '$t1'] == [None], d"
run 0 tasks claim "$t1" --assignee ann
run 0 tasks complete "$t1" --vars '{"decision": "yes"}'
run 1 tasks complete "$t1" && err_has "no open user task $t1"
if run 0 tasks --json; then
  py "
t = [t for t in d['items'] if t['processInstanceKey'] == '$k2']
assert [x['elementId'] for x in t] == ['plain'], t"
fi
if run 0 tasks --state completed --assignee ann --json; then
  py "
t = d['items']
assert [(x['userTaskKey'], x['state'], x['assignee'], x['elementId']) for x in t] == [('$t1', 'completed', 'ann', 'approve')], t
assert $(printf "$iso" "t[0]['completionDate']"), t"
fi
run 0 instances show "$k2" --json && py "
assert d['variables'].get('decision') == 'yes', d['variables']
assert 'USER_TASK_COMPLETED' in [e['kind'] for e in d['history']]
assert [t['elementId'] for t in d['userTasks']] == ['plain'], d['userTasks']"
run 2 tasks --state done && err_has "--state is created or completed"
# A completed task keeps its groups and says who completed it.
if run 0 tasks --state completed --group sales --json; then
  py "
t = d['items']
assert [x['userTaskKey'] for x in t] == ['$t1'], t
assert 'sales' in t[0]['candidateGroups'] and t[0]['completedBy'] == 'cli', t"
fi
run 0 tasks --state completed --group nobody --json && py 'assert d["items"] == [], d'
# Open tasks no longer list it.
run 0 tasks --assignee ann --json && py "assert '$t1' not in [x['userTaskKey'] for x in d['items']], d"

# ---------------------------------------------------------------- incidents
run 0 deploy "$models/job-retries.bpmn"
run 0 start job-retries --vars '{"maxRetries": 2}' --json && k3=$(py 'print(d["processInstanceKey"])')
k3=${k3:-0}
run 0 jobs activate --type charge-card --json && j3=$(py 'print(d["jobs"][0]["jobKey"])')
j3=${j3:-0}
# A failure with retries left and a back-off: not activatable until the back-off ends.
run 0 jobs fail "$j3" --retries 2 --backoff PT1H --message "gateway timeout"
run 0 jobs activate --type charge-card --json && py 'assert d["jobs"] == [], d'
# No retries left: an incident, listed, and the job is not activatable.
run 0 jobs fail "$j3" --retries 0 --message "card declined"
if run 0 incidents --json; then
  py "
i = [i for i in d['items'] if i['processInstanceKey'] == '$k3']
assert len(i) == 1, d
i = i[0]
assert i['errorType'] == 'JOB_NO_RETRIES' and i['errorMessage'] == 'card declined', i
assert i['jobKey'] == '$j3' and i['elementId'] == 'charge', i"
  i3=$(py "print([i for i in d['items'] if i['processInstanceKey'] == '$k3'][0]['incidentKey'])")
fi
i3=${i3:-0}
run 0 incidents && out_has "JOB_NO_RETRIES" && out_has "card declined"
run 0 instances --state incident --json && py "assert [x['processInstanceKey'] for x in d['items']] == ['$k3'] and d['items'][0]['incident'] is True, d"
run 0 instances show "$k3" --json && py "assert [i['incidentKey'] for i in d['incidents']] == ['$i3'] and d['jobs'][0]['state'] == 'failed', d"
run 0 jobs activate --type charge-card --json && py 'assert d["jobs"] == [], d'
# The job has no retries left: resolving without giving it some is refused, and changes nothing.
run 1 incidents resolve "$i3" && err_has "pass --retries N"
run 0 incidents --json && py "assert [i['incidentKey'] for i in d['items'] if i['processInstanceKey'] == '$k3'] == ['$i3'], d"
# Resolving with retries makes the job activatable again.
run 0 incidents resolve "$i3" --retries 2
run 0 incidents --json && py "assert all(i['processInstanceKey'] != '$k3' for i in d['items']), d"
run 1 incidents resolve "$i3" && err_has "no open incident $i3"
if run 0 jobs activate --type charge-card --json; then
  py "assert [(j['jobKey'], j['retries']) for j in d['jobs']] == [('$j3', 2)], d"
fi
run 0 jobs complete "$j3"

# ---------------------------------------------------------------- BPMN errors from a job
run 0 deploy "$models/errors.bpmn"
run 0 start errors --json && k4=$(py 'print(d["processInstanceKey"])')
run 0 jobs activate --type charge --json && j4=$(py 'print(d["jobs"][0]["jobKey"])')
run 0 jobs throw-error "${j4:-0}" --code DECLINED --message "no funds"
run 0 jobs activate --type notify --json && py "assert [j['processInstanceKey'] for j in d['jobs']] == ['${k4:-0}'], d"

# ---------------------------------------------------------------- messages
run 0 deploy "$models/message-catch.bpmn" "$models/message-start.bpmn"
# Published before any instance waits: kept for its time to live.
if run 0 message publish payment-received --key order-7 --ttl PT1H --id pay-7 --vars '{"paid": 99}' --json; then
  py 'assert d["duplicate"] is False and re.fullmatch(r"\d+", d["messageKey"]), d'
fi
run 0 message publish payment-received --key order-7 --ttl PT1H --id pay-7 --json && py 'assert d["duplicate"] is True, d'
run 0 message publish payment-received --key order-7 --ttl PT1H --id pay-7 && out_has "duplicate"
run 0 start message-catch --vars '{"orderId": "order-7"}' --json && k5=$(py 'print(d["processInstanceKey"])')
run 0 jobs activate --type prepare --json && j5=$(py 'print(d["jobs"][0]["jobKey"])')
run 0 jobs complete "${j5:-0}"
if run 0 jobs activate --type ship --json; then
  py "assert [(j['processInstanceKey'], j['variables'].get('paid')) for j in d['jobs']] == [('${k5:-0}', 99)], d"
fi
# A message start event: publishing starts an instance.
run 0 message publish order-placed --key '' --vars '{"orderId": "o-1"}'
run 0 instances --process message-start --json && py 'assert len(d["items"]) == 1 and d["items"][0]["state"] == "active", d'

# ---------------------------------------------------------------- signals
run 0 deploy "$models/signals.bpmn"
run 0 start signal-waiter --json && k6=$(py 'print(d["processInstanceKey"])')
run 0 signal broadcast done --json && py 'assert d["reached"] >= 1, d'
run 0 instances show "${k6:-0}" --json && py "assert [t['elementId'] for t in d['userTasks']] == ['review'], d"

# ---------------------------------------------------------------- cancel
run 0 start order_processing --vars '{"amount": 5}' --json && k7=$(py 'print(d["processInstanceKey"])')
k7=${k7:-0}
run 0 instances cancel "$k7"
run 0 instances --state terminated --json && py "assert [x['processInstanceKey'] for x in d['items']] == ['$k7'], d"
run 1 instances cancel "$k7"
run 0 jobs activate --type handle-order --json && py "assert all(j['processInstanceKey'] != '$k7' for j in d['jobs']), d"

# ---------------------------------------------------------------- usage errors: exit 2, the reason on stderr
run 2 instances --bogus && err_has "unknown option '--bogus'"
run 2 jobs complete && err_has "jobs complete: missing KEY"
run 2 jobs && err_has "missing subcommand"
run 2 jobs frob && err_has "unknown subcommand 'frob'"
run 2 start order_processing --vars '{"amount": ' && err_has "--vars is not JSON"
run 2 start order_processing --vars '[1, 2]' && err_has "--vars must be a JSON object"
run 2 jobs complete 12x && err_has "KEY must be a key"
run 2 jobs activate && err_has "--type T is required"
run 2 jobs activate --type x --timeout 5m && err_has "--timeout wants an ISO-8601 duration"
run 2 jobs activate --type x --max 0 && err_has "--max wants a whole number"
run 2 jobs fail 1 && err_has "--retries N is required"
run 2 jobs throw-error 1 && err_has "--code CODE is required"
run 2 tasks claim 1 && err_has "--assignee U is required"
run 2 instances --state sleeping && err_has "--state is active, completed, terminated or incident"
run 2 message publish payment-received && err_has "--key K is required"
run 2 history prune && err_has "--older-than DURATION is required"
run 2 history prune --older-than -P1D && err_has "must not be negative"
run 2 start && err_has "missing PROCESS_ID"
run 2 deploy && err_has "missing FILE.bpmn"
run 2 instances show 1 2 && err_has "unexpected argument '2'"
"$bin" start order_processing --db >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q -- "--db needs a value" "$tmp/err" && ok || bad "--db without a value" "$(cat "$tmp/err")"
run 0 start --help && out_has "usage: crmflow start"
run 0 jobs --help && out_has "jobs activate --type T"
"$bin" help | grep -q "jobs activate" && ok || bad "crmflow help does not list the database operations"

# ---------------------------------------------------------------- unknown keys: exit 1, nothing changes
run 1 jobs complete 987654321 && err_has "no job 987654321"
run 1 jobs fail 987654321 --retries 1 && err_has "no job 987654321"
run 1 tasks complete 987654321 && err_has "no open user task 987654321"
run 1 tasks claim 987654321 --assignee ann && err_has "no open user task 987654321"
run 1 incidents resolve 987654321 && err_has "no open incident 987654321"
run 1 instances show 987654321 && err_has "no instance 987654321"
run 1 instances cancel 987654321 && err_has "no instance 987654321"
run 1 start no-such-process && err_has "no process 'no-such-process' is deployed"

# CRMFLOW_DB names the database when --db is not given.
out=$(cd "$tmp" && CRMFLOW_DB="$db" "$bin" instances --json 2>&1) && py "assert any(x['processInstanceKey'] == '$k1' for x in d['items'])" ||
  bad "CRMFLOW_DB was not used" "$out"

# ---------------------------------------------------------------- history prune
run 0 history prune --older-than P90D --json && py 'assert d["removed"] == 0, d'
sleep 0.05
if run 0 history prune --older-than PT0S --json; then
  # Ended: the completed order and the canceled one; every other instance still waits.
  py 'assert d["removed"] == 2, d'
fi
run 0 instances --state completed --json && py 'assert d["items"] == [], d'
run 0 instances --state terminated --json && py 'assert d["items"] == [], d'
run 1 instances show "$k1" && err_has "no instance $k1"
run 0 instances --state active --json && py "assert '${k2}' in [x['processInstanceKey'] for x in d['items']], d"

printf '%d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ]
