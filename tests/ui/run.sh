#!/usr/bin/env bash
# tests/ui/run.sh CRMFLOW: the web UI in headless Chromium (Debian's chromium, driven by npm
# playwright-core; no browser download). A temporary database with the CRM demo (examples/crm/load.sh),
# `crmflow serve --ui web/dist` on a free loopback port, then ui.test.js. Screenshots: tests/ui/screenshots/.
set -euo pipefail
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
root=${CF_SOURCE_DIR:-$(cd "$here/../.." && pwd)}

chromium=${CF_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  echo "ui: no $chromium: install Debian's chromium (scripts/deps.sh does)" >&2
  exit 1
fi
command -v node >/dev/null || { echo "ui: node is needed" >&2; exit 1; }

# The UI's build (make does it; again here when sources changed).
bash "$root/scripts/web.sh"
[ -f "$root/web/dist/index.html" ] || { echo "ui: web/dist was not built" >&2; exit 1; }

# playwright-core from the lock file, when missing or the lock changed.
cd "$here"
stamp=node_modules/.crmflow-lock-stamp
sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules/playwright-core ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$sum" >"$stamp"
fi

tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ "${CF_KEEP_TMP:-}" = 1 ]; then echo "ui: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

bash "$root/examples/crm/load.sh" "$bin" "$tmp/ui.db" >"$tmp/load.out" 2>"$tmp/load.err" || { cat "$tmp/load.err" >&2; exit 1; }
token=$(grep -E '^cft_' "$tmp/load.out" | tail -1)
[ -n "$token" ] || { echo "ui: load.sh printed no admin token" >&2; cat "$tmp/load.out" >&2; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
"$bin" serve --db "$tmp/ui.db" --listen "127.0.0.1:$port" --ui "$root/web/dist" >"$tmp/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { echo "ui: crmflow serve stopped" >&2; cat "$tmp/serve.log" >&2; exit 1; }
  sleep 0.1
done

node "$root/web/scripts/check-i18n.js"
status=0
CF_URL="http://127.0.0.1:$port" CF_TOKEN="$token" CF_CHROMIUM="$chromium" CF_FIXTURES="$here/fixtures" \
  CF_SCREENSHOTS="$here/screenshots" node "$here/ui.test.js" || status=$?
if [ $status -ne 0 ]; then
  echo "ui: the server's log (last lines):" >&2
  tail -20 "$tmp/serve.log" >&2
fi
exit $status
