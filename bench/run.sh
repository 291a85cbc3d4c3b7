#!/usr/bin/env bash
# bench/run.sh [BUILD_DIR [FEEL_CASE...]]   (make bench: BUILD_DIR=build)
#
# Two benchmarks; see bench/README.md for what every field means.
#
# 1. FEEL: builds bench/feel_bench.c against BUILD_DIR's static libraries (it
#    is not a CMake target, so an ordinary build stays lean) and runs it: one
#    JSON line per case. Extra arguments go to feel_bench (a substring
#    selects cases).
# 2. Engine: for each model (order, linear10, usertask), `crmflow bench` and
#    the peer, the bpmn-engine npm package (bench/bpmn-engine/run.js), with
#    the same instance count and variables, in this one run. Prints crmflow's
#    line, the peer's line and a comparison line per model, then a table.
#    crmflow runs BENCH_REPEAT times and its median (by instances per second)
#    is kept: one run takes milliseconds, so a single one is at the mercy of
#    the machine's noise; the peer takes seconds per model and runs once.
#    The peer's npm packages are installed (npm ci, from package-lock.json)
#    when missing. Exit 1 if an instance got stuck or the two engines did
#    not do the same work (jobs and user tasks completed).
# 3. Durable: for each model, `crmflow bench --store sqlite` once in the same
#    run (every command written through the runtime to SQLite at full
#    durability, beside the disk's raw durable commit rate), compared to the
#    peer's in-memory figure.
#
# Environment: BENCH_INSTANCES (default 2000) instances per model for both
# engines; BENCH_REPEAT (default 5); BENCH_DURABLE_INSTANCES (default 20000);
# BENCH_ONLY=feel, BENCH_ONLY=engine or BENCH_ONLY=api.
# 4. API: bench/api/run.sh, the HTTP API under wrk (durable job completions,
#    GET /v2/user-tasks/{key}); BENCH_API_SECONDS (default 10) per step.
# Nothing is written into the repository except bench/bpmn-engine/node_modules
# (ignored by git): the FEEL binary goes to a temporary folder.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
shift || true
case $build in /*) ;; *) build="$PWD/$build" ;; esac
only=${BENCH_ONLY:-}
instances=${BENCH_INSTANCES:-2000}
repeat=${BENCH_REPEAT:-5}
durable=${BENCH_DURABLE_INSTANCES:-20000}

for lib in libcf_feel.a libcf_base.a; do
  if [ ! -f "$build/$lib" ]; then
    echo "bench: $build/$lib is missing: build first (make build)" >&2
    exit 2
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/crmflow-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ------------------------------------------------------------ API
if [ "$only" = api ] || [ -z "$only" ]; then
  bash "$root/bench/api/run.sh" "$build/crmflow" "${BENCH_API_SECONDS:-10}"
  [ "$only" = api ] && exit 0
fi

# ------------------------------------------------------------ FEEL
if [ "$only" != engine ]; then
  # shellcheck disable=SC2046 # pkg-config prints several words on purpose
  ${CC:-cc} -std=gnu17 -O2 -g -Wall -Wextra -Wno-unused-parameter \
    -I"$root/include" -I"$root/src" $(pkg-config --cflags json-c libdecnumber libpcre2-8) \
    "$root/bench/feel_bench.c" "$build/libcf_feel.a" "$build/libcf_base.a" \
    $(pkg-config --libs json-c libdecnumber libpcre2-8) -lm -lpthread \
    -o "$tmp/feel_bench"

  "$tmp/feel_bench" "$@"
fi
[ "$only" = feel ] && exit 0

# ------------------------------------------------------------ engine vs bpmn-engine
crmflow="$build/crmflow"
peer="$root/bench/bpmn-engine"
if [ ! -x "$crmflow" ]; then
  echo "bench: $crmflow is missing: build first (make build)" >&2
  exit 2
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "bench: node and npm are needed for the peer engine (bpmn-engine); install Node.js 18 or later" >&2
  exit 2
fi
if [ ! -d "$peer/node_modules/bpmn-engine" ] || [ "$peer/package-lock.json" -nt "$peer/node_modules/.package-lock.json" ]; then
  echo "bench: installing the peer's npm packages (npm ci in bench/bpmn-engine)" >&2
  (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

# The median of a file of JSON lines, by instances_per_second.
median() {
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
    lines.sort((a, b) => a.instances_per_second - b.instances_per_second);
    const m = lines[Math.floor(lines.length / 2)];
    m.runs = lines.length;
    console.log(JSON.stringify(m));' "$1"
}

# The comparison line of a crmflow line and a peer line.
compare() {
  node -e '
    const c = JSON.parse(process.argv[1]), p = JSON.parse(process.argv[2]), d = JSON.parse(process.argv[3]);
    const same = c.jobs === p.jobs && c.user_tasks === p.user_tasks && c.stuck === 0 && p.stuck === 0 &&
      d.stuck === 0 && d.completed === d.instances;
    console.log(JSON.stringify({
      compare: require("path").basename(c.model),
      instances: c.instances,
      crmflow_instances_per_second: c.instances_per_second,
      bpmn_engine_instances_per_second: p.instances_per_second,
      ratio: p.instances_per_second > 0 ? Math.round(c.instances_per_second / p.instances_per_second) : null,
      crmflow_bytes_per_inflight_instance: c.bytes_per_inflight_instance,
      crmflow_durable_instances_per_second: d.instances_per_second,
      durable_ratio: p.instances_per_second > 0 ? +(d.instances_per_second / p.instances_per_second).toFixed(2) : null,
      raw_durable_commits_per_second: d.raw_durable_commits_per_second,
      same_work: same,
    }));' "$1" "$2" "$3"
}

status=0
: >"$tmp/compare.jsonl"
for model in order linear10 usertask; do
  vars='{}'
  # The large-order branch: the longest path through order.bpmn (five jobs).
  [ "$model" = order ] && vars='{"amount": 1500}'
  : >"$tmp/crmflow.jsonl"
  for ((i = 0; i < repeat; i++)); do
    if ! "$crmflow" bench --model "$root/../shared/models/$model.bpmn" --instances "$instances" \
      --vars "$vars" >>"$tmp/crmflow.jsonl"; then
      status=1
    fi
  done
  cline=$(median "$tmp/crmflow.jsonl")
  echo "$cline"
  if ! pline=$(node "$peer/run.js" --instances "$instances" --vars "$vars" "$peer/models/$model.bpmn"); then
    status=1
  fi
  echo "$pline"
  if ! dline=$("$crmflow" bench --model "$root/../shared/models/$model.bpmn" --store sqlite \
    --instances "$durable" --vars "$vars"); then
    status=1
  fi
  echo "$dline"
  cmp_line=$(compare "$cline" "$pline" "$dline")
  echo "$cmp_line" | tee -a "$tmp/compare.jsonl"
  # A comparison of different work (a stuck instance, other job counts) is no comparison.
  case $cmp_line in *'"same_work":true'*) ;; *) status=1 ;; esac
done

node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
  const pad = (s, n) => String(s).padStart(n);
  console.log("# model            crmflow inst/s  bpmn-engine inst/s      ratio  crmflow B/in-flight instance" +
              "  durable inst/s  durable ratio  raw durable commits/s");
  for (const r of rows)
    console.log("# " + r.compare.padEnd(14) + pad(r.crmflow_instances_per_second, 16) +
                pad(r.bpmn_engine_instances_per_second, 20) + pad(r.ratio + "x", 11) +
                pad(r.crmflow_bytes_per_inflight_instance, 30) + pad(r.crmflow_durable_instances_per_second, 16) +
                pad(r.durable_ratio + "x", 15) + pad(r.raw_durable_commits_per_second, 23) +
                (r.same_work ? "" : "  (NOT the same work!)"));' \
  "$tmp/compare.jsonl"
exit $status
