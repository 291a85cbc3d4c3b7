#!/usr/bin/env bash
# `crmflow bench` as shared/contracts.md §8 defines it, through the real binary:
# the JSON line and its fields, the work done (jobs and user tasks completed),
# stuck instances reported with exit 1, usage errors with exit 2, and
# --store sqlite through the durable runtime (every instance completed, the
# database left where --db says). A few instances each: this checks the
# command, never a speed (bench/run.sh measures speed).
set -u
bin="$1"
here=$(cd "$(dirname "$0")" && pwd)
models="$here/../../../shared/models"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crmflow-test-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() {
  fail=$((fail + 1))
  printf 'FAIL %s\n' "$1"
  [ $# -gt 1 ] && printf '%s\n' "$2" | head -20 | sed 's/^/    /'
}

# run WANT_EXIT ARGS...: runs crmflow bench; the output is in $out, stderr in $err.
run() {
  local want=$1
  shift
  out=$("$bin" bench "$@" 2>"$tmp/err")
  rc=$?
  err=$(cat "$tmp/err")
  if [ $rc -ne "$want" ]; then
    bad "bench $*: exit $rc, expected $want" "$out$err"
    return 1
  fi
  ok
  return 0
}

# has TEXT: the output line contains TEXT.
has() {
  case $out in *"$1"*) ok ;; *) bad "bench output lacks '$1'" "$out" ;; esac
}

# The large-order path of order.bpmn: five jobs per instance.
if run 0 --model "$models/order.bpmn" --instances 7 --vars '{"amount": 1500}' --inflight 3; then
  for f in '"model": ' '"store": "memory"' '"instances": 7' '"seconds": ' '"instances_per_second": ' \
    '"peak_rss_kb": ' '"stuck": 0' '"jobs": 35' '"user_tasks": 0' '"inflight_instances": 3' \
    '"bytes_per_inflight_instance": '; do
    has "$f"
  done
  [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && ok || bad "bench printed more than one line" "$out"
fi
# The small-order path: the gateway's default flow, four jobs.
run 0 --model "$models/order.bpmn" --instances 5 --vars '{"amount": 10}' --inflight 0 && has '"jobs": 20'
run 0 --model "$models/usertask.bpmn" --instances 4 --inflight 2 && has '"user_tasks": 4'
run 0 --model "$models/linear10.bpmn" --instances 3 --inflight 0 && has '"jobs": 30'

# No amount: the condition gives null, an incident; every instance is stuck.
if run 1 --model "$models/order.bpmn" --instances 3 --inflight 0; then
  has '"stuck": 3'
  has "amount_check"
fi

# Durable: every instance through the runtime and SQLite, the jobs leased and completed.
if run 0 --model "$models/order.bpmn" --store sqlite --instances 40 --inflight 7 --vars '{"amount": 1500}' \
  --db "$tmp/b.db"; then
  for f in '"store": "sqlite"' '"durability": "full"' '"instances": 40' '"completed": 40' '"stuck": 0' \
    '"jobs": 200' '"raw_durable_commits_per_second": ' '"commits": ' '"instances_per_second_by_tenth": ['; do
    has "$f"
  done
  [ -s "$tmp/b.db" ] && ok || bad "--db: no database left at $tmp/b.db"
fi
run 0 --model "$models/usertask.bpmn" --store sqlite --instances 9 && has '"user_tasks": 9'
# An existing database is not overwritten.
run 1 --model "$models/order.bpmn" --store sqlite --instances 2 --db "$tmp/b.db"
# Stuck instances (an incident on every one) are reported, exit 1.
run 1 --model "$models/order.bpmn" --store sqlite --instances 3 && has '"stuck": 3'
# --db alone picks the durable store from the location: a file is SQLite.
run 0 --model "$models/order.bpmn" --db "$tmp/x.db" --instances 5 --vars '{"amount": 1500}' && has '"store": "sqlite"' &&
  has '"completed": 5'
run 2 --model "$models/order.bpmn" --store memory --db "$tmp/y.db"
run 2 --model "$models/order.bpmn" --store postgres --db "$tmp/y.db"
# --nodes is for several nodes on one PostgreSQL database (tests/pg/bench.sh runs it).
run 2 --model "$models/order.bpmn" --store sqlite --nodes 2
run 2 --model "$models/order.bpmn" --store disk
run 2 --model "$models/order.bpmn" --vars '[1, 2]'
run 2 --model "$models/order.bpmn" --instances 0
run 2 --instances 5
run 1 --model "$tmp/missing.bpmn"
printf '<x/>' >"$tmp/bad.bpmn"
run 1 --model "$tmp/bad.bpmn"

printf 'cli.bench: %d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ]
