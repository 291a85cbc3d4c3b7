#!/usr/bin/env bash
# check_layers.sh ROOT
#
# Enforces the layer rule of design.md §2 on the C sources under ROOT/src/:
#
#   1. A file under src/<layer>/ includes no header of a layer above its own
#      ("<layer>/..." includes). Public headers (include/crmflow/...) are
#      allowed everywhere.
#   2. A library header is included only by the layer (and, for the store
#      backends, only by the files) that own it: see LIBRARIES below.
#
# Before checking ROOT, the script checks itself: it plants violations in a
# temporary tree and fails loudly unless every one of them is reported (and a
# clean tree passes). A check that cannot fail is worse than none.
#
# Exit status: 0 when ROOT is clean, 1 on a violation (each printed as
# FILE:LINE: rule), 2 on a usage error or a failed self-test.
#
# Options: --no-self-test skips the self-test (the self-test uses it to run the
# checker on its temporary trees).
set -euo pipefail

# ----------------------------------------------------------------- the tables

# The layers, lowest first: each may include the headers of itself and of the
# layers before it in this list, never of those after.
LAYERS=(base feel bpmn engine store runtime crm api http cli)

# Library headers and who may include them. One row per library:
#   PREFIX  LAYERS(comma-separated)  FILE-GLOB  WHY
# PREFIX is matched against the start of the include path ("libxml/" matches
# <libxml/parser.h>; "sqlite3.h" matches exactly that header). FILE-GLOB is
# matched against the including file's base name ("*" = any file of the layer).
LIBRARIES=(
  "libxml/      bpmn          *          libxml2 is the BPMN parser's alone"
  "sqlite3.h    store         *sqlite*   only the SQLite backend talks to SQLite"
  "libpq-fe.h   store         *pg*       only the PostgreSQL backend talks to libpq"
  "microhttpd.h http          *          libmicrohttpd is the HTTP layer's alone"
  "curl/        crm,runtime   *          outbound HTTP/SMTP only in built-in workers and the runtime"
)

# ------------------------------------------------------------------ the check

layer_rank() { # prints the rank of layer $1, or nothing if it is not a layer
  local i
  for i in "${!LAYERS[@]}"; do
    if [ "${LAYERS[$i]}" = "$1" ]; then
      echo "$i"
      return
    fi
  done
}

# check_tree ROOT: prints one line per violation; returns 1 if any.
check_tree() {
  local root=$1 bad=0 file rel layer rank lineno inc first incrank row
  local prefix owners glob why base where
  [ -d "$root/src" ] || { echo "check_layers: $root/src: no such folder" >&2; return 2; }
  while IFS= read -r -d '' file; do
    rel=${file#"$root"/}
    layer=${rel#src/}
    layer=${layer%%/*}
    rank=$(layer_rank "$layer")
    if [ -z "$rank" ]; then
      echo "$rel:1: folder src/$layer/ is not a layer (${LAYERS[*]})"
      bad=1
      continue
    fi
    base=${file##*/}
    # Lines of the form: #include "x" or #include <x>, with any spacing.
    while IFS=$'\t' read -r lineno inc; do
      # Rule 1: "<layer>/..." includes, also written "../<layer>/...".
      first=${inc#../}
      first=${first%%/*}
      if [[ $inc == */* ]]; then
        incrank=$(layer_rank "$first")
        if [ -n "$incrank" ] && [ "$incrank" -gt "$rank" ]; then
          echo "$rel:$lineno: layer $layer includes $inc from layer $first above it" \
               "(order: ${LAYERS[*]})"
          bad=1
        fi
      fi
      # Rule 2: library headers.
      for row in "${LIBRARIES[@]}"; do
        read -r prefix owners glob why <<<"$row"
        case $inc in
          "$prefix"*) ;;
          *) continue ;;
        esac
        # shellcheck disable=SC2053 # glob on purpose
        if [[ ",$owners," != *",$layer,"* ]] || [[ $base != $glob ]]; then
          where="src/{$owners}/"
          [ "$glob" = "*" ] || where="$where files named $glob"
          echo "$rel:$lineno: $inc may be included only in $where ($why)"
          bad=1
        fi
      done
    done < <(awk '
      match($0, /^[ \t]*#[ \t]*include[ \t]*[<"][^>"]+[>"]/) {
        s = substr($0, RSTART, RLENGTH)
        sub(/^[ \t]*#[ \t]*include[ \t]*[<"]/, "", s)
        sub(/[>"]$/, "", s)
        printf "%d\t%s\n", FNR, s
      }' "$file")
  done < <(find "$root/src" -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)
  return $bad
}

# ------------------------------------------------------------- the self-test

self_test() {
  local tmp rc=0
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/check_layers.XXXXXX")
  self_test_in "$tmp" || rc=$?
  rm -rf "$tmp"
  return $rc
}

self_test_in() {
  local tmp=$1 out rc expect

  # A clean tree: every include here is allowed; the checker must pass it.
  mkdir -p "$tmp/clean/src/base" "$tmp/clean/src/feel" "$tmp/clean/src/store" \
           "$tmp/clean/src/bpmn" "$tmp/clean/src/cli"
  printf '#include "base/cf_buf.h"\n#include <stdio.h>\n#include "crmflow/cf_error.h"\n' \
    >"$tmp/clean/src/base/a.c"
  printf '#include "base/cf_buf.h"\n#include "feel/feel_int.h"\n' >"$tmp/clean/src/feel/b.c"
  printf '#include <sqlite3.h>\n#include "engine/x.h"\n' >"$tmp/clean/src/store/store_sqlite.c"
  printf '#include <libpq-fe.h>\n' >"$tmp/clean/src/store/store_pg.c"
  printf '#  include <libxml/parser.h>\n' >"$tmp/clean/src/bpmn/bpmn_parse.c"
  printf '#include "http/server.h"\n#include "feel/cf_feel.h"\n' >"$tmp/clean/src/cli/main.c"
  set +e
  out=$(check_tree "$tmp/clean" 2>&1)
  rc=$?
  set -e
  if [ $rc -ne 0 ]; then
    echo "check_layers: SELF-TEST FAILED: a clean tree was refused (rc $rc):" >&2
    echo "$out" >&2
    return 2
  fi

  # A tree with planted violations: each must be reported at its line.
  mkdir -p "$tmp/bad/src/base" "$tmp/bad/src/feel" "$tmp/bad/src/store" "$tmp/bad/src/engine"
  printf '#include <stdlib.h>\n#include "feel/cf_feel.h"\n' >"$tmp/bad/src/base/up.c"
  printf '#include "base/cf_buf.h"\n\n#include <libxml/parser.h>\n' >"$tmp/bad/src/feel/xml.c"
  printf '#include <sqlite3.h>\n' >"$tmp/bad/src/store/store_pg.c"
  printf '# include "../store/store.h"\n' >"$tmp/bad/src/engine/down.h"
  printf '#include <curl/curl.h>\n' >"$tmp/bad/src/engine/fetch.c"
  set +e
  out=$(check_tree "$tmp/bad" 2>&1)
  rc=$?
  set -e
  if [ $rc -ne 1 ]; then
    echo "check_layers: SELF-TEST FAILED: planted violations gave rc $rc, not 1:" >&2
    echo "$out" >&2
    return 2
  fi
  for expect in "src/base/up.c:2:" "src/feel/xml.c:3:" "src/store/store_pg.c:1:" \
                "src/engine/down.h:1:" "src/engine/fetch.c:1:"; do
    if ! grep -qF "$expect" <<<"$out"; then
      echo "check_layers: SELF-TEST FAILED: the planted violation at $expect was not reported." >&2
      echo "Reported:" >&2
      echo "$out" >&2
      return 2
    fi
  done
  if [ "$(wc -l <<<"$out")" -ne 5 ]; then
    echo "check_layers: SELF-TEST FAILED: expected 5 violations, got:" >&2
    echo "$out" >&2
    return 2
  fi
}

# ------------------------------------------------------------------ main

self=1
if [ "${1:-}" = "--no-self-test" ]; then
  self=0
  shift
fi
if [ $# -ne 1 ]; then
  echo "usage: $0 [--no-self-test] ROOT" >&2
  exit 2
fi
root=${1%/}

if [ $self -eq 1 ]; then
  self_test || exit 2
fi

set +e
check_tree "$root"
rc=$?
set -e
if [ $rc -eq 0 ]; then
  echo "check_layers: $root/src follows the layer rule (${LAYERS[*]})"
fi
exit $rc
