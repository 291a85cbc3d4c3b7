#!/usr/bin/env bash
# bench/pg/run.sh BUILD_DIR [INSTANCES] [REPEATS]
#
# crmflow on PostgreSQL with one, two and three nodes on this machine, beside
# SQLite in the same run (the peer: the same rounds through the same runtime,
# on the same disk). A PostgreSQL server of its own (tests/pg/pg.sh with
# PG_DURABLE=1: fsync and synchronous_commit on, as a production server runs),
# stopped at the end. Every run starts from an empty database. Prints one
# JSON line per run (crmflow bench's), then a table of the medians.
#
#   INSTANCES  order.bpmn instances per run (default 6000), 1000 in flight
#   REPEATS    runs per configuration (default 3)
set -euo pipefail
build=${1:?usage: bench/pg/run.sh BUILD_DIR [INSTANCES] [REPEATS]}
n=${2:-6000}
repeats=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
crmflow=$(cd "$build" && pwd)/crmflow
model=$src/../shared/models/order.bpmn
[ -x "$crmflow" ] || { echo "bench/pg/run.sh: no $crmflow (build first)" >&2; exit 1; }
dir=$(mktemp -d /tmp/cf_pgbench_XXXXXX)
pgdir=$(mktemp -d /tmp/cf_pgsrv_XXXXXX) # its own: the server's user must reach it
trap 'bash "$src/tests/pg/pg.sh" stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
url=$(PG_DURABLE=1 bash "$src/tests/pg/pg.sh" start "$pgdir")
psql=$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | tail -n 1)
[ -n "$psql" ] || psql=psql

empty_db() {
  "$psql" -q "$url" -c 'SET client_min_messages = warning' -c 'DROP SCHEMA public CASCADE' -c 'CREATE SCHEMA public' >/dev/null
}

results=$dir/results.jsonl
: >"$results"
# One run: its JSON line to the results; a run that fails says why and is left out of the medians.
one() {
  local out
  if out=$("$crmflow" bench --model "$model" --vars '{"amount": 1500}' --instances "$n" --inflight 1000 "$@" \
    2>"$dir/stderr"); then
    echo "$out" | tee -a "$results"
  else
    echo "bench/pg/run.sh: crmflow bench $* failed: $(tail -n 3 "$dir/stderr")" >&2
  fi
}
for r in $(seq 1 "$repeats"); do
  rm -f "$dir/s.db" "$dir/s.db-wal" "$dir/s.db-shm"
  one --db "$dir/s.db"
  for k in 1 2 3; do
    empty_db
    one --db "$url" --nodes "$k"
  done
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(store, nodes):
    v = [r["instances_per_second"] for r in rows if r["store"] == store and r.get("nodes", 1) == nodes]
    raw = [r["raw_durable_commits_per_second"] for r in rows if r["store"] == store and r.get("nodes", 1) == nodes]
    return (statistics.median(v), v, statistics.median(raw)) if v else None
sq = med("sqlite", 1)
print()
print("| store | nodes | instances/s (median) | runs | raw commits/s | vs SQLite |")
print("|---|---:|---:|---|---:|---:|")
print(f"| SQLite | 1 | {sq[0]:,.0f} | {', '.join(f'{x:,.0f}' for x in sq[1])} | {sq[2]:,.0f} | 1.00 |")
for k in (1, 2, 3):
    m = med("postgres", k)
    if m:
        print(f"| PostgreSQL | {k} | {m[0]:,.0f} | {', '.join(f'{x:,.0f}' for x in m[1])} | {m[2]:,.0f} | {m[0] / sq[0]:.2f} |")
PY
