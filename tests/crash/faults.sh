#!/usr/bin/env bash
# A damaged database gives a clear error, never a crash (ctest crash.faults).
#
#   faults.sh CRMFLOW CRASH_DRIVER
#
# On a database with data (tests/crash/crash.bpmn, a few hundred instances):
#   1. truncated (to half, to a partial header, to nothing) or with garbage
#      over its pages: `crmflow serve`, `crash_driver work` and a CLI write
#      exit non-zero with a message naming the file, and no signal (status < 128);
#   2. read-only (chmod; as root, where chmod does not stop writes, chattr +i,
#      or the case is skipped with the reason): the same;
#   3. full (the process's file size limit, RLIMIT_FSIZE): the same, and the
#      database is whole afterwards: the work then runs to its end and
#      `crash_driver check` passes.
set -u

CRMFLOW=${1:?usage: faults.sh CRMFLOW CRASH_DRIVER}
DRIVER=${2:?usage: faults.sh CRMFLOW CRASH_DRIVER}
HERE=$(cd "$(dirname "$0")" && pwd)
MODEL=$HERE/crash.bpmn
N=300
TMP=$(mktemp -d "${TMPDIR:-/tmp}/crmflow-faults.XXXXXX")
IMMUTABLE=()
failures=0
cases=0

cleanup() {
  for f in "${IMMUTABLE[@]}"; do chattr -i "$f" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT

say() { printf 'faults: %s\n' "$*"; }
bad() {
  say "FAIL: $*"
  failures=$((failures + 1))
}

# refused WHAT DB CMD...: CMD must exit 1..127 (no signal) and name DB's file on stderr.
refused() {
  local what=$1 db=$2
  shift 2
  cases=$((cases + 1))
  local rc=0
  timeout --preserve-status -s TERM 30 "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  local msg
  msg=$(head -c 600 "$TMP/err" | tr '\n' ' ')
  if [ "$rc" -ge 128 ]; then
    bad "$what: died of signal $((rc - 128)) (status $rc): $msg"
  elif [ "$rc" -eq 0 ]; then
    bad "$what: succeeded, a refusal was expected: $msg"
  elif ! grep -q "$(basename "$db")" "$TMP/err"; then
    bad "$what: the message does not name $(basename "$db"): $msg"
  else
    say "ok   $what: status $rc: $msg"
  fi
}

# A database with data: instances loaded, some work done, the runtime closed (no -wal left).
BASE=$TMP/base.db
"$DRIVER" load "$BASE" "$MODEL" "$N" 2>/dev/null || { say "FAIL: cannot load $BASE"; exit 1; }
size=$(stat -c %s "$BASE")
say "a database of $size bytes with $N instances"

fresh() { # fresh NAME: a copy of the base database
  rm -f "$TMP/$1" "$TMP/$1-wal" "$TMP/$1-shm" "$TMP/$1".*.log
  cp "$BASE" "$TMP/$1"
  echo "$TMP/$1"
}

# The commands a damaged database must refuse (serve runs until refused: 30 s at most).
all_refuse() {
  local label=$1 db=$2
  refused "$label: crmflow serve" "$db" "$CRMFLOW" serve --db "$db"
  refused "$label: crash_driver work" "$db" "$DRIVER" work "$db" w1
  refused "$label: crmflow start" "$db" "$CRMFLOW" start crash --db "$db" --business-key extra
}

# --- 1. truncated, corrupt
db=$(fresh half.db); truncate -s $((size / 2)) "$db"; all_refuse "truncated to half" "$db"
db=$(fresh header.db); truncate -s 100 "$db"; all_refuse "truncated to 100 bytes" "$db"
db=$(fresh empty.db); truncate -s 0 "$db"; all_refuse "truncated to nothing" "$db"
db=$(fresh garbage.db)
python3 - "$db" "$size" <<'EOF' || dd if=/dev/urandom of="$db" bs=4096 seek=2 count=$(((size / 4096) - 2)) conv=notrunc 2>/dev/null
import sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(8192)
    f.write(bytes((i * 131 + 7) % 256 for i in range(size - 8192)))
EOF
# serve only touches what is due, and may run on: a worker reads every active instance.
refused "garbage over the pages: crash_driver work" "$db" "$DRIVER" work "$db" w1
cases=$((cases + 1))
rc=0
timeout --preserve-status -s TERM 3 "$CRMFLOW" serve --db "$db" >/dev/null 2>"$TMP/err" || rc=$?
if [ "$rc" -ge 128 ]; then bad "garbage over the pages: crmflow serve died of a signal (status $rc)"; else say "ok   garbage over the pages: crmflow serve: status $rc, no crash"; fi

# --- 2. read-only
db=$(fresh readonly.db)
ro=""
if [ "$(id -u)" -ne 0 ]; then
  chmod a-w "$db" && ro="chmod a-w"
elif chattr +i "$db" 2>/dev/null; then
  IMMUTABLE+=("$db")
  ro="chattr +i (running as root: chmod would not stop writes)"
fi
if [ -n "$ro" ]; then
  say "read-only by $ro"
  all_refuse "read-only" "$db"
  # Reading it must not crash either (it may be refused: SQLite's WAL wants a writable -shm).
  cases=$((cases + 1))
  rc=0
  "$CRMFLOW" instances --db "$db" --limit 1 >/dev/null 2>"$TMP/err" || rc=$?
  if [ "$rc" -ge 128 ]; then bad "read-only: crmflow instances died of a signal (status $rc)"; else say "ok   read-only: crmflow instances: status $rc"; fi
else
  say "skip read-only: running as root, where chmod does not stop writes, and chattr +i is refused here"
fi

# --- 3. full: writes fail with EFBIG past RLIMIT_FSIZE (SIGXFSZ ignored, as a full disk gives ENOSPC)
db=$(fresh full.db)
(
  trap '' XFSZ
  ulimit -f 8 # 4 KiB: not even the first WAL frame fits
  refused "full at open: crash_driver work" "$db" "$DRIVER" work "$db" w1
  refused "full at open: crmflow start" "$db" "$CRMFLOW" start crash --db "$db" --business-key extra
  exit $failures
) || failures=$((failures + $? ))
cases=$((cases + 2))
# serve itself ignores SIGXFSZ: no trap here.
( ulimit -f 8; refused "full at open: crmflow serve" "$db" "$CRMFLOW" serve --db "$db"; exit $failures ) || failures=$((failures + $?))
cases=$((cases + 1))
(
  trap '' XFSZ
  ulimit -f 120 # 60 KiB: a few commits fit, then the WAL cannot grow
  refused "full while working: crash_driver work" "$db" "$DRIVER" work "$db" w1
  exit $failures
) || failures=$((failures + $?))
cases=$((cases + 1))
# Whole afterwards: nothing half-stored, the work runs to its end.
cases=$((cases + 1))
"$CRMFLOW" serve --db "$db" 2>"$TMP/serve.err" &
sp=$!
if timeout 120 "$DRIVER" work "$db" w1 2>"$TMP/work.err" && kill -TERM $sp && wait $sp &&
  "$DRIVER" check "$db" "$N" >"$TMP/check.out" 2>&1; then
  say "ok   after the full disk: the work ran to its end and the check passed"
else
  kill -KILL $sp 2>/dev/null
  bad "after the full disk: $(tail -n 5 "$TMP/check.out" "$TMP/work.err" 2>/dev/null | tr '\n' ' ')"
fi

if [ "$failures" -gt 0 ]; then
  say "$failures of $cases cases failed"
  exit 1
fi
say "PASS: $cases cases"
exit 0
