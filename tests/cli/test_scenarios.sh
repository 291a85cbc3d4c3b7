#!/usr/bin/env bash
# `crmflow test` (shared/contracts.md §3) checked from the outside: the
# runner itself, with scenario files that fail on purpose (kept here, not in
# tests/scenarios/, which must all pass).
set -u
bin="$1"
here="$(cd "$(dirname "$0")" && pwd)"
fx="$here/fixtures/scenarios"
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); printf 'FAIL %s\n' "$1"; [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/    /'; }

# A failing scenario: exit 1, a FAIL line, expected and found per key, the summary last.
out=$("$bin" test "$fx/failing.scenario.json"); rc=$?
[ $rc -eq 1 ] && ok || bad "failing scenario exits 1 (got $rc)" "$out"
grep -q '^FAIL deliberately failing: wrong expectations (' <<<"$out" && ok || bad "FAIL line" "$out"
grep -q 'state: expected completed, found active' <<<"$out" && ok || bad "state expected/found" "$out"
grep -q 'active: expected \[a, b\], found \[b, c\]' <<<"$out" && ok || bad "active expected/found" "$out"
grep -q 'variables.missing: expected 1, found (absent)' <<<"$out" && ok || bad "variables expected/found" "$out"
[ "$(tail -n 1 <<<"$out")" == "0 passed, 1 failed" ] && ok || bad "summary is the last line" "$out"

# A job backing off is not open, and the failure says what was open instead.
out=$("$bin" test "$fx/backing-off.scenario.json"); rc=$?
[ $rc -eq 1 ] && ok || bad "backing off exits 1" "$out"
grep -q 'step 2 (complete_job "charge-card"): no open job "charge-card"; jobs backing off (not open yet): charge-card (element charge) until 2026-01-01T00:10:00Z' <<<"$out" \
  && ok || bad "backing-off job named with its time" "$out"

# An invalid file is a failed scenario naming the file and the byte offset.
out=$("$bin" test "$fx/invalid.scenario.json"); rc=$?
[ $rc -eq 1 ] && ok || bad "invalid JSON exits 1" "$out"
grep -q "^FAIL invalid ($fx/invalid.scenario.json)" <<<"$out" && ok || bad "invalid file named" "$out"
grep -q 'is not valid JSON: .*byte' <<<"$out" && ok || bad "JSON error with byte offset" "$out"

# A missing file is a failed scenario too.
out=$("$bin" test "$fx/nope.scenario.json"); rc=$?
[ $rc -eq 1 ] && grep -q "cannot read" <<<"$out" && ok || bad "missing file fails" "$out"

# A misspelt key of a step fails, naming it.
out=$("$bin" test "$fx/bad-step-key.scenario.json"); rc=$?
grep -q 'step 1 (publish_message "payment-received"): unknown key "correlation" for publish_message' <<<"$out" && ok || bad "misspelt step key" "$out"

# Passing: exit 0, "ok   NAME (FILE)".
out=$("$bin" test "$fx/passing.scenario.json"); rc=$?
[ $rc -eq 0 ] && ok || bad "passing scenario exits 0 (got $rc)" "$out"
grep -q "^ok   passing ($fx/passing.scenario.json)$" <<<"$out" && ok || bad "ok line" "$out"

# A folder: every *.scenario.json, sorted; the summary counts them all.
out=$("$bin" test "$fx"); rc=$?
[ $rc -eq 1 ] && ok || bad "folder with failures exits 1" "$out"
[ "$(tail -n 1 <<<"$out")" == "1 passed, 4 failed" ] && ok || bad "folder summary" "$out"
files=$(grep -E '^(ok  |FAIL) ' <<<"$out" | sed 's/.*(\(.*\))$/\1/' | xargs -n1 basename | tr '\n' ' ')
[ "$files" == "backing-off.scenario.json bad-step-key.scenario.json failing.scenario.json invalid.scenario.json passing.scenario.json " ] \
  && ok || bad "folder order is sorted" "$files"

# --json: one valid JSON document with the counts.
out=$("$bin" test --json "$fx"); rc=$?
[ $rc -eq 1 ] && ok || bad "--json exit status" "$out"
if command -v python3 >/dev/null; then
  python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
assert d["passed"] == 1 and d["failed"] == 4, d
assert len(d["scenarios"]) == 5
for s in d["scenarios"]:
    assert set(s) == {"name", "file", "passed", "failures"}, s
    assert s["passed"] == (not s["failures"])
' <<<"$out" && ok || bad "--json is valid JSON with scenarios, passed, failed" "$out"
fi

# Usage errors exit 2.
"$bin" test >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "no path is a usage error"
"$bin" test --bogus "$fx" >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "unknown option is a usage error"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
