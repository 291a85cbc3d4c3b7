#!/usr/bin/env bash
# examples/crm/demo.sh [--url URL] [--token TOKEN] [--smtp-port N] [--hook-port N]
#
# Drives the four CRM scenarios of examples/crm end to end against a running `crmflow serve` loaded by
# examples/crm/load.sh (as `make run` starts it), and says step by step what happens:
#
#   1. order      an order of 1500.00 created over the API; the trigger starts crm-order; the demo plays
#                 the order's own workers (order.handle, stock.reserve, payment.charge, shipping.ship)
#                 and the approver; the built-in crm.update-record marks the order completed.
#   2. service    a contact and a ticket about a refund; the automatic reply arrives by mail, crm.assign
#                 gives the ticket to a billing-support agent (round-robin), who resolves it; the
#                 satisfaction survey waits a day at its timer.
#   3. sales      a new lead gets an owner (crm.assign least-busy); qualifying it (PATCH) publishes
#                 lead-qualified through the trigger; crm.create-record creates the opportunity.
#   4. marketing  a campaign started with `segmentUrl` pointing at the demo's webhook receiver, which
#                 answers the segment; the campaign mails arrive; one contact's response is published
#                 (campaign-response); the others wait three days for the follow-up.
#
# It starts an SMTP sink on 127.0.0.1:SMTP_PORT (default 2525, where `make run` sends mail) and a webhook
# receiver on 127.0.0.1:HOOK_PORT (default 8099), both in python3 (standard library only). When
# something else listens there already, it says so: it then checks that the email.send jobs completed
# instead of reading the mails, and starts the campaign with its contacts instead of fetching them.
#
# The token: --token, else $CRMFLOW_TOKEN, else a new admin token made with
# `build/crmflow token create --db crmflow.db` (the paths `make run` uses; $CRMFLOW_BIN, $CRMFLOW_DB
# override them).
#
# Exit status: 0 when every step happened, 1 otherwise (the summary says which did not), 2 for a usage
# error.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
url=http://127.0.0.1:8080
token=${CRMFLOW_TOKEN:-}
smtp_port=2525
hook_port=8099

usage() {
  sed -n '2p' "$0" | sed 's/^# /usage: /' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case $1 in
  --url) [ $# -ge 2 ] || usage; url=$2; shift 2 ;;
  --token) [ $# -ge 2 ] || usage; token=$2; shift 2 ;;
  --smtp-port) [ $# -ge 2 ] || usage; smtp_port=$2; shift 2 ;;
  --hook-port) [ $# -ge 2 ] || usage; hook_port=$2; shift 2 ;;
  -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "demo.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
case $smtp_port$hook_port in *[!0-9]*) echo "demo.sh: a port is a number" >&2; usage ;; esac

if [ -z "$token" ]; then
  bin=${CRMFLOW_BIN:-$root/build/crmflow}
  db=${CRMFLOW_DB:-$root/crmflow.db}
  name=demo-$(date +%Y%m%d%H%M%S)
  if ! token=$("$bin" token create --db "$db" --name "$name" --role admin); then
    echo "demo.sh: no token: give --token or CRMFLOW_TOKEN, or run 'make run' first ($bin, $db)" >&2
    exit 1
  fi
  echo "demo.sh: created the admin token '$name' in $db"
fi

exec python3 - "$url" "$token" "$smtp_port" "$hook_port" <<'PY'
import asyncio, base64, decimal, email, email.policy, http.server, json, socket, sys, threading, time
import urllib.error, urllib.request

URL, TOKEN, SMTP_PORT, HOOK_PORT = sys.argv[1].rstrip("/"), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
WAIT = 20.0          # seconds a step may take
AGENT_PASSWORD = "crmflow-demo"   # load.sh's users
RUN = time.strftime("%H%M%S")


def out(s=""):
    print(s, flush=True)


# ---------------------------------------------------------------- the SMTP sink

class Sink:
    """A small SMTP server: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; keeps every message."""

    def __init__(self, port):
        self.port, self.messages, self.lock, self.ours = port, [], threading.Lock(), False
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen(16)
        except OSError:
            sock.close()
            return
        self.ours = True
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(asyncio.start_server(self.session, sock=sock))
            ready.set()
            self.loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        ready.wait(5)

    async def session(self, reader, writer):
        def say(line):
            writer.write(line.encode() + b"\r\n")

        say("220 crmflow-demo SMTP sink")
        sender, rcpts = None, []
        try:
            while True:
                raw = await reader.readline()
                if not raw:
                    break
                line = raw.decode("latin-1").rstrip("\r\n")
                verb = line[:4].upper()
                if verb == "EHLO":
                    say("250-crmflow-demo")
                    say("250 8BITMIME")
                elif verb == "HELO":
                    say("250 crmflow-demo")
                elif line.upper().startswith("MAIL FROM:"):
                    sender, rcpts = line[10:].strip(), []
                    say("250 OK")
                elif line.upper().startswith("RCPT TO:"):
                    rcpts.append(line[8:].strip().split()[0].strip("<>"))
                    say("250 OK")
                elif verb == "DATA":
                    if not rcpts:
                        say("503 RCPT first")
                        continue
                    say("354 end with <CRLF>.<CRLF>")
                    await writer.drain()
                    data = bytearray()
                    while True:
                        l = await reader.readline()
                        if not l or l in (b".\r\n", b".\n"):
                            break
                        data += l[1:] if l.startswith(b".") else l
                    self.store(sender, rcpts, bytes(data))
                    sender, rcpts = None, []
                    say("250 OK queued")
                elif verb == "RSET":
                    sender, rcpts = None, []
                    say("250 OK")
                elif verb == "NOOP":
                    say("250 OK")
                elif verb == "QUIT":
                    say("221 bye")
                    await writer.drain()
                    break
                else:
                    say("502 not implemented")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        writer.close()

    def store(self, sender, rcpts, data):
        msg = email.message_from_bytes(data, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))
        m = {"from": sender, "to": rcpts, "subject": str(msg.get("Subject", "")),
             "message_id": str(msg.get("Message-ID", "")), "text": body.get_content() if body else ""}
        with self.lock:
            self.messages.append(m)

    def find(self, pred):
        with self.lock:
            return [m for m in self.messages if pred(m)]


# ---------------------------------------------------------------- the webhook receiver (the segment service)

SEGMENT = ["ada@example.com", "grace@example.com", "alan@example.com"]


class Hook:
    def __init__(self, port):
        self.port, self.calls, self.ours = port, [], False
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                parts = self.path.split("?")[0].strip("/").split("/")
                hook.calls.append({"method": "GET", "path": self.path,
                                   "idempotency_key": self.headers.get("Idempotency-Key")})
                if len(parts) == 3 and parts[0] == "campaigns" and parts[2] == "segment":
                    body, code = json.dumps({"campaign": parts[1], "contacts": SEGMENT}).encode(), 200
                else:
                    body, code = b'{"error":"not found"}', 404
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        try:
            self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        except OSError:
            return
        self.ours = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


# ---------------------------------------------------------------- the API

class Fail(Exception):
    pass


def api(method, path, body=None, user=None, ok=(200, 201, 204)):
    """Calls the API as the admin token (or as a load.sh user with Basic auth); the JSON answer."""
    data = None
    headers = {"Accept": "application/json"}
    if user:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{AGENT_PASSWORD}".encode()).decode()
    else:
        headers["Authorization"] = "Bearer " + TOKEN
    if body is not None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(URL + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as e:
        raise Fail(f"{method} {path}: {e}")
    if status not in ok:
        detail = text
        try:
            detail = json.loads(text).get("detail", text)
        except ValueError:
            pass
        raise Fail(f"{method} {path}: {status} {detail}"[:300])
    # Decimals as the server wrote them (an amount of 1500.00 stays 1500.00).
    return json.loads(text, parse_float=decimal.Decimal) if text.strip() else None


def wait_for(what, fn, timeout=WAIT):
    """Polls fn until it returns something true; Fail(what) after timeout seconds."""
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise Fail(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.2)


def search(path, flt, limit=100):
    return api("POST", path, {"filter": flt, "page": {"limit": limit}})["items"]


def instance_of(process, record_key):
    """The instance of process whose recordKey is record_key (the one a trigger started)."""
    def find():
        items = search("/v2/process-instances/search",
                       {"processDefinitionId": process,
                        "variables": [{"name": "recordKey", "value": json.dumps(str(record_key))}]})
        return items[0] if items else None
    return wait_for(f"an instance of {process} for record {record_key}", find)


def instance_state(key):
    return api("GET", f"/v2/process-instances/{key}")["state"]


def wait_state(key, state, timeout=WAIT):
    def check():
        inst = api("GET", f"/v2/process-instances/{key}")
        if inst.get("hasIncident"):
            inc = search("/v2/incidents/search", {"processInstanceKey": key})
            raise Fail(f"instance {key} has an incident: " + "; ".join(
                f"{i['elementId']}: {i.get('errorMessage', '')}" for i in inc))
        return inst["state"] == state
    wait_for(f"instance {key} {state}", check, timeout)


def elements(instance, element_id, state=None):
    flt = {"processInstanceKey": instance, "elementId": element_id}
    if state:
        flt["state"] = state
    return search("/v2/element-instances/search", flt)


def variables(instance, name):
    return search("/v2/variables/search", {"processInstanceKey": instance, "name": name}, 1000)


def variable(instance, name):
    """The value of the instance's (root scope) variable, or None."""
    for v in variables(instance, name):
        if v["scopeKey"] == str(instance):
            return json.loads(api("GET", f"/v2/variables/{v['variableKey']}")["value"])
    return None


def history(instance):
    return api("GET", f"/v2/crm/process-instances/{instance}/history")["items"]


def job_key_of(instance, job_type, nth=0):
    keys = [h["key"] for h in history(instance) if h["kind"] == "JOB_CREATED" and h.get("detail") == job_type]
    return keys[nth] if len(keys) > nth else None


def jobs_done(instance, job_type):
    """How many jobs of job_type the instance completed (from its history)."""
    h = history(instance)
    created = {x["key"] for x in h if x["kind"] == "JOB_CREATED" and x.get("detail") == job_type}
    return sum(1 for x in h if x["kind"] == "JOB_COMPLETED" and x["key"] in created)


def record(rtype, key):
    return api("GET", f"/v2/crm/records/{rtype}/{key}")


def play_job(job_type, instance, variables_=None):
    """Plays the worker for job_type: activates, completes the job of this instance. Jobs of other
    instances (make run's sample orders wait for workers too) are taken with a short lease and left:
    they are back for their own workers 3 s later."""
    def take():
        r = api("POST", "/v2/jobs/activation", {"type": job_type, "worker": "crmflow-demo", "timeout": 3000,
                                                 "maxJobsToActivate": 32, "requestTimeout": 1000})
        for j in r["jobs"]:
            if j["processInstanceKey"] == str(instance):
                return j
        return None
    job = wait_for(f"a {job_type} job of instance {instance}", take)
    api("POST", f"/v2/jobs/{job['jobKey']}/completion", {"variables": variables_ or {}})
    return job


def complete_task(task, user, variables_):
    """Claims and completes the user task as the load.sh user (Basic auth); with the admin token when
    that user cannot sign in. Answers how it went."""
    key = task["userTaskKey"]
    try:
        if task.get("assignee") != user:
            api("POST", f"/v2/user-tasks/{key}/assignment", {"assignee": user}, user=user)
        api("POST", f"/v2/user-tasks/{key}/completion", {"variables": variables_}, user=user)
        return f"completed by {user}"
    except Fail as e:
        if " 401 " not in str(e):
            raise
        if task.get("assignee") != user:
            api("POST", f"/v2/user-tasks/{key}/assignment", {"assignee": user})
        api("POST", f"/v2/user-tasks/{key}/completion", {"variables": variables_})
        return f"assigned to {user}, completed with the admin token ({user} cannot sign in)"


def open_task(instance, element_id):
    def find():
        t = search("/v2/user-tasks/search", {"processInstanceKey": instance, "elementId": element_id,
                                             "state": "CREATED"})
        return t[0] if t else None
    return wait_for(f"the user task {element_id} of instance {instance}", find)


# ---------------------------------------------------------------- steps and the summary

class Demo:
    def __init__(self, sink, hook):
        self.sink, self.hook = sink, hook
        self.results = []   # (scenario, ok, what failed)
        self.notes = []

    def step(self, text):
        out(f"  {text}")

    def note(self, text):
        """Something the demo saw that is not right but did not stop the scenario."""
        out(f"  NOTE: {text}")
        self.notes.append(text)

    def mail(self, what, instance, job_type, pred, count=1):
        """Shows the mails the sink got (pred), or, when the sink is not ours, that the email.send
        jobs completed. Returns the mails (or [])."""
        if self.sink.ours:
            try:
                got = wait_for(f"{what} at the SMTP sink", lambda: (lambda m: m if len(m) >= count else None)(
                    self.sink.find(pred)))
            except Fail as e:
                seen = "; ".join(f"to {', '.join(m['to'])}: {m['subject']!r}" for m in self.sink.find(lambda m: True))
                raise Fail(f"{e} (the sink got: {seen or 'nothing'})")
            for m in got:
                self.step(f"email to {', '.join(m['to'])}: '{m['subject']}' (Message-ID {m['message_id']})")
            return got
        wait_for(f"{what}: {count} {job_type} job(s) completed",
                 lambda: jobs_done(instance, job_type) >= count)
        self.step(f"{what}: {count} {job_type} job(s) completed (the SMTP server on port {SMTP_PORT} is "
                  f"not the demo's: the mail itself is not checked)")
        return []

    def run(self, title, fn):
        out()
        out(title)
        try:
            fn()
            self.results.append((title, True, ""))
        except Fail as e:
            out(f"  FAILED: {e}")
            self.results.append((title, False, str(e)))
        except Exception as e:  # a bug of the demo or an answer it did not expect
            out(f"  FAILED: {type(e).__name__}: {e}")
            self.results.append((title, False, f"{type(e).__name__}: {e}"))

    # -------------------------------------------------------- 1. order

    def order(self):
        taken = [r["fields"].get("number", "") for r in
                 search("/v2/crm/records/order/search", {"number": {"$like": "SO-2???"}}, 10000)]
        n = max([int(x[3:]) for x in taken if x[3:].isdigit()] + [2000]) + 1
        number = f"SO-{n}"
        # The amount as written (1500.00, a decimal), not as a float.
        rec = api("POST", "/v2/crm/records/order",
                  '{"fields": {"number": %s, "amount": 1500.00, "status": "submitted"}}' % json.dumps(number))
        rkey = rec["recordKey"]
        self.step(f"order {number} ({rec['fields']['amount']}): record {rkey} created, status submitted")
        inst = instance_of("crm-order", rkey)["processInstanceKey"]
        self.step(f"order {number}: instance {inst} started by the trigger 'order submitted'")

        task = open_task(inst, "approve_order")
        groups = ", ".join(task.get("candidateGroups", []))
        self.step(f"approval task {task['userTaskKey']} for {groups} (amount over 1000, due {task.get('dueDate', '?')})")
        how = complete_task(task, "ann", {"approved": True})
        self.step(f"approval task for {groups}: {how} (approved: true)")

        names = {"order.handle": "Handle order", "stock.reserve": "Reserve stock",
                 "payment.charge": "Charge payment", "shipping.ship": "Ship order"}
        outputs = {"order.handle": {"handledBy": "crmflow-demo"},
                   "stock.reserve": {"reservationId": f"RES-{number}"},
                   "payment.charge": {"paymentId": f"PAY-{number}"},
                   "shipping.ship": {"trackingNumber": f"TRK-{number}"}}
        for t in ("order.handle", "stock.reserve", "payment.charge", "shipping.ship"):
            job = play_job(t, inst, outputs[t])
            extra = ", ".join(f"{k}: {v}" for k, v in outputs[t].items())
            self.step(f"job {job['jobKey']} {t} ({names[t]}): completed by the demo worker ({extra})")

        wait_state(inst, "COMPLETED")
        self.step(f"instance {inst}: COMPLETED")
        rec = record("order", rkey)
        if rec["fields"].get("status") != "completed":
            raise Fail(f"order record {rkey}: status {rec['fields'].get('status')!r}, not 'completed'")
        self.step(f"order record {rkey}: status completed (crm.update-record, updated by {rec.get('updatedBy')})")

    # -------------------------------------------------------- 2. service

    def service(self):
        contact = api("POST", "/v2/crm/records/contact",
                      {"fields": {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0001"}})
        ckey = contact["recordKey"]
        self.step(f"contact {ckey}: Ada Lovelace <ada@example.com>")
        subject = f"Refund for order SO-{RUN}"
        ticket = api("POST", "/v2/crm/records/ticket",
                     {"fields": {"subject": subject, "description": "The parcel arrived damaged; please refund.",
                                 "priority": "normal", "contact": ckey}})
        tkey = ticket["recordKey"]
        self.step(f"ticket {tkey}: '{subject}' for contact {ckey}, status {ticket['fields'].get('status')}")
        inst = instance_of("crm-ticket", tkey)["processInstanceKey"]
        self.step(f"ticket {tkey}: instance {inst} started by the trigger 'ticket created'")

        got = self.mail("the automatic reply", inst, "email.send",
                        lambda m: "ada@example.com" in m["to"] and m["subject"].startswith("We received your request"))
        if got and subject not in got[0]["subject"]:
            raise Fail(f"the automatic reply's subject lacks the ticket's subject: {got[0]['subject']!r}")

        task = open_task(inst, "resolve_ticket")
        category = variable(inst, "category")
        assignee = task.get("assignee")
        if not assignee:
            raise Fail(f"the resolve task {task['userTaskKey']} has no assignee")
        self.step(f"ticket classified '{category}'; crm.assign (round-robin in "
                  f"{', '.join(task.get('candidateGroups', []))}) gave it to {assignee}")
        members = api("GET", f"/v2/crm/groups/{category}-support").get("members", [])
        if assignee not in members:
            raise Fail(f"{assignee} is not in the group {category}-support ({', '.join(members)})")
        how = complete_task(task, assignee, {"resolution": "Refund issued."})
        self.step(f"resolve task {task['userTaskKey']}: {how}")

        wait_for(f"ticket {tkey} resolved", lambda: record("ticket", tkey)["fields"].get("status") == "resolved")
        self.step(f"ticket record {tkey}: status resolved (crm.update-record)")
        wait_for(f"instance {inst} at the timer '1 day later'", lambda: elements(inst, "wait_a_day", "ACTIVE"))
        self.step(f"instance {inst}: waits at the timer '1 day later' (PT24H); the satisfaction survey "
                  f"goes to ada@example.com tomorrow (state {instance_state(inst)})")

    # -------------------------------------------------------- 3. sales

    def sales(self):
        name = f"Hooli - 200 seats ({RUN})"
        lead = api("POST", "/v2/crm/records/lead",
                   {"fields": {"name": name, "email": "cto@hooli.example", "source": "web", "status": "new"}})
        lkey = lead["recordKey"]
        self.step(f"lead {lkey}: '{name}', status new")
        inst = instance_of("crm-lead", lkey)["processInstanceKey"]
        self.step(f"lead {lkey}: instance {inst} started by the trigger 'lead created'")
        owner = wait_for(f"lead {lkey} given an owner", lambda: record("lead", lkey)["fields"].get("owner"))
        self.step(f"lead {lkey}: owner {owner} (crm.assign least-busy in sales, then crm.update-record)")
        # The message would be lost if published before the instance subscribes: wait for the gateway.
        wait_for(f"instance {inst} waiting for lead-qualified", lambda: elements(inst, "wait_for_lead", "ACTIVE"))
        self.step(f"instance {inst}: waits for lead-qualified or 2 days")

        api("PATCH", f"/v2/crm/records/lead/{lkey}", {"fields": {"status": "qualified"}})
        self.step(f"lead {lkey}: status qualified (PATCH); the trigger 'lead qualified' publishes "
                  f"lead-qualified with correlation key {lkey}")
        wait_state(inst, "COMPLETED")
        okey = variable(inst, "opportunityKey")
        if not okey:
            raise Fail(f"instance {inst} completed without an opportunityKey")
        opp = record("opportunity", okey)
        self.step(f"opportunity {okey}: '{opp['fields'].get('name')}', stage {opp['fields'].get('stage')} "
                  f"(crm.create-record)")
        self.step(f"instance {inst}: COMPLETED")

    # -------------------------------------------------------- 4. marketing

    def marketing(self):
        cname = f"Demo campaign {RUN}"
        # Created active: the trigger 'campaign activated' fires on an update to active, and would fetch
        # the segment from marketing.example.com. The demo starts the instance itself, with the variables
        # that trigger gives and segmentUrl pointing at its receiver (see README.md, "The demo").
        camp = api("POST", "/v2/crm/records/campaign", {"fields": {"name": cname, "status": "active"}})
        ckey = camp["recordKey"]
        self.step(f"campaign {ckey}: '{cname}', status active")
        vars_ = {"recordType": "campaign", "recordKey": ckey, "campaignKey": ckey, "campaignName": cname}
        seg_url = f"http://127.0.0.1:{HOOK_PORT}/campaigns/{ckey}/segment"
        if self.hook.ours:
            vars_["segmentUrl"] = seg_url
        else:
            vars_["contacts"] = SEGMENT
        inst = api("POST", "/v2/process-instances", {"processDefinitionId": "crm-campaign",
                                                      "variables": vars_})["processInstanceKey"]
        if self.hook.ours:
            self.step(f"instance {inst} of crm-campaign started with segmentUrl {seg_url}")
            call = wait_for("the segment request at the webhook receiver",
                            lambda: next((c for c in self.hook.calls if c["path"].startswith(
                                f"/campaigns/{ckey}/segment")), None))
            job = job_key_of(inst, "http.request")
            self.step(f"segment service: GET {call['path']} (Idempotency-Key {call['idempotency_key']}) "
                      f"answered {len(SEGMENT)} contacts")
            if call["idempotency_key"] != job:
                raise Fail(f"the Idempotency-Key {call['idempotency_key']} is not the http.request job's key {job}")
            self.step(f"the Idempotency-Key is the key of the http.request job {job}")
        else:
            self.step(f"instance {inst} of crm-campaign started with its contacts (port {HOOK_PORT} is taken: "
                      f"no segment service)")

        wait_for(f"{len(SEGMENT)} waits for a response",
                 lambda: len(elements(inst, "await_response", "ACTIVE")) >= len(SEGMENT))
        self.mail("the campaign emails", inst, "email.send", lambda m: m["subject"] == cname, len(SEGMENT))

        who = SEGMENT[0]
        api("POST", "/v2/messages/publication", {"name": "campaign-response", "correlationKey": f"{ckey}:{who}",
                                                 "timeToLive": 60000, "variables": {"channel": "webhook"}})
        self.step(f"response webhook: published campaign-response, correlation key {ckey}:{who}")
        wait_for(f"{who}'s branch ended", lambda: elements(inst, "responded_end", "COMPLETED"))

        # An inner instance that ended has handed {contact, responded} to the output collection
        # `results` (on the multi-instance body); the open ones still have their local `responded`.
        results = [json.loads(api("GET", f"/v2/variables/{v['variableKey']}")["value"])
                   for v in variables(inst, "results")]
        mine = [r for rs in results for r in (rs or []) if r and r.get("contact") == who]
        if not mine or mine[0].get("responded") is not True:
            raise Fail(f"{who}: not in the results as responded ({results})")
        self.step(f"{who}: marked responded (results: {json.dumps(mine[0])})")
        contacts = {v["scopeKey"]: json.loads(v["value"]) for v in variables(inst, "contact")}
        responded = {v["scopeKey"]: json.loads(v["value"]) for v in variables(inst, "responded")}
        state = {contacts[s]: responded.get(s) for s in contacts}
        def pending_timers():
            h = [x for x in history(inst) if x.get("elementId") == "no_response"]
            gone = {x["key"] for x in h if x["kind"] in ("TIMER_CANCELED", "TIMER_TRIGGERED")}
            return [x for x in h if x["kind"] == "TIMER_CREATED" and x["key"] not in gone]
        wait_for("the others at the 3-day timer", lambda: len(pending_timers()) == len(SEGMENT) - 1)
        if len(elements(inst, "await_response", "ACTIVE")) != len(SEGMENT) - 1:
            raise Fail(f"not {len(SEGMENT) - 1} contacts waiting at the event-based gateway")
        for c in SEGMENT[1:]:
            if state.get(c) is not False:
                raise Fail(f"{c}: responded is {state.get(c)!r}, not false")
            self.step(f"{c}: no response yet; waits 3 days (P3D) for the follow-up email")
        self.step(f"instance {inst}: {instance_state(inst)} until the follow-ups; then crm.update-record marks "
                  f"campaign {ckey} completed")


def main():
    out(f"crmflow CRM demo against {URL}")
    try:
        me = api("GET", "/v2/crm/me")
    except Fail as e:
        out(f"the server does not answer as expected: {e}")
        return 1
    out(f"  signed in as {me.get('name')} ({me.get('role')})")
    sink, hook = Sink(SMTP_PORT), Hook(HOOK_PORT)
    out(f"  SMTP sink on 127.0.0.1:{SMTP_PORT}" if sink.ours else
        f"  something listens on 127.0.0.1:{SMTP_PORT} already: the demo cannot check the mails "
        "(it checks that the email.send jobs completed)")
    out(f"  webhook receiver on 127.0.0.1:{HOOK_PORT}" if hook.ours else
        f"  something listens on 127.0.0.1:{HOOK_PORT} already: the campaign starts with its contacts "
        "instead of fetching the segment")
    d = Demo(sink, hook)
    d.run("1. order: an order over 1000 approved, handled, shipped", d.order)
    d.run("2. service: a refund ticket answered, assigned, resolved", d.service)
    d.run("3. sales: a lead assigned, qualified, converted", d.sales)
    d.run("4. marketing: a campaign's segment mailed, one response", d.marketing)
    out()
    out("summary:")
    for title, ok, why in d.results:
        out(f"  {'ok  ' if ok else 'FAIL'} {title}" + ("" if ok else f": {why}"))
    for n in d.notes:
        out(f"  note: {n}")
    failed = sum(1 for r in d.results if not r[1])
    out(f"{len(d.results) - failed} of {len(d.results)} scenarios ran through" +
        ("" if sink.ours else " (mails not checked)"))
    return 1 if failed else 0


sys.exit(main())
PY
