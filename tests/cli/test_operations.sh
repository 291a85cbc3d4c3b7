#!/usr/bin/env bash
# docs/operations.md, checked: the SQLite online backup it documents (VACUUM INTO) taken from a live
# `crmflow serve` while clients create instances through the API; the backup is whole, opens with
# `crmflow instances --db BACKUP`, and holds every instance acknowledged before it started; the
# documented restore (stop, put the file in place without the old -wal/-shm, start) serves it again;
# `.backup` of the sqlite3 command line once the server is idle; `--retention` accepted (and a bad
# one refused); `history prune` on the backup. And, when systemd-analyze exists, the unit files of
# examples/systemd/ and the backup units in docs/operations.md pass `systemd-analyze verify`.
set -u
bin="$1"
src="${CF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crmflow-test-operations.XXXXXX")
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
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# SQL on a database file: the sqlite3 command line when installed (as the documentation uses it),
# else Python's sqlite3 module (the same SQLite statements).
if command -v sqlite3 >/dev/null 2>&1; then
  sql() { sqlite3 "$1" "$2"; }
  echo "sqlite3 command line: $(sqlite3 --version | cut -d' ' -f1)"
else
  sql() { python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
for row in c.execute(sys.argv[2]): print("|".join(str(v) for v in row))' "$1" "$2"; }
  echo "no sqlite3 command line (Debian package sqlite3): using Python's sqlite3 module"
fi
count_instances() { # DB -> number of instances `crmflow instances` lists
  "$bin" instances --db "$1" --json --limit 1000000 | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["items"]))'
}
start_serve() { # DB PORT LOG [options...]
  local db=$1 port=$2 log=$3
  shift 3
  "$bin" serve --db "$db" --listen "127.0.0.1:$port" "$@" 2>"$log" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && return 0; sleep 0.1; done
  return 1
}
stop_serve() {
  kill -TERM "$pid"
  wait "$pid"
}

# --retention: a bad duration is a usage error; a good one is served with.
"$bin" serve --db "$tmp/r.db" --retention 90days 2>"$tmp/err" >/dev/null
rc=$?
[ "$rc" = 2 ] && grep -q -- '--retention' "$tmp/err" && ok || bad "--retention 90days: exit $rc" "$(cat "$tmp/err")"

db="$tmp/live/crmflow.db"
mkdir -p "$tmp/live" "$tmp/backups"
tok=$("$bin" token create --db "$db" --name ops --role admin 2>/dev/null) || { bad "token create"; exit 1; }
port=$(free_port)
if start_serve "$db" "$port" "$tmp/serve.log" --retention P90D; then ok; else
  bad "serve --retention P90D does not answer" "$(cat "$tmp/serve.log")"
  exit 1
fi
grep -q "serving .* on http://127.0.0.1:$port" "$tmp/serve.log" && ok || bad "no 'serving' line" "$(cat "$tmp/serve.log")"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" \
  -F "resources=@$src/tests/fixtures/api_order.bpmn" "http://127.0.0.1:$port/v2/deployments")
[ "$code" = 200 ] && ok || bad "deploy: $code"

# Load: 8 clients create instances (api_order waits at a job, a user task and a message; api_quick
# ends at once) for 6 s; each acknowledged key is written with the time of its answer.
python3 - "$port" "$tok" 6 "$tmp/acked" <<'PY' &
import http.client, json, sys, threading, time
port, tok, secs, out = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4]
h = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
acked, lock, end = [], threading.Lock(), time.time() + secs
def client(k):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    i = 0
    while time.time() < end:
        body = {"processDefinitionId": "api_order" if i % 2 else "api_quick",
                "variables": {"orderId": "%d-%d" % (k, i), "n": i, "note": "x" * 200}}
        c.request("POST", "/v2/process-instances", body=json.dumps(body), headers=h)
        r = c.getresponse()
        d = r.read()
        if r.status == 200:
            key = json.loads(d)["processInstanceKey"]
            with lock: acked.append("%.6f %s" % (time.time(), key))
        i += 1
ts = [threading.Thread(target=client, args=(k,)) for k in range(8)]
for t in ts: t.start()
for t in ts: t.join()
open(out, "w").write("\n".join(acked) + "\n")
PY
load=$!
pids+=("$load")
sleep 2

# The documented online backup, while the load runs: VACUUM INTO a new file, renamed when complete.
backup="$tmp/backups/crmflow-$(date +%F).db"
t0=$(date +%s.%N)
out=$(sql "$db" "VACUUM INTO '$backup.tmp'" 2>&1)
rc=$?
t1=$(date +%s.%N)
[ "$rc" = 0 ] && mv "$backup.tmp" "$backup" && ok || bad "VACUUM INTO under load: exit $rc" "$out"
wait "$load"
n_acked=$(wc -l <"$tmp/acked")
during=$(awk -v a="$t0" -v b="$t1" '$1 > a && $1 < b' "$tmp/acked" | wc -l)
echo "load: $n_acked instances acknowledged, $during of them while VACUUM INTO ran ($(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}') s)"
[ "$n_acked" -gt 100 ] && ok || bad "the load created only $n_acked instances"
[ "$during" -gt 0 ] && ok || bad "no instance was acknowledged while the backup ran: it was not taken under load"

check_backup() { # FILE WHAT: whole, opens with crmflow, holds every instance acknowledged before $t0
  local f=$1 what=$2
  local ic
  ic=$(sql "$f" 'PRAGMA integrity_check' 2>&1)
  [ "$ic" = ok ] && ok || bad "$what: integrity_check" "$ic"
  if "$bin" instances --db "$f" --json --limit 1000000 >"$tmp/inst.json" 2>"$tmp/inst.err"; then ok; else
    bad "$what: crmflow instances --db does not open it" "$(cat "$tmp/inst.err")"
    return
  fi
  python3 - "$tmp/inst.json" "$tmp/acked" "$t0" "$what" <<'PY' && ok || bad "$what: instances"
import json, sys
items = json.load(open(sys.argv[1]))["items"]
have = {i["processInstanceKey"] for i in items}
before = [l.split()[1] for l in open(sys.argv[2]) if l.strip() and float(l.split()[0]) < float(sys.argv[3])]
missing = [k for k in before if k not in have]
print("%s: %d instances, of them all %d acknowledged before it started" % (sys.argv[4], len(have), len(before)))
assert before, "nothing was acknowledged before the backup started"
assert not missing, "%d acknowledged before the backup are missing, e.g. %s" % (len(missing), missing[:5])
PY
}
check_backup "$backup" "VACUUM INTO backup"
n_backup=$(count_instances "$backup")
n_live=$(count_instances "$db")
[ "$n_live" -ge "$n_backup" ] && [ "$n_live" -ge "$n_acked" ] && ok ||
  bad "live database: $n_live instances, backup $n_backup, acknowledged $n_acked"
metrics=$(curl -s -H "Authorization: Bearer $tok" "http://127.0.0.1:$port/metrics")
for m in crmflow_writer_queue crmflow_writer_refused_total crmflow_writer_commit_seconds_bucket \
  crmflow_incidents_open crmflow_instances_open crmflow_http_responses_total; do
  grep -q "^$m" <<<"$metrics" && ok || bad "/metrics has no $m"
done

# `.backup` of the sqlite3 command line, once nothing writes (under steady writes it starts over
# after every commit of another connection: docs/operations.md).
if command -v sqlite3 >/dev/null 2>&1; then
  out=$(timeout 60 sqlite3 "$db" ".backup '$tmp/backups/dot.db'" 2>&1)
  rc=$?
  [ "$rc" = 0 ] && ok || bad ".backup on an idle server: exit $rc" "$out"
  check_backup "$tmp/backups/dot.db" ".backup copy"
fi

# Restore: stop, move the database and its -wal/-shm aside, put the backup in place, start.
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/status")
[ "$code" = 204 ] && ok || bad "/v2/status: $code"
stop_serve
rc=$?
[ "$rc" = 0 ] && ok || bad "serve stopped with exit $rc" "$(tail -5 "$tmp/serve.log")"
mkdir -p "$tmp/live/old"
mv "$db" "$tmp/live/old/"
for f in "$db-wal" "$db-shm"; do [ -e "$f" ] && mv "$f" "$tmp/live/old/"; done
cp "$backup" "$db.restoring" && mv "$db.restoring" "$db"
port=$(free_port)
if start_serve "$db" "$port" "$tmp/serve2.log" --retention P90D; then ok; else
  bad "serve on the restored database" "$(cat "$tmp/serve2.log")"
fi
n=$(count_instances "$db")
[ "$n" = "$n_backup" ] && ok || bad "restored: $n instances, the backup had $n_backup"
code=$(curl -s -o "$tmp/body" -w '%{http_code}' -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
  -d '{"processDefinitionId": "api_quick", "variables": {"n": 1}}' "http://127.0.0.1:$port/v2/process-instances")
[ "$code" = 200 ] && ok || bad "a new instance on the restored database: $code" "$(cat "$tmp/body")"
[ "$(sql "$db" 'PRAGMA journal_mode')" = wal ] && ok || bad "the restored database is not in WAL mode once served"
stop_serve

# history prune on a copy of the backup: nothing ended 90 days ago, so nothing removed.
cp "$backup" "$tmp/prune.db"
out=$("$bin" history prune --db "$tmp/prune.db" --older-than P90D --json 2>&1)
python3 -c 'import json, sys; d = json.loads(sys.argv[1]); assert d["removed"] == 0, d' "$out" && ok ||
  bad "history prune --older-than P90D" "$out"

# systemd: the unit files, with ExecStart pointed at this build (verify checks that it exists).
if command -v systemd-analyze >/dev/null 2>&1; then
  mkdir -p "$tmp/units"
  for u in crmflow.service crmflow-worker.service; do
    sed "s#/usr/local/bin/crmflow#$bin#" "$src/examples/systemd/$u" >"$tmp/units/$u"
  done
  # The backup service and timer shown in docs/operations.md (blocks starting '# /etc/systemd/system/').
  python3 - "$src/docs/operations.md" "$tmp/units" "$bin" <<'PY' || bad "extracting the units of docs/operations.md"
import os, re, sys
text = open(sys.argv[1]).read()
n = 0
for block in re.findall(r"```ini\n(.*?)```", text, re.S):
    m = re.match(r"# /etc/systemd/system/(\S+)\n", block)
    if m:
        body = block.replace("/usr/local/bin/crmflow", sys.argv[3])
        body = body.replace("/usr/bin/sqlite3", os.popen("command -v sqlite3 || echo /bin/true").read().strip())
        open(os.path.join(sys.argv[2], m.group(1)), "w").write(body)
        n += 1
assert n >= 2, "no unit files found in docs/operations.md"
PY
  # It exits 0 on a key it ignores (a typo, a bad value), so any message is a failure too.
  out=$(cd "$tmp/units" && systemd-analyze verify ./*.service ./*.timer 2>&1)
  rc=$?
  [ "$rc" = 0 ] && [ -z "$out" ] && ok || bad "systemd-analyze verify: exit $rc" "$out"
  echo "systemd-analyze verify: $(cd "$tmp/units" && ls | tr '\n' ' ')"
else
  echo "no systemd-analyze: the unit files are not verified"
fi

echo "operations: $pass passed, $fail failed"
[ "$fail" = 0 ]
