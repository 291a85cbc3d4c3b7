#!/usr/bin/env bash
# CRM records and triggers on the command line (shared/contracts.md §7,
# docs/cli.md "CRM records and triggers"), through the real binary against
# databases in a temporary folder: create, get, update, delete, search and
# history with --json; validation errors naming the field; CSV import (all
# rows or none, each rejected row said) and export, re-imported elsewhere;
# a trigger added from a file starting an instance when the CLI creates a
# record. JSON and CSV are checked with python3.
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crmflow-test-records.XXXXXX")
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

# py 'PYTHON' [WHAT]: parses $out as exactly one JSON document into d, then runs PYTHON (asserts);
# prints what it prints.
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

err_has() {
  case $err in *"$1"*) ok ;; *) bad "stderr lacks '$1'" "$err" ;; esac
}
out_has() {
  case $out in *"$1"*) ok ;; *) bad "stdout lacks '$1'" "$out" ;; esac
}

# count TYPE: how many records of TYPE the database holds, in $n.
count() {
  out=$("$bin" records search "$1" --limit 1 --json --db "$db" 2>/dev/null)
  n=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])' 2>/dev/null)
}

iso='re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", %s)'

cat >"$tmp/welcome.bpmn" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://example.com">
  <bpmn:process id="welcome_lead" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call_lead"/>
    <bpmn:userTask id="call_lead"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call_lead" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
EOF

# ---------------------------------------------------------------- no database, usage
run 1 records create lead --fields '{"name":"Ann"}' && err_has "no database at $db"
[ ! -e "$db" ] && ok || bad "records create created the database"
run 2 records
run 2 records frobnicate lead
run 0 records --help && out_has "records import TYPE FILE.csv"
run 0 deploy "$tmp/welcome.bpmn"

# ---------------------------------------------------------------- create, get
run 0 records create lead --json --fields '{"name": "Ann Lee", "email": "ann@ACME.example", "source": "web"}'
lead=$(py "
assert re.fullmatch(r'\d+', d['recordKey']), d
assert d['type'] == 'lead' and d['version'] == 1, d
f = d['fields']
assert f['name'] == 'Ann Lee' and f['email'] == 'ann@acme.example', f
assert f['status'] == 'new', 'the default of status'
assert $(printf "$iso" "f['createdAt']") and f['createdAt'] == f['updatedAt'], f
assert d['createdBy'] == 'cli', d
print(d['recordKey'])")
run 0 records get lead "$lead" --json && py "
assert d['recordKey'] == '$lead' and d['fields']['name'] == 'Ann Lee' and d['version'] == 1, d"
run 0 records get lead "$lead" && out_has "Ann Lee"
run 0 records create lead --fields '{"name": "Bo"}' && out_has "created lead " && out_has "(version 1)"
run 1 records get lead 999999 && err_has "no lead record 999999"
run 1 records get order "$lead"
run 2 records get lead abc
run 1 records get nosuchtype 1 && err_has "no record type 'nosuchtype'"

# ---------------------------------------------------------------- validation names the field
run 1 records create lead --fields '{"name": "X", "email": "not-an-address"}' && err_has "field email"
run 1 records create lead --fields '{"email": "a@b.example"}' && err_has "field name" && err_has "required"
run 1 records create lead --fields '{"name": "X", "status": "hot"}' && err_has "field status"
run 1 records create lead --fields '{"name": "X", "nickname": "x"}' && err_has "nickname"
run 1 records create order --fields '{"amount": "lots"}' && err_has "field amount"
run 2 records create lead --fields 'nope'
run 2 records create lead --fields '[1]'
run 2 records create lead
count lead
[ "$n" = 2 ] && ok || bad "refused creates stored something: $n leads"

# ---------------------------------------------------------------- update
run 0 records update lead "$lead" --json --fields '{"status": "contacted", "source": null}' --version 1 && py "
assert d['version'] == 2 and d['fields']['status'] == 'contacted' and 'source' not in d['fields'], d
assert d['updatedBy'] == 'cli'"
run 1 records update lead "$lead" --fields '{"status": "qualified"}' --version 1 && err_has "version 2"
run 1 records update lead "$lead" --fields '{"status": "hot"}' && err_has "field status"
run 0 records get lead "$lead" --json && py "assert d['version'] == 2 and d['fields']['status'] == 'contacted', d"
run 1 records update lead 999999 --fields '{"status": "lost"}' && err_has "no lead record 999999"
run 0 records update lead "$lead" --fields '{"owner": "sam"}' && out_has "updated lead $lead (version 3)"

# ---------------------------------------------------------------- search
for i in 1 2 3; do
  run 0 records create order --fields "{\"number\": \"N-$i\", \"amount\": $((i * 60)).5}" >/dev/null
done
run 0 records search order --json --filter '{"amount": {"$gt": 100}}' && py "
assert d['total'] == 2 and [r['fields']['number'] for r in d['items']] == ['N-2', 'N-3'], d"
run 0 records search order --json --filter '{"amount": {"$lte": 60.5}}' && py "
assert [r['fields']['number'] for r in d['items']] == ['N-1'], d
assert str(d['items'][0]['fields']['amount']) == '60.5', d"
run 0 records search order --json --filter '{"number": {"$in": ["N-1", "N-3"]}}' --sort number:desc && py "
assert [r['fields']['number'] for r in d['items']] == ['N-3', 'N-1'], d"
run 0 records search order --json --filter '{"$or": [{"number": "N-1"}, {"amount": {"$gt": 150}}]}' && py "
assert sorted(r['fields']['number'] for r in d['items']) == ['N-1', 'N-3'], d"
run 0 records search order --json --sort amount:desc --limit 2 && py "
assert [r['fields']['number'] for r in d['items']] == ['N-3', 'N-2'] and d['total'] == 3 and d['more'], d"
run 0 records search lead --json --filter '{"status": "contacted", "createdAt": {"$gte": "2000-01-01T00:00:00Z"}}' && py "
assert [r['recordKey'] for r in d['items']] == ['$lead'], d"
run 0 records search lead --json --filter '{"createdAt": {"$lt": "2000-01-01T00:00:00Z"}}' && py "assert d['items'] == [], d"
run 0 records search lead --json --filter '{"source": null}' && py "
assert '$lead' in [r['recordKey'] for r in d['items']], d"
run 0 records search order && out_has "NUMBER" && out_has "N-2"
run 2 records search order --filter '{"colour": "red"}' && err_has "colour"
run 2 records search order --filter '{"amount": {"$gt": "many"}}' && err_has "amount"
run 2 records search order --filter '{"amount": {"$near": 1}}' && err_has '$near'
run 2 records search order --filter 'nope'
run 2 records search order --sort colour
run 2 records search order --limit 0

# ---------------------------------------------------------------- history, delete
run 0 records history lead "$lead" --json && py "
items = d['items']
assert [c['kind'] for c in items] == ['create', 'update', 'update'], items
assert all(c['by'] == 'cli' for c in items), items
assert all($(printf "$iso" "c['at']") for c in items), items
assert items[0]['changes']['name'] == {'from': None, 'to': 'Ann Lee'}, items[0]
assert items[1]['changes']['status'] == {'from': 'new', 'to': 'contacted'}, items[1]
assert items[1]['changes']['source'] == {'from': 'web', 'to': None}, items[1]"
run 0 records history lead "$lead" && out_has "contacted" && out_has "update"
run 1 records history order "$lead"
run 0 records delete lead "$lead" && out_has "deleted lead $lead"
run 1 records get lead "$lead"
run 1 records delete lead "$lead" && err_has "no lead record"
run 0 records history lead "$lead" --json && py "assert d['items'][-1]['kind'] == 'delete', d"
run 0 records types --json && py "
names = [t['name'] for t in d['items']]
assert {'account', 'contact', 'lead', 'opportunity', 'order', 'ticket', 'campaign'} <= set(names), names"
run 0 records types && out_has "opportunity"

# ---------------------------------------------------------------- CSV import: all or nothing
count ticket
[ "$n" = 0 ] && ok || bad "tickets before the import: $n"
printf 'subject,priority,description\r\nPrinter jam,high,"Paper, stuck"\r\nNo priority,urgentissimo,x\r\nLogin,low,\r\n,normal,no subject\r\nVPN,normal,"says ""denied"""\r\n' >"$tmp/bad.csv"
run 1 records import ticket "$tmp/bad.csv" && err_has "row 3, field priority" && err_has "row 5, field subject" &&
  err_has "nothing was imported"
case $err in *"row 2"* | *"row 4"* | *"row 6"*) bad "a good row was reported" "$err" ;; *) ok ;; esac
count ticket
[ "$n" = 0 ] && ok || bad "a refused import stored $n tickets"
printf 'subject,colour\nA,red\n' >"$tmp/col.csv"
run 1 records import ticket "$tmp/col.csv" && err_has "colour"
printf 'subject,priority\n"unclosed,high\n' >"$tmp/quote.csv"
run 1 records import ticket "$tmp/quote.csv" && err_has "row 2"
printf 'subject,priority\nA,high,extra\n' >"$tmp/cells.csv"
run 1 records import ticket "$tmp/cells.csv" && err_has "row 2"
run 1 records import ticket "$tmp/missing.csv" && err_has "missing.csv"
# A missing reference is found while importing: the whole import is undone, naming the row.
printf 'name,account\nKim,\nLou,987654\n' >"$tmp/ref.csv"
run 1 records import contact "$tmp/ref.csv" && err_has "row 3, field account"
count contact
[ "$n" = 0 ] && ok || bad "an import undone by a missing reference stored $n contacts"

python3 - "$tmp/good.csv" <<'EOF'
import csv, sys
with open(sys.argv[1], 'w', newline='') as f:
    w = csv.writer(f)
    w.writerow(['subject', 'description', 'priority', 'status'])
    for i in range(1000):
        desc = 'multi\nline, "quoted"' if i == 7 else ('' if i % 2 else f'd{i}')
        w.writerow([f'T-{i:04d}', desc, ['low', 'normal', 'high', 'urgent'][i % 4], ''])
EOF
run 0 records import ticket "$tmp/good.csv" && out_has "imported 1000 ticket records"
count ticket
[ "$n" = 1000 ] && ok || bad "after a good import: $n tickets"
run 0 records search ticket --json --filter '{"subject": "T-0007"}' && py "
f = d['items'][0]['fields']
assert f['description'] == 'multi\nline, \"quoted\"' and f['priority'] == 'urgent' and f['status'] == 'new', f"
run 0 records search ticket --json --filter '{"subject": "T-0001"}' && py "
assert 'description' not in d['items'][0]['fields'], 'an empty cell is absent'"
run 0 records import ticket "$tmp/good.csv" --json && py "assert d == {'imported': 1000, 'type': 'ticket'}, d"

# Orders with decimals, through export and into another database.
printf 'number,amount,status\n"O,1",19.99,approved\nO-2,100,\nO-3,0.5,shipped\n' >"$tmp/orders.csv"
run 0 records import order "$tmp/orders.csv" && out_has "imported 3 order records"
run 0 records search order --json --filter '{"number": "O,1"}' && py "
assert str(d['items'][0]['fields']['amount']) == '19.99', d"

# ---------------------------------------------------------------- CSV export, re-imported elsewhere
run 0 records export ticket --out "$tmp/tickets.csv" && out_has "exported 2000 ticket records"
run 0 records export ticket
printf '%s' "$out" >"$tmp/tickets-stdout.csv"
run 0 records export order --out "$tmp/orders-out.csv" --json && py "assert d['exported'] == 6 and d['type'] == 'order', d"
run 2 records export order --json
head -1 "$tmp/tickets.csv" | grep -q '^recordKey,subject,description,priority,status,contact,createdAt,updatedAt' && ok ||
  bad "export header" "$(head -1 "$tmp/tickets.csv")"
db1=$db
db="$tmp/other.db"
run 0 deploy "$tmp/welcome.bpmn"
run 0 records import ticket "$tmp/tickets.csv" && out_has "imported 2000 ticket records"
run 0 records import order "$tmp/orders-out.csv" && out_has "imported 6 order records"
run 0 records export ticket --out "$tmp/tickets2.csv"
run 0 records export order --out "$tmp/orders2.csv"
if res=$(python3 - "$tmp" <<'EOF' 2>&1
import csv, sys
t = sys.argv[1]
def rows(name):
    with open(f'{t}/{name}', newline='') as f:
        r = list(csv.DictReader(f))
    for x in r:
        for k in ('recordKey', 'createdAt', 'updatedAt'):
            x.pop(k)
    return sorted(tuple(sorted(x.items())) for x in r)
a, b = rows('tickets.csv'), rows('tickets2.csv')
assert len(a) == 2000 and a == b, 'tickets differ'
assert rows('tickets.csv') == rows('tickets-stdout.csv'), 'stdout and --out differ'
a, b = rows('orders-out.csv'), rows('orders2.csv')
assert len(a) == 6 and a == b, (a, b)
with open(f'{t}/tickets.csv', 'rb') as f:
    raw = f.read()
assert raw.count(b'\r\n') >= 2001, 'CRLF line ends'
EOF
); then ok; else bad "export, import, export gives other rows" "$res"; fi
db=$db1

# ---------------------------------------------------------------- triggers
cat >"$tmp/trigger.json" <<'EOF'
{"name": "welcome web leads", "recordType": "lead", "on": ["create"],
 "condition": "=record.source = \"web\"", "processDefinitionId": "welcome_lead",
 "variables": "={leadName: record.name}"}
EOF
run 0 triggers list --json && py "assert d['items'] == [], d"
run 0 triggers add "$tmp/trigger.json" --json
tkey=$(py "
t = d['triggers']
assert len(t) == 1 and re.fullmatch(r'\d+', t[0]['triggerKey']) and t[0]['name'] == 'welcome web leads', d
print(t[0]['triggerKey'])")
run 1 triggers add "$tmp/trigger.json" && err_has "exists already"
printf '[{"name": "a", "recordType": "lead", "on": ["update"], "processDefinitionId": "welcome_lead"},
  {"name": "b", "recordType": "nosuch", "on": ["create"], "processDefinitionId": "welcome_lead"}]' >"$tmp/two.json"
run 1 triggers add "$tmp/two.json" && err_has "trigger 2" && err_has "recordType"
printf '{"name": "c", "recordType": "lead", "on": ["create"], "processDefinitionId": "welcome_lead", "condition": "=record.("}' >"$tmp/feel.json"
run 1 triggers add "$tmp/feel.json" && err_has "condition"
run 0 triggers list --json && py "
assert [t['name'] for t in d['items']] == ['welcome web leads'], d
assert d['items'][0]['triggerKey'] == '$tkey'"
run 0 triggers list && out_has "welcome_lead"
run 0 instances --json && py "assert d['items'] == [], d"
run 0 records create lead --fields '{"name": "Phone Lead", "source": "phone"}'
run 0 instances --json && py "assert d['items'] == [], 'the condition is false: no instance'"
run 0 records create lead --json --fields '{"name": "Web Lead", "source": "web"}'
wkey=$(py "print(d['recordKey'])")
run 0 instances --json
ikey=$(py "
items = d['items']
assert len(items) == 1 and items[0]['processDefinitionId'] == 'welcome_lead' and items[0]['state'] == 'active', d
print(items[0]['processInstanceKey'])")
run 0 instances show "$ikey" --json && py "
v = d['variables']
assert v['recordKey'] == '$wkey' and v['recordType'] == 'lead' and v['leadName'] == 'Web Lead', v"
run 0 triggers delete "$tkey" && out_has "deleted trigger $tkey"
run 1 triggers delete "$tkey" && err_has "no trigger $tkey"
run 2 triggers delete abc
run 2 triggers
run 0 records create lead --fields '{"name": "Later", "source": "web"}'
run 0 instances --json && py "assert len(d['items']) == 1, 'a deleted trigger started an instance'"

printf '%d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ]
