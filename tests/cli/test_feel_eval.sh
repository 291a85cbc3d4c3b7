#!/usr/bin/env bash
# `crmflow feel eval` as shared/contracts.md §2 defines it, through the real binary.
set -u
bin="$1"
pass=0
fail=0

check() { # name, expected output, actual output
  if [ "$2" == "$3" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    printf 'FAIL %s\n  expected: %s\n  got:      %s\n' "$1" "$2" "$3"
  fi
}

check "boolean with vars" '{"value":true,"type":"boolean"}' \
  "$("$bin" feel eval --vars '{"amount": 1500}' 'amount > 1000')"
check "exact decimals" '{"value":0.3,"type":"number"}' "$("$bin" feel eval '0.1 + 0.2')"
check "big integers stay exact" '{"value":12345678901234567891,"type":"number"}' \
  "$("$bin" feel eval '12345678901234567890 + 1')"
check "JSON input numbers are exact" '{"value":39.98,"type":"number"}' \
  "$("$bin" feel eval --vars '{"price": 19.99}' 'price * 2')"
check "JSON integers beyond 64 bits" '{"value":123456789012345678901234567891,"type":"number"}' \
  "$("$bin" feel eval --vars '{"n": 123456789012345678901234567890}' 'n + 1')"
check "date type and ISO value" '{"value":"2026-01-08","type":"date"}' \
  "$("$bin" feel eval 'date("2026-01-05") + duration("P3D")')"
check "context to object" '{"value":{"a":1,"b":[true,null]},"type":"context"}' \
  "$("$bin" feel eval '{a: 1, b: [true, null]}')"
check "names with spaces from vars" '{"value":150,"type":"number"}' \
  "$("$bin" feel eval --vars '{"Order Total": 100}' 'Order Total * 1.5')"

out=$("$bin" feel eval '1 +')
case "$out" in
  '{"value":null,"type":"null","warnings":["syntax error at line 1, column 4: '*) pass=$((pass + 1)) ;;
  *) fail=$((fail + 1)); echo "FAIL syntax error is a warning with its position: $out" ;;
esac
out=$("$bin" feel eval --vars '{"x": "a"}' 'x * 2')
case "$out" in
  '{"value":null,"type":"null","warnings":["cannot multiply string and number"]}') pass=$((pass + 1)) ;;
  *) fail=$((fail + 1)); echo "FAIL evaluation error gives null and a warning: $out" ;;
esac

# --jsonl: one answer per line, in order, even for bad lines.
out=$(printf '%s\n' '{"expr": "amount > 1000", "vars": {"amount": 1500}}' \
  '{"expr": "if"}' 'not json' '{"expr": "string length(\"héllo\")"}' '{"expr": "[1,2,3][-1]"}' |
  "$bin" feel eval --jsonl)
lines=$(printf '%s\n' "$out" | wc -l)
check "jsonl answers every line" 5 "$lines"
check "jsonl first" '{"value":true,"type":"boolean"}' "$(printf '%s\n' "$out" | sed -n 1p)"
check "jsonl code points" '{"value":5,"type":"number"}' "$(printf '%s\n' "$out" | sed -n 4p)"
check "jsonl negative index" '{"value":3,"type":"number"}' "$(printf '%s\n' "$out" | sed -n 5p)"
case "$(printf '%s\n' "$out" | sed -n 3p)" in
  '{"value":null,"type":"null","warnings":["invalid JSON'*) pass=$((pass + 1)) ;;
  *) fail=$((fail + 1)); echo "FAIL jsonl bad JSON line: $(printf '%s\n' "$out" | sed -n 3p)" ;;
esac

"$bin" feel eval >/dev/null 2>&1
check "usage error exits 2" 2 $?
"$bin" feel eval --vars '{bad' 'x' >/dev/null 2>&1
check "bad --vars exits 2" 2 $?

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
