#!/usr/bin/env bash
# runtime.sh CRMFLOW SOURCE_DIR
#
# The runtime on the PostgreSQL backend, through the command line, against a
# server of its own (pg.sh): deploy the order model, start an instance, then
# lease and complete its jobs, type by type, until the instance completes;
# every step with --db postgres://... ; then `crmflow bench` on the same
# database (200 instances of the order model, every one completed, the
# server's raw commit rate measured on a probe table that is dropped after),
# and with several nodes (--nodes 3 and 2).
# Fails (not skips) when no server can be started.
set -euo pipefail
crmflow=$1
src=$2
model=$src/tests/pg/order.bpmn # shared/models/order.bpmn, the benchmarks' order model
dir=$(mktemp -d /tmp/cf_pgrt_XXXXXX)
trap 'bash "$src/tests/pg/pg.sh" stop "$dir"' EXIT

fail() {
  echo "pg.runtime: $*" >&2
  exit 1
}

url=$(bash "$src/tests/pg/pg.sh" start "$dir") || fail "no PostgreSQL server could be started (see above)"

out=$("$crmflow" deploy --db "$url" "$model")
grep -q "deployed order_processing version 1" <<<"$out" || fail "deploy: $out"
# The same resource again: unchanged, no new version.
out=$("$crmflow" deploy --db "$url" "$model")
grep -q "version 1" <<<"$out" || fail "deploy again: $out"

key=$("$crmflow" start order_processing --db "$url" --vars '{"amount":10}' --json |
  grep -o '"processInstanceKey":"[0-9]*"' | grep -o '[0-9]*')
[ -n "$key" ] || fail "start gave no instance key"

# Lease and complete whatever job the instance waits at, until it has ended.
done_jobs=0
for _ in $(seq 1 20); do
  if "$crmflow" instances --db "$url" --state completed | grep -q "^$key "; then break; fi
  progressed=0
  for t in approve-order handle-order reserve-stock charge-payment ship-order; do
    out=$("$crmflow" jobs activate --db "$url" --type "$t" --worker pgtest --json)
    for j in $(grep -o '"jobKey":"[0-9]*"' <<<"$out" | grep -o '[0-9]*'); do
      # A second lease of a leased job gives nothing.
      again=$("$crmflow" jobs activate --db "$url" --type "$t" --worker other --json)
      grep -q "\"jobKey\":\"$j\"" <<<"$again" && fail "job $j was leased twice"
      "$crmflow" jobs complete "$j" --db "$url" --worker pgtest --vars '{"approved":true}' >/dev/null
      done_jobs=$((done_jobs + 1))
      progressed=1
    done
  done
  [ $progressed -eq 1 ] || break
done
"$crmflow" instances --db "$url" --state completed | grep -q "^$key " ||
  fail "instance $key did not complete after $done_jobs jobs: $("$crmflow" instances show "$key" --db "$url")"
[ $done_jobs -ge 2 ] || fail "only $done_jobs jobs were completed"
hist=$("$crmflow" instances show "$key" --db "$url")
grep -q "INSTANCE_COMPLETED\|ELEMENT_COMPLETED" <<<"$hist" || fail "no history: $hist"

# The bench on PostgreSQL: its JSON line says so, every instance ended, none stuck.
out=$("$crmflow" bench --model "$model" --vars '{"amount": 1500}' --store sqlite --db "$url" --instances 200) ||
  fail "bench failed: $out"
for want in '"store": "postgres"' '"durability": "server"' '"instances": 200,' '"completed": 200,' \
  '"stuck": 0,' '"db_bytes": null' '"raw_commit_probe": "postgres:'; do
  grep -qF "$want" <<<"$out" || fail "bench: no $want in $out"
done
raw=$(grep -o '"raw_durable_commits_per_second": [0-9.]*' <<<"$out" | grep -o '[0-9.]*$')
awk -v r="$raw" 'BEGIN { exit !(r > 0) }' || fail "bench: no raw commit rate in $out"
ips=$(grep -o '"instances_per_second": [0-9.]*' <<<"$out" | grep -o '[0-9.]*$')
awk -v r="$ips" 'BEGIN { exit !(r > 0) }' || fail "bench: no throughput in $out"
# The database still reads as before the bench.
# (Read whole first: grep -q stops reading early, and under pipefail the writer's SIGPIPE would fail.)
listed=$("$crmflow" instances --db "$url" --state completed)
grep -q "^$key " <<<"$listed" || fail "after the bench: instance $key is gone"

# Several nodes on the one database (--nodes: a process each, its own connection and batches):
# every instance ends once, though its jobs are leased by whichever node asks first. Three nodes
# on the order model (parallel branches: an instance's jobs meet on different nodes), then two
# on the user task model (tasks shared out between the nodes).
out=$("$crmflow" bench --model "$model" --vars '{"amount": 1500}' --db "$url" --nodes 3 --instances 300 \
  --inflight 90) || fail "bench --nodes 3 failed: $out"
for want in '"nodes": 3,' '"instances": 300,' '"completed": 300,' '"stuck": 0,' '"jobs": 1500,'; do
  grep -qF "$want" <<<"$out" || fail "bench --nodes 3: no $want in $out"
done
out=$("$crmflow" bench --model "$src/../shared/models/usertask.bpmn" --db "$url" --nodes 2 --instances 60) ||
  fail "bench --nodes 2 (user tasks) failed: $out"
for want in '"nodes": 2,' '"completed": 60,' '"stuck": 0,' '"user_tasks": 60,'; do
  grep -qF "$want" <<<"$out" || fail "bench --nodes 2 (user tasks): no $want in $out"
done
completed=$("$crmflow" instances --db "$url" --state completed --limit 100000 | grep -c '^[0-9]')
[ "$completed" -eq 561 ] || fail "after the benches: $completed completed instances, not 561 (1 + 200 + 300 + 60)"

echo "pg.runtime: instance $key completed through $done_jobs jobs, then the bench's 200 ($ips/s) on $url, then 300 on 3 nodes and 60 on 2"
