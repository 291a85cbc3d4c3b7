#!/usr/bin/env bash
# runtime.sh CRMFLOW SOURCE_DIR
#
# The runtime on the PostgreSQL backend, through the command line, against a
# server of its own (pg.sh): deploy the order model, start an instance, then
# lease and complete its jobs, type by type, until the instance completes;
# every step with --db postgres://... . Fails (not skips) when no server can
# be started.
#
# NEEDSWORK: `crmflow bench --store sqlite --db postgres://...` is not run
# here: the bench measures the disk's SQLite commit rate beside the database
# (DB.probe, a file) and so refuses a URL (src/cli/cli_bench_sqlite.c).
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
echo "pg.runtime: instance $key completed through $done_jobs jobs on $url"
