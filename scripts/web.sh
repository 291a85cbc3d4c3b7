#!/usr/bin/env bash
# Builds the web UI (web/ -> web/dist) with its pinned npm packages; called by `make build`.
# `npm ci` when web/node_modules is missing or package-lock.json changed since the last install (a stamp),
# then `npm run build` when a source is newer than web/dist/index.html. Nothing is fetched at run time:
# the server serves web/dist.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
web="$root/web"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "web: node and npm are needed to build the web UI (web/); run scripts/deps.sh (Debian's nodejs and npm) or install Node.js 20+" >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "web: Node.js 20 or newer is needed to build the web UI, this is $(node --version)" >&2
  exit 1
fi

cd "$web"
stamp=node_modules/.crmflow-lock-stamp
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  echo "web: npm ci (web/package-lock.json)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$lock_sum" >"$stamp"
fi

if [ ! -f dist/index.html ] || [ -n "$(find src index.html vite.config.js package-lock.json -newer dist/index.html -print -quit)" ]; then
  echo "web: building web/dist" >&2
  npm run --silent build -- --logLevel warn >&2
fi
