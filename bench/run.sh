#!/usr/bin/env bash
# bench/run.sh [BUILD_DIR]   (make bench: BUILD_DIR=build)
#
# Builds bench/feel_bench.c against BUILD_DIR's static libraries (it is not a
# CMake target, so an ordinary build stays lean) and runs it. Prints JSON
# lines: one per benchmark case; see bench/README.md for what they mean.
# Nothing is written into the repository: the binary goes to a temporary
# folder. Extra arguments go to feel_bench (a substring selects cases).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
shift || true
case $build in /*) ;; *) build="$PWD/$build" ;; esac

for lib in libcf_feel.a libcf_base.a; do
  if [ ! -f "$build/$lib" ]; then
    echo "bench: $build/$lib is missing: build first (make build)" >&2
    exit 2
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/crmflow-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# shellcheck disable=SC2046 # pkg-config prints several words on purpose
${CC:-cc} -std=gnu17 -O2 -g -Wall -Wextra -Wno-unused-parameter \
  -I"$root/include" -I"$root/src" $(pkg-config --cflags json-c libdecnumber libpcre2-8) \
  "$root/bench/feel_bench.c" "$build/libcf_feel.a" "$build/libcf_base.a" \
  $(pkg-config --libs json-c libdecnumber libpcre2-8) -lm -lpthread \
  -o "$tmp/feel_bench"

"$tmp/feel_bench" "$@"

# NEEDSWORK: once `crmflow bench` exists (contracts.md §8), run it here on the
# examples' models against the peer engine (bpmn-engine, see
# shared/models/README.md) and print both lines, as the design asks.
