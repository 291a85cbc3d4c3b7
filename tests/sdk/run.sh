#!/usr/bin/env bash
# Real Camunda 8.8 clients against `crmflow serve` (shared/camunda-rest.md §3): npm
# @camunda8/sdk 8.8.13, its legacy CamundaRestClient (legacy.js) and the Orchestration Cluster
# API client it depends on, with strict request and response validation against the 8.8 spec
# (oca.js). Both run over tests/fixtures/api_order.bpmn with tokens of several roles.
#
#   bash tests/sdk/run.sh path/to/crmflow
#
# The node modules are installed here on first use (npm ci from package-lock.json), and again
# whenever the lock file changes.
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=${CF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
sdk="$src/tests/sdk"
die() {
  printf 'FAIL sdk: %s\n' "$1" >&2
  exit 1
}

command -v node >/dev/null && command -v npm >/dev/null ||
  die "node and npm are needed (Node >= 20): install them (e.g. apt-get install nodejs npm)"
node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' ||
  die "Node >= 20 is needed, this is $(node --version)"

# ------------------------------------------------------------ node_modules, from the lock file
stamp="$sdk/node_modules/.crmflow-lock-sha256"
want=$(sha256sum "$sdk/package-lock.json" | cut -d' ' -f1)
(
  flock 9
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "sdk: installing node modules (npm ci)" >&2
    (cd "$sdk" && npm ci --no-audit --no-fund --loglevel=error >&2) || exit 1
    echo "$want" >"$stamp"
  fi
) 9>"${TMPDIR:-/tmp}/crmflow-sdk-npm-$(printf '%s' "$sdk" | sha256sum | cut -c1-12).lock" ||
  die "npm ci failed in $sdk"

# ------------------------------------------------------------ a server with tokens
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crmflow-test-sdk.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
db="$tmp/sdk.db"
log="$tmp/serve.log"
show_log() {
  echo "---- crmflow serve log (stderr) ----" >&2
  tail -n 200 "$log" >&2
  echo "---- end of log ----" >&2
}

"$bin" group create sales --db "$db" >/dev/null || die "group create"
"$bin" user create ann --role agent --groups sales --db "$db" >/dev/null || die "user create"
mk_token() { "$bin" token create --db "$db" "$@" || die "token create $*"; }
export CF_ADMIN_TOKEN CF_WORKER_TOKEN CF_VIEWER_TOKEN CF_AGENT_TOKEN
CF_ADMIN_TOKEN=$(mk_token --name sdk-admin --role admin)
CF_WORKER_TOKEN=$(mk_token --name sdk-worker --role worker)
CF_VIEWER_TOKEN=$(mk_token --name sdk-viewer --role viewer)
CF_AGENT_TOKEN=$(mk_token --name sdk-agent --role agent --user ann)
for t in "$CF_ADMIN_TOKEN" "$CF_WORKER_TOKEN" "$CF_VIEWER_TOKEN" "$CF_AGENT_TOKEN"; do
  [ ${#t} -ge 16 ] || die "token create printed '$t'"
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --db "$db" --listen "127.0.0.1:$port" --fast 2>"$log" &
pid=$!
up=
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && up=1 && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$up" ] || {
  show_log
  die "crmflow serve did not answer /healthz on port $port"
}

export CF_ADDRESS="http://127.0.0.1:$port"
export CF_BPMN="$src/tests/fixtures/api_order.bpmn"
export NODE_PATH="$sdk/node_modules"
failed=()
for script in legacy.js roles.js oca.js; do
  echo "== sdk: $script" >&2
  if ! (cd "$tmp" && timeout 120 node "$sdk/$script"); then failed+=("$script"); fi
done

# ------------------------------------------------------------ a clean stop, a clean log
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
[ "$rc" = 0 ] || failed+=("crmflow serve exited $rc on SIGTERM")
for t in "$CF_ADMIN_TOKEN" "$CF_WORKER_TOKEN" "$CF_VIEWER_TOKEN" "$CF_AGENT_TOKEN"; do
  if grep -qF -- "$t" "$log"; then
    failed+=("a token appears in the serve log")
    break
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  show_log
  printf 'FAIL sdk: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "sdk: legacy CamundaRestClient, OCA client (strict validation) and role checks passed" >&2
exit 0
