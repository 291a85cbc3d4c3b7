#!/bin/sh
# ctest docs.element_templates: installs the pinned checker (npm ci, only when node_modules is missing
# or package-lock.json changed since the last install) and runs check.js against examples/element-templates.
# Usage: run.sh [SOURCE_DIR] (default: $CF_SOURCE_DIR, else the tree this script is in).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=${1:-${CF_SOURCE_DIR:-$(cd "$here/../.." && pwd)}}
command -v node >/dev/null 2>&1 || { echo "docs.element_templates: node is not installed" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "docs.element_templates: npm is not installed" >&2; exit 1; }
cd "$here"
stamp=node_modules/.crmflow-lock-stamp
if [ ! -d node_modules ] || [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund >&2
  cp package-lock.json "$stamp"
fi
exec node check.js "$src"
