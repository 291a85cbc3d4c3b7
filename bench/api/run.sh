#!/usr/bin/env bash
# bench/api/run.sh CRMFLOW [SECONDS]: the HTTP API under load with wrk on loopback (docs/performance.md).
#
#   1. durable job completions: POST /v2/jobs/{key}/completion, every answer after its batch is
#      on disk (the default synchronous=FULL), the jobs leased beforehand;
#   2. GET /v2/user-tasks/{key} over the user tasks those completions created.
#
# Each prints one RESULT line (requests per second, p50 and p99 latency, errors); the server is a
# fresh `crmflow serve` on a temporary database, and wrk runs beside it on the same 2 cores.
# BENCH_DB=postgres://... runs the server on that (empty) PostgreSQL database instead.
set -euo pipefail
bin=$(realpath "$1")
secs=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crmflow-bench-api.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
command -v wrk >/dev/null || { echo "bench/api: wrk is missing (scripts/deps.sh installs it)" >&2; exit 2; }
db=${BENCH_DB:-$tmp/bench.db}
token=$("$bin" token create --db "$db" --name bench --role admin 2>/dev/null)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --db "$db" --listen "127.0.0.1:$port" 2>"$tmp/serve.log" &
pid=$!
url="http://127.0.0.1:$port"
for _ in $(seq 50); do curl -s -o /dev/null "$url/healthz" && break; sleep 0.1; done
curl -sf -o /dev/null -H "Authorization: Bearer $token" -F "resources=@$here/job.bpmn" "$url/v2/deployments"
export TOKEN=$token THREADS=2

# Seed instances (each waits at its job) for longer than the completions will run.
seed=$((secs * 12 / 10 + 2))
echo "x" >"$tmp/one"
KEYS="$tmp/one" METHOD=POST PATHFMT="/v2/process-instances%.0s" BODY='{"processDefinitionId":"bench_job"}' \
  wrk -t2 -c64 -d"${seed}s" -s "$here/keys.lua" "$url" | grep RESULT | sed 's/^RESULT/seeded instances:/'
# Lease every job, keeping their keys.
python3 - "$url" "$token" "$tmp/jobs" <<'PY'
import json, sys, urllib.request
url, token, out = sys.argv[1:]
keys = []
while True:
    req = urllib.request.Request(url + "/v2/jobs/activation", method="POST",
        data=json.dumps({"type": "bench.work", "worker": "bench", "timeout": 600000, "maxJobsToActivate": 20000,
                         "requestTimeout": -1}).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    jobs = json.load(urllib.request.urlopen(req, timeout=120))["jobs"]
    if not jobs: break
    keys += [j["jobKey"] for j in jobs]
open(out, "w").write("\n".join(keys) + "\n")
print(f"leased jobs: {len(keys)}")
PY
# PostgreSQL: the planner's statistics of the tables just filled, as a server that has run a while
# has them (autovacuum analyzes a minute later at the soonest; until then statements prepared while
# the tables were empty keep plans made for empty tables).
if [ -n "${BENCH_DB:-}" ]; then psql -q "$db" -c 'ANALYZE' || exit 1; fi
echo "durable job completions (POST /v2/jobs/{key}/completion, 2 threads, 64 connections, ${secs}s):"
KEYS="$tmp/jobs" METHOD=POST PATHFMT="/v2/jobs/%s/completion" BODY='{"variables":{"done":true}}' \
  wrk -t2 -c64 -d"${secs}s" --timeout 10s -s "$here/keys.lua" "$url" | grep RESULT

python3 - "$url" "$token" "$tmp/tasks" <<'PY'
import json, sys, urllib.request
url, token, out = sys.argv[1:]
req = urllib.request.Request(url + "/v2/user-tasks/search", method="POST",
    data=json.dumps({"filter": {"state": "CREATED"}, "page": {"limit": 10000}}).encode(),
    headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
d = json.load(urllib.request.urlopen(req, timeout=120))
open(out, "w").write("\n".join(t["userTaskKey"] for t in d["items"]) + "\n")
print(f"user tasks: {d['page']['totalItems']} open, {len(d['items'])} used")
PY
echo "GET /v2/user-tasks/{key} (2 threads, 64 connections, ${secs}s):"
KEYS="$tmp/tasks" METHOD=GET PATHFMT="/v2/user-tasks/%s" \
  wrk -t2 -c64 -d"${secs}s" -s "$here/keys.lua" "$url" | grep RESULT
kill -TERM "$pid"
wait "$pid" || true
pid=
