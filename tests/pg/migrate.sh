#!/usr/bin/env bash
# migrate.sh CRMFLOW SOURCE_DIR
#
# `crmflow migrate --from sqlite:PATH --to postgres://...` with running instances. A SQLite
# database gets: two versions of the order model (jobs), a model waiting at a user task, one
# waiting for a message, one at a timer an hour away; instances of each, some completed, some
# waiting; a token, a user, a group; a custom record type with a unique field, records, a
# trigger (not-while-active) whose instances wait at the user task; two buffered messages (a TTL):
# one no instance waited for, one already taken once by an instance of msgwait. It is migrated into
# a new PostgreSQL database (pg.sh); the counts printed must match; a second migration into the now
# non-empty target is refused. Then, on PostgreSQL, with the CLI: the same instances and keys are
# there; the token, user and group are; the unique value is still taken; an update of an enrolled
# record starts no second instance (the enrollment is active); every waiting instance is carried to
# its end (jobs completed type by type, the user tasks completed, the message published); new keys
# come after the source's; the buffered message is taken by an instance started to wait for it and
# its id is still taken, and the one taken in the source is not taken by a second msgwait instance
# (its correlation mark came along). Fails (not skips) when no server can be started.
set -euo pipefail
crmflow=$1
src=$2
dir=$(mktemp -d /tmp/cf_pgmg_XXXXXX)
trap 'bash "$src/tests/pg/pg.sh" stop "$dir"' EXIT
fail() {
  echo "pg.migrate: $*" >&2
  exit 1
}
db=$dir/source.db
cf() { "$crmflow" "$@"; }
key_of() { grep -o '"processInstanceKey":"[0-9]*"' | head -1 | grep -o '[0-9]*'; }

# ---- the source
cf deploy --db "$db" "$src/tests/pg/order.bpmn" >/dev/null
sed 's/name="Order processing"/name="Order processing v2"/' "$src/tests/pg/order.bpmn" >"$dir/order2.bpmn"
cf deploy --db "$db" "$dir/order2.bpmn" | grep -q "version 2" || fail "order v2 not deployed"
cat >"$dir/waits.bpmn" <<'BPMN'
<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d_w" targetNamespace="t">
  <bpmn:process id="approval" isExecutable="true">
    <bpmn:startEvent id="s1"><bpmn:outgoing>a1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="approve"><bpmn:extensionElements><zeebe:userTask /><zeebe:assignmentDefinition candidateGroups="sales" /></bpmn:extensionElements>
      <bpmn:incoming>a1</bpmn:incoming><bpmn:outgoing>a2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e1"><bpmn:incoming>a2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a1" sourceRef="s1" targetRef="approve" />
    <bpmn:sequenceFlow id="a2" sourceRef="approve" targetRef="e1" />
  </bpmn:process>
  <bpmn:message id="m_ping" name="ping"><bpmn:extensionElements><zeebe:subscription correlationKey="=id" /></bpmn:extensionElements></bpmn:message>
  <bpmn:process id="msgwait" isExecutable="true">
    <bpmn:startEvent id="s2"><bpmn:outgoing>b1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait_ping"><bpmn:incoming>b1</bpmn:incoming><bpmn:outgoing>b2</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="m_ping" /></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e2"><bpmn:incoming>b2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="b1" sourceRef="s2" targetRef="wait_ping" />
    <bpmn:sequenceFlow id="b2" sourceRef="wait_ping" targetRef="e2" />
  </bpmn:process>
  <bpmn:process id="later" isExecutable="true">
    <bpmn:startEvent id="s3"><bpmn:outgoing>c1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait_hour"><bpmn:incoming>c1</bpmn:incoming><bpmn:outgoing>c2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e3"><bpmn:incoming>c2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="c1" sourceRef="s3" targetRef="wait_hour" />
    <bpmn:sequenceFlow id="c2" sourceRef="wait_hour" targetRef="e3" />
  </bpmn:process>
</bpmn:definitions>
BPMN
cf deploy --db "$db" "$dir/waits.bpmn" >/dev/null
tok=$(cf token create --db "$db" --name mig --role admin 2>/dev/null)
cf group create --db "$db" sales >/dev/null
cf user create --db "$db" ann --role agent --groups sales >/dev/null

running=()
# Order instances on both versions: 3 carried to their end, 4 left at jobs.
for i in 1 2 3 4 5 6 7; do
  ver=$((i % 2 + 1))
  k=$(cf start order_processing --db "$db" --version $ver --vars "{\"amount\":$((i * 300))}" --json | key_of)
  [ -n "$k" ] || fail "start order $i"
  if [ "$i" -le 3 ]; then
    for _ in 1 2 3 4 5 6; do
      for t in approve-order handle-order reserve-stock charge-payment ship-order; do
        for j in $(cf jobs activate --db "$db" --type "$t" --worker pre --json | grep -o '"jobKey":"[0-9]*"' | grep -o '[0-9]*'); do
          cf jobs complete "$j" --db "$db" --worker pre >/dev/null
        done
      done
    done
  else
    running+=("$k")
  fi
done
# One waiting job failed without retries: an incident (resolved on PostgreSQL).
fj=$(cf jobs activate --db "$db" --type approve-order --worker failing --max 1 --json | grep -o '"jobKey":"[0-9]*"' | grep -o '[0-9]*')
[ -n "$fj" ] || fail "no approve-order job to fail"
cf jobs fail "$fj" --db "$db" --retries 0 --message "no stock" >/dev/null
# An approval whose user task was completed in the source (a completed task row).
done_appr=$(cf start approval --db "$db" --json | key_of)
done_task=$(cf tasks --db "$db" --json | grep -o '"userTaskKey":"[0-9]*"' | tail -1 | grep -o '[0-9]*')
cf tasks complete "$done_task" --db "$db" >/dev/null
for i in 1 2; do running+=("$(cf start approval --db "$db" --json | key_of)"); done
running+=("$(cf start msgwait --db "$db" --vars '{"id":"p-1"}' --json | key_of)")
# Buffered messages: ping p-9 waits for an instance; ping p-5 reaches one (which ends) and stays
# buffered, marked as taken by msgwait.
cf message publish ping --key p-9 --ttl PT1H --id ping-9 --db "$db" >/dev/null
once=$(cf start msgwait --db "$db" --vars '{"id":"p-5"}' --json | key_of)
cf message publish ping --key p-5 --ttl PT1H --id ping-5 --db "$db" >/dev/null
cf instances --db "$db" --state completed | grep -q "^$once " || fail "ping p-5 did not reach instance $once"
timer_key=$(cf start later --db "$db" --json | key_of)
# CRM: a custom type with a unique field, records, a trigger whose instances wait at the user task.
cat >"$dir/trigger.json" <<'JSON'
{"name":"lead review","recordType":"lead","on":["create","update"],"processDefinitionId":"approval",
 "enrollment":"not-while-active"}
JSON
cf triggers add "$dir/trigger.json" --db "$db" >/dev/null
lead=$(cf records create lead --db "$db" --fields '{"name":"Ann Lee","email":"ann@example.com"}' --json |
  grep -o '"recordKey":"[0-9]*"' | grep -o '[0-9]*')
[ -n "$lead" ] || fail "lead not created"
cf records update lead "$lead" --db "$db" --fields '{"status":"contacted"}' >/dev/null
n_enrolled=$(cf instances --db "$db" --process approval --state active | grep -c '^[0-9]') || true
[ "$n_enrolled" -eq 3 ] || fail "the trigger started $n_enrolled approval instances in the source, not 3 (2 + 1 enrolled)"
cat >"$dir/type.json" <<'JSON'
{"name":"project","fields":[{"name":"code","type":"string","required":true,"unique":true},{"name":"budget","type":"decimal"}]}
JSON


# The record type through serve would need a port; the CLI has no type put: use the API once.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$crmflow" serve --db "$db" --listen "127.0.0.1:$port" --no-workers 2>"$dir/serve.log" &
spid=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
code=$(curl -s -o "$dir/type.out" -w '%{http_code}' -X PUT -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
  --data @"$dir/type.json" "http://127.0.0.1:$port/v2/crm/record-types/project")
kill -TERM $spid
wait $spid || fail "serve on the source did not stop cleanly"
[ "$code" = 200 ] || [ "$code" = 204 ] || fail "record type: $code $(cat "$dir/type.out")"
cf records create project --db "$db" --fields '{"code":"P-1","budget":12.5}' >/dev/null
cf records create project --db "$db" --fields '{"code":"P-2"}' >/dev/null
src_active=$(cf instances --db "$db" --state active | grep -c '^[0-9]') || true
src_completed=$(cf instances --db "$db" --state completed | grep -c '^[0-9]') || true
[ "$src_active" -eq 9 ] || fail "$src_active active instances in the source, not 9"
[ "$src_completed" -eq 5 ] || fail "$src_completed completed instances in the source, not 5"
maxkey=$(cf instances --db "$db" --json --limit 1000 | grep -o '"processInstanceKey":"[0-9]*"' | grep -o '[0-9]*' | sort -n | tail -1)

# Another leased for 3 s, last (the lease is copied: the job is leased there too until it runs out).
lj=$(cf jobs activate --db "$db" --type approve-order --worker leased --max 1 --timeout PT3S --json | grep -o '"jobKey":"[0-9]*"' | grep -o '[0-9]*')
[ -n "$lj" ] || fail "no approve-order job to lease"

# ---- the migration
url=$(bash "$src/tests/pg/pg.sh" start "$dir") || fail "no PostgreSQL server could be started (see above)"
out=$(cf migrate --from "sqlite:$db" --to "$url") || fail "migrate failed: $out"
echo "$out"
s=$(grep '^source:' <<<"$out" | sed 's/^source: *//')
t=$(grep '^target:' <<<"$out" | sed 's/^target: *//')
[ -n "$s" ] && [ "$s" = "$t" ] || fail "counts differ: $out"
grep -q "instances active 9, completed 5, terminated 0; jobs 4; user tasks 4; incidents 1; definitions 5; records 3; messages 2" <<<"$s" ||
  fail "unexpected counts: $s"
if out2=$(cf migrate --from "sqlite:$db" --to "$url" 2>&1); then fail "a second migration into a non-empty target was taken: $out2"; fi
grep -q "not empty" <<<"$out2" || fail "second migration: $out2"

# ---- on PostgreSQL
pg_active=$(cf instances --db "$url" --state active)
for k in "${running[@]}" "$timer_key"; do grep -q "^$k " <<<"$pg_active" || fail "instance $k is not active on PostgreSQL"; done
cf token list --db "$url" | grep -q mig || fail "the token is not there"
cf user list --db "$url" 2>/dev/null | grep -q ann || fail "the user is not there"
cf group list --db "$url" 2>/dev/null | grep -q sales || fail "the group is not there"
if cf records create project --db "$url" --fields '{"code":"P-1"}' >/dev/null 2>&1; then fail "the unique value P-1 was taken again"; fi
cf records create project --db "$url" --fields '{"code":"P-3"}' >/dev/null || fail "a new project"
cf records update lead "$lead" --db "$url" --fields '{"status":"qualified"}' >/dev/null
n=$(cf instances --db "$url" --process approval --state active | grep -c '^[0-9]') || true
[ "$n" -eq 3 ] || fail "$n approval instances active after an update of the enrolled lead, not 3 (enrollment lost)"
cf records history lead "$lead" --db "$url" | grep -q contacted || fail "the lead's history is not there"
# The timer is still due in an hour.
cf instances show "$timer_key" --db "$url" | grep -qi "wait_hour\|timer" || fail "the timer instance: $(cf instances show "$timer_key" --db "$url")"

cf tasks --db "$url" --state completed | grep -q "^$done_task " || fail "the completed task $done_task is not there"
inc=$(cf incidents --db "$url" --json | grep -o '"incidentKey":"[0-9]*"' | grep -o '[0-9]*')
[ -n "$inc" ] || fail "the incident is not there: $(cf incidents --db "$url")"
cf incidents resolve "$inc" --retries 1 --db "$url" >/dev/null
# The lease came along: the job's row names its worker (instances show's open jobs).
found=0
for k in "${running[@]}"; do
  if cf instances show "$k" --db "$url" | grep -E "^$lj +approve-order" | grep -q " leased "; then found=1; fi
done
[ $found -eq 1 ] || fail "the lease of job $lj was not copied"
sleep 3
# Carry the waiting ones to their end.
for _ in 1 2 3 4 5 6; do
  for t in approve-order handle-order reserve-stock charge-payment ship-order; do
    for j in $(cf jobs activate --db "$url" --type "$t" --worker post --json | grep -o '"jobKey":"[0-9]*"' | grep -o '[0-9]*'); do
      cf jobs complete "$j" --db "$url" --worker post --vars '{"approved":true}' >/dev/null
    done
  done
done
for tk in $(cf tasks --db "$url" --json | grep -o '"userTaskKey":"[0-9]*"' | grep -o '[0-9]*'); do
  cf tasks complete "$tk" --db "$url" >/dev/null
done
cf message publish ping --key p-1 --db "$url" >/dev/null
left=$(cf instances --db "$url" --state active)
for k in "${running[@]}"; do
  grep -q "^$k " <<<"$left" && fail "instance $k did not end on PostgreSQL: $(cf instances show "$k" --db "$url")"
done
grep -q "^$timer_key " <<<"$left" || fail "the timer instance ended early"
n=$(grep -c '^[0-9]' <<<"$left") || true
[ "$n" -eq 1 ] || fail "$n instances still active, not 1 (the timer's): $left"
# New keys come after the source's.
nk=$(cf start msgwait --db "$url" --vars '{"id":"p-2"}' --json | key_of)
[ "$nk" -gt "$maxkey" ] || fail "a new instance got key $nk, not past the source's $maxkey"
# The buffered messages came along: ping-9's id is still taken, and an instance started to wait for
# ping p-9 takes it and ends; ping p-5's mark too: a second msgwait instance does not take it.
dup=$(cf message publish ping --key p-9 --ttl PT1H --id ping-9 --db "$url") || fail "publishing ping-9 again: $dup"
grep -q "^duplicate" <<<"$dup" || fail "the message id ping-9 was free on PostgreSQL: $dup"
k9=$(cf start msgwait --db "$url" --vars '{"id":"p-9"}' --json | key_of)
cf instances --db "$url" --state completed | grep -q "^$k9 " ||
  fail "instance $k9 did not take the buffered ping p-9: $(cf instances show "$k9" --db "$url")"
k5=$(cf start msgwait --db "$url" --vars '{"id":"p-5"}' --json | key_of)
cf instances --db "$url" --state active | grep -q "^$k5 " || fail "instance $k5 took ping p-5 a second time (its mark was lost)"
echo "pg.migrate: done (${#running[@]} running instances carried to their end on $url)"
