#!/usr/bin/env bash
# examples/crm/load.sh CRMFLOW DB: a fresh database with the four CRM scenarios loaded (make run).
#
# Deploys the sample models (../shared/models) and the four scenarios' models, creates the groups and
# users the models assign work to (password "crmflow-demo", for the web UI), adds the triggers, imports
# the sample records (each import fires the create triggers: processes start), and prints an admin
# API token.
set -euo pipefail
bin=$1
db=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rm -f "$db" "$db-wal" "$db-shm"
say() { printf 'crmflow demo: %s\n' "$*" >&2; }

say "a fresh database $db"
models=("$here"/*/*.bpmn)
[ -d "$root/../shared/models" ] && models+=("$root"/../shared/models/*.bpmn)
"$bin" deploy --db "$db" "${models[@]}" >/dev/null
say "deployed ${#models[@]} models: $(cd "$here" && ls */*.bpmn | tr '\n' ' ')"

for g in sales order-approvers billing-support technical-support general-support support-supervisors; do
  "$bin" group create --db "$db" "$g"
done
user() { printf 'crmflow-demo\n' | "$bin" user create --db "$db" "$1" --role "$2" --groups "$3" --password-stdin 2>/dev/null; }
user ann agent sales,order-approvers,billing-support
user bob agent sales,technical-support,general-support
user carol agent billing-support,technical-support,general-support
user dave agent support-supervisors,order-approvers
user admin admin ""
say "users ann, bob, carol, dave (agents) and admin, password crmflow-demo"

for t in "$here"/*/triggers.json; do
  "$bin" triggers add --db "$db" "$t" >/dev/null
done
say "triggers: $("$bin" triggers list --db "$db" --json | python3 -c 'import json,sys; print(", ".join(t["name"] for t in json.load(sys.stdin)["items"]))')"

import() { "$bin" records import --db "$db" "$1" "$2" >/dev/null && say "imported $(($(wc -l <"$2") - 1)) $1 records"; }
import account "$here/order/account.csv"
import contact "$here/service/contact.csv"
import order "$here/order/order.csv"
import ticket "$here/service/ticket.csv"
import lead "$here/sales/lead.csv"
import campaign "$here/marketing/campaign.csv"
say "$("$bin" instances --db "$db" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["items"]), "instances started by the triggers")')"

"$bin" token delete --db "$db" make-run >/dev/null 2>&1 || true
echo "admin API token (send 'Authorization: Bearer TOKEN'):"
"$bin" token create --db "$db" --name make-run --role admin 2>/dev/null
