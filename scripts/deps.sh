#!/usr/bin/env bash
# Installs the Debian packages crmflow needs, only when one is missing.
# Called by `make`, `make run` and `make test`; safe to run again.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libjson-c-dev libdfp-dev libcmocka-dev libpcre2-dev tzdata
  libxml2-dev libsqlite3-dev libsodium-dev libmicrohttpd-dev libcurl4-openssl-dev curl wrk
  postgresql libpq-dev
  chromium fonts-wqy-zenhei
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# chromium: the web UI's browser tests (tests/ui, driven by npm playwright-core; no browser download);
# fonts-wqy-zenhei: Chinese glyphs in its screenshots.
# Node.js and npm build the web UI (scripts/web.sh) and run the tests that use real Camunda clients (tests/sdk) and the OpenAPI check;
# Debian's packages when the machine has none of its own.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  for p in nodejs npm; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
