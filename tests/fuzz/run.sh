#!/usr/bin/env bash
# tests/fuzz/run.sh BUILD_DIR SECONDS
#
# Runs every libFuzzer target (BUILD_DIR/fuzz_*) for SECONDS each, starting
# from a copy of its seed corpus (tests/fuzz/corpus/<target>/) in a temporary
# folder, so nothing is ever written into the repository. A target's
# dictionary (tests/fuzz/<target>.dict) is used when there is one.
#
# Prints one line per target. Exits 1 if any target found a crash, a leak, a
# timeout (an input running over 10 s) or an out-of-memory (over 2 GB); for
# each finding it prints the reproducer's path and its bytes, and keeps the
# temporary folder. Reproduce with: BUILD_DIR/fuzz_X REPRODUCER
# Exits 2 on a usage error or when BUILD_DIR holds no target.
set -uo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build=$1
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)

shopt -s nullglob
targets=()
for f in "$build"/fuzz_*; do
  [ -f "$f" ] && [ -x "$f" ] && targets+=("$f")
done
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no fuzz_* targets in $build (build with CC=clang -DCF_FUZZ=ON)" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/crmflow-fuzz.XXXXXX")
status=0

for bin in "${targets[@]}"; do
  name=$(basename "$bin")
  corpus="$work/$name/corpus"
  artifacts="$work/$name/artifacts"
  log="$work/$name/log.txt"
  mkdir -p "$corpus" "$artifacts"
  if [ -d "$here/corpus/$name" ]; then
    cp -R "$here/corpus/$name/." "$corpus/"
  fi
  seeds=$(find "$corpus" -type f | wc -l)
  opts=(-max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048
        -print_final_stats=1 -artifact_prefix="$artifacts/")
  [ -f "$here/$name.dict" ] && opts+=(-dict="$here/$name.dict")

  # In a subshell, so that bash's own "Aborted" notice goes to the log too.
  (
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    "$bin" "${opts[@]}" "$corpus"
  ) >"$log" 2>&1
  rc=$?

  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  found=("$artifacts"/*)
  if [ $rc -eq 0 ] && [ ${#found[@]} -eq 0 ]; then
    echo "fuzz: $name: ok (${runs:-?} runs in ${seconds}s, coverage ${cov:-?}, $seeds seeds, corpus now $(find "$corpus" -type f | wc -l))"
    continue
  fi

  status=1
  kind=$(grep -m1 -oE 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer): [a-zA-Z-]+|runtime error: .*|ALARM: working on the last Unit for [0-9]+ seconds' "$log" | head -1)
  echo "fuzz: $name: FAILED (exit $rc${kind:+: $kind})"
  if [ ${#found[@]} -eq 0 ]; then
    echo "  no reproducer was written; the log is $log:"
    tail -40 "$log" | sed 's/^/    /'
  fi
  for a in "${found[@]}"; do
    echo "  reproducer: $a   (run: $bin $a)"
    echo "  input ($(wc -c <"$a") bytes), as text:"
    head -c 600 "$a" | cat -v | sed 's/^/    | /'
    echo
    echo "  input as hex:"
    head -c 256 "$a" | od -An -tx1 | sed 's/^/    /'
  done
  report=$(sed -n '/==[0-9]*== \{0,1\}ERROR\|runtime error\|ALARM\|out-of-memory/,/SUMMARY/p' "$log" | head -40)
  [ -n "$report" ] || report=$(tail -20 "$log")
  echo "  the report (whole log: $log):"
  printf '%s\n' "$report" | sed 's/^/    /'
done

if [ $status -eq 0 ]; then
  rm -rf "$work"
else
  echo "fuzz: findings kept in $work"
fi
exit $status
