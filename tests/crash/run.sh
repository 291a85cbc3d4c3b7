#!/usr/bin/env bash
# "Nothing lost": the kill-and-restart test (ctest crash.kill_restart).
#
#   run.sh CRMFLOW CRASH_DRIVER
#
# Thousands of instances of a model with jobs, a user task, a timer and a
# message (tests/crash/crash.bpmn) are loaded (the loader itself killed once
# or twice and rerun), then `crmflow serve` (it fires the timers) and two
# workers (`crash_driver work`: jobs, user tasks, messages) run while one of
# the three, picked at random, is killed with SIGKILL at random moments and
# restarted, many times. At the end everything runs to completion, serve is
# stopped with SIGTERM, and `crash_driver check` verifies that every instance
# ended exactly once, with the right variables, that no job or task was
# completed twice, and that no history has a gap (see crash_driver.c).
#
# Settings (environment):
#   SEED            the random seed (printed; the same seed replays the same
#                   kill schedule, victims and worker choices; the exact
#                   interleavings still depend on timing)
#   CRASH_MODEL     the model (default tests/crash/crash.bpmn). Its instances start with the
#                   variables n (0..N-1), path ("a" for even n, else "b") and bk (the business
#                   key, c-n); what else it may hold: crash_driver.c says
#   CRASH_TYPES     job types the workers serve besides those the model names statically
#   CRASH_N         instances (default 10000)
#   CRASH_KILLS     kills after the load (default 30)
#   CRASH_BATCH     jobs per activation and tasks per batch, at most (default 3)
#   CRASH_TIMEOUT   seconds allowed to finish after the last kill (default 180)
#   CRASH_KEEP=1    keep the temporary folder (it is kept anyway on failure)
set -u

CRMFLOW=${1:?usage: run.sh CRMFLOW CRASH_DRIVER}
DRIVER=${2:?usage: run.sh CRMFLOW CRASH_DRIVER}
HERE=$(cd "$(dirname "$0")" && pwd)
MODEL=${CRASH_MODEL:-$HERE/crash.bpmn}
N=${CRASH_N:-10000}
KILLS=${CRASH_KILLS:-30}
BATCH=${CRASH_BATCH:-3}
FINISH_TIMEOUT=${CRASH_TIMEOUT:-180}
if [ -z "${SEED:-}" ]; then SEED=$(od -An -N2 -tu2 /dev/urandom | tr -d ' '); fi
RANDOM=$SEED

T0=$(date +%s)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/crmflow-crash.XXXXXX")
DB=$TMP/crash.db
PORT=$((20000 + RANDOM % 20000))
declare -A PID=()
NAMES=(serve w1 w2)
kills=0
restarts=0

say() { printf 'crash: [%3ds] %s\n' $(($(date +%s) - T0)) "$*"; }

cleanup() {
  for name in "${!PID[@]}"; do
    local p=${PID[$name]}
    [ -n "$p" ] && kill -KILL "$p" 2>/dev/null
  done
  wait 2>/dev/null
}
trap cleanup EXIT

fail() {
  say "FAIL: $*"
  for f in "$TMP"/*.log; do
    [ -f "$f" ] || continue
    echo "--- last lines of $(basename "$f"):"
    tail -n 8 "$f"
  done
  say "seed $SEED; the files are in $TMP (replay: SEED=$SEED $0 $CRMFLOW $DRIVER)"
  trap - EXIT
  cleanup
  exit 1
}

# A random duration of MIN..MAX milliseconds, as seconds for sleep(1).
rand_sleep() {
  local ms=$(($1 + RANDOM % ($2 - $1 + 1)))
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
}

start() {
  local name=$1
  case $name in
  serve) "$CRMFLOW" serve --db "$DB" --listen "127.0.0.1:$PORT" 2>>"$TMP/serve.log" & ;;
  *)
    # shellcheck disable=SC2086 # CRASH_TYPES: a list of words
    CRASH_SEED=$RANDOM CRASH_BATCH=$BATCH "$DRIVER" work "$DB" "$name" ${CRASH_TYPES:-} 2>>"$TMP/$name.log" &
    ;;
  esac
  PID[$name]=$!
}

running() { [ -n "${PID[$1]}" ] && kill -0 "${PID[$1]}" 2>/dev/null; }

# Reaps a process that ended by itself: a worker may end (status 0) when no instance is active.
reap() {
  local name=$1
  [ -n "${PID[$name]}" ] || return 0
  running "$name" && return 0
  local rc=0
  wait "${PID[$name]}" || rc=$?
  PID[$name]=
  [ "$name" = serve ] && fail "crmflow serve ended by itself (status $rc)"
  [ "$rc" -eq 0 ] || fail "worker $name ended with status $rc"
  return 0
}

say "seed $SEED, $N instances, $KILLS kills, model $(basename "$MODEL"), in $TMP"
"$CRMFLOW" check "$MODEL" >/dev/null || fail "the model does not pass crmflow check"

# --- the load, killed once or twice on the way (its rerun starts only what is missing)
loads=$((1 + RANDOM % 2))
for ((i = 0; i < loads; i++)); do
  "$DRIVER" load "$DB" "$MODEL" "$N" 2>>"$TMP/load.log" &
  lp=$!
  rand_sleep 20 300
  if kill -KILL "$lp" 2>/dev/null; then
    wait "$lp" 2>/dev/null
    kills=$((kills + 1))
    say "killed the loader ($(grep -c '' "$TMP/load.log") lines of its log so far)"
  else
    wait "$lp" || fail "the loader failed"
    say "the loader finished before its kill"
  fi
done
"$DRIVER" load "$DB" "$MODEL" "$N" 2>>"$TMP/load.log" || fail "the loader failed"
say "loaded: $(tail -n 2 "$TMP/load.log" | head -n 1 | sed 's/^crash_driver: load: //')"

# --- serve and two workers, killed at random and restarted
for name in "${NAMES[@]}"; do start "$name"; done
for ((k = 0; k < KILLS; k++)); do
  rand_sleep 200 2500
  for name in "${NAMES[@]}"; do reap "$name"; done
  if [ -z "${PID[w1]}" ] && [ -z "${PID[w2]}" ]; then
    say "the work ended after $k kills (fewer than $KILLS planned: raise CRASH_N for more)"
    break
  fi
  victim=${NAMES[RANDOM % 3]}
  if running "$victim"; then
    kill -KILL "${PID[$victim]}" 2>/dev/null
    wait "${PID[$victim]}" 2>/dev/null
    kills=$((kills + 1))
  fi
  start "$victim"
  restarts=$((restarts + 1))
done
say "$kills kills; letting everything finish"

# --- to the end: the workers stop when no instance is active
deadline=$(($(date +%s) + FINISH_TIMEOUT))
while :; do
  for name in "${NAMES[@]}"; do reap "$name"; done
  [ -z "${PID[w1]}" ] && [ -z "${PID[w2]}" ] && break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    "$CRMFLOW" instances --db "$DB" --state active --limit 10 >"$TMP/active.log" 2>&1
    "$DRIVER" check "$DB" "$N" 2>&1 | tail -n 25 >"$TMP/check.log"
    fail "instances still active ${FINISH_TIMEOUT}s after the last kill (stuck?): see active.log and check.log"
  fi
  sleep 0.3
done
kill -TERM "${PID[serve]}"
rc=0
wait "${PID[serve]}" || rc=$?
PID[serve]=
[ "$rc" -eq 0 ] || fail "crmflow serve did not stop cleanly on SIGTERM (status $rc)"
say "all instances ended; serve stopped; checking"

"$DRIVER" check "$DB" "$N" >"$TMP/check.log" 2>&1
rc=$?
head -n 60 "$TMP/check.log"
[ "$rc" -eq 0 ] || fail "the check found problems"
errors=$(grep -c 'crmflow serve:' "$TMP/serve.log" || true)
say "PASS in $(($(date +%s) - T0))s: $N instances, $kills kills, seed $SEED ($errors housekeeping errors logged by serve)"
trap - EXIT
[ -n "${CRASH_KEEP:-}" ] || rm -rf "$TMP"
exit 0
