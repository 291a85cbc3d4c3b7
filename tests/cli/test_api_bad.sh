#!/usr/bin/env bash
# The bad-request corpus (tests/api/bad_requests.tsv) against a running `crmflow serve`: every
# request gets the status it should, as problem+json (title the Camunda name of the status,
# instance the path, a detail naming what is wrong); then requests no client should send (a body
# nested 10,000 deep, a resource over 4 MiB, a body over --max-body, bytes that are not HTTP, a
# connection closed mid-request); and after all of it the server still answers, its work goes on,
# and it stops cleanly.
set -u
bin="$1"
src="${CF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crmflow-test-bad.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
db="$tmp/bad.db"
fail() { printf 'FAIL %s\n' "$1"; [ -f "$tmp/log" ] && tail -20 "$tmp/log" | sed 's/^/    serve: /'; exit 1; }

for role in admin designer worker viewer; do
  "$bin" token create --db "$db" --name "$role" --role "$role" >"$tmp/tok.$role" 2>/dev/null || fail "token create $role"
done
"$bin" group create --db "$db" sales || fail "group create"
"$bin" user create --db "$db" ann --role agent --groups sales || fail "user create"
"$bin" token create --db "$db" --name ann --role agent --user ann >"$tmp/tok.agent" 2>/dev/null || fail "token create agent"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --db "$db" --listen "127.0.0.1:$port" --max-body 8388608 2>"$tmp/log" &
pid=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$tmp/tok.admin")" \
  -F "resources=@$src/tests/fixtures/api_order.bpmn" "http://127.0.0.1:$port/v2/deployments" | grep -q 200 ||
  fail "deploying the test model"

# A long poll whose client gives up must not take the next job for nobody.
A="Authorization: Bearer $(cat "$tmp/tok.worker")"
curl -s -o /dev/null --max-time 0.5 -H "$A" -H 'Content-Type: application/json' "http://127.0.0.1:$port/v2/jobs/activation" \
  -d '{"type":"api.charge","timeout":60000,"maxJobsToActivate":1,"requestTimeout":8000}'
sleep 1.2
curl -s -o /dev/null -H "Authorization: Bearer $(cat "$tmp/tok.admin")" -H 'Content-Type: application/json' \
  "http://127.0.0.1:$port/v2/process-instances" -d '{"processDefinitionId":"api_order","variables":{"orderId":"gone"}}'
"$bin" jobs activate --db "$db" --type api.charge --worker after-gone --json >"$tmp/jobs.json" 2>&1 ||
  fail "an abandoned long poll took the job: $(cat "$tmp/jobs.json")"
grep -q '"gone"' "$tmp/jobs.json" || fail "the job is not there: $(cat "$tmp/jobs.json")"

python3 - "$src/tests/api/bad_requests.tsv" "$port" "$tmp" <<'PY' || fail "the corpus"
import base64, http.client, json, socket, sys, time
corpus, port, tmp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
tok = {r: open(f"{tmp}/tok.{r}").read().strip() for r in ("admin", "designer", "worker", "viewer", "agent")}
titles = {400: "INVALID_ARGUMENT", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
          405: "METHOD_NOT_ALLOWED", 409: ("INVALID_STATE", "ALREADY_EXISTS"), 413: "PAYLOAD_TOO_LARGE",
          503: ("RESOURCE_EXHAUSTED", "UNAVAILABLE")}
failed = 0
def send(method, path, auth, ctype, body):
    h = {}
    if auth in tok: h["Authorization"] = "Bearer " + tok[auth]
    elif auth == "junk": h["Authorization"] = "Bearer cft_nothing-like-a-real-token"
    elif auth == "basic-bad": h["Authorization"] = "Basic " + base64.b64encode(b"nobody:wrong").decode()
    if ctype: h["Content-Type"] = ctype
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r.getheader("Content-Type"), data
def check(label, want, path, got, ctype, data, needle):
    global failed
    why = None
    try:
        if got != want: why = f"status {got}, not {want}"
        elif ctype != "application/problem+json": why = f"content type {ctype}"
        else:
            d = json.loads(data)
            t = titles.get(want)
            if d.get("status") != want: why = "status field"
            elif d.get("type") != "about:blank": why = "type"
            elif t and d.get("title") not in ((t,) if isinstance(t, str) else t): why = f"title {d.get('title')}"
            elif d.get("instance") != path: why = f"instance {d.get('instance')}"
            elif needle != "-" and needle not in d.get("detail", ""): why = f"detail lacks {needle!r}"
    except Exception as e:
        why = f"body: {e}"
    if why:
        failed += 1
        print(f"FAIL {label}: {why}\n    {data[:300]!r}")
n = 0
for line in open(corpus, encoding="utf-8"):
    if not line.strip() or line.startswith("#"): continue
    status, auth, method, path, ctype, body, needle = line.rstrip("\n").split("\t")
    body = None if body == "-" else body.encode().decode("unicode_escape").encode("latin-1")
    got, ct, data = send(method, path, auth, None if ctype == "-" else ctype, body)
    check(f"{method} {path} {line.split(chr(9))[5][:60]}", int(status), path, got, ct, data, needle)
    n += 1
# Beyond the corpus.
deep = b'{"processDefinitionId":"api_order","variables":{"a":' + b"[" * 10000 + b"]" * 10000 + b"}}"
got, ct, data = send("POST", "/v2/process-instances", "admin", "application/json", deep)
check("a body nested 10,000 deep", 400, "/v2/process-instances", got, ct, data, "nested deeper"); n += 1
big = b"--B\r\nContent-Disposition: form-data; name=\"resources\"; filename=\"big.bpmn\"\r\n\r\n" + b"<" * (5 << 20) + b"\r\n--B--\r\n"
got, ct, data = send("POST", "/v2/deployments", "admin", "multipart/form-data; boundary=B", big)
check("a resource over 4 MiB", 400, "/v2/deployments", got, ct, data, "more than"); n += 1
# Over --max-body: the server answers 413 as soon as it reads Content-Length and may close before
# the client sent everything, so this one goes over a raw socket that tolerates that.
s = socket.create_connection(("127.0.0.1", port), timeout=15)
s.sendall(b"POST /v2/process-instances HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok["admin"].encode() +
          b"\r\nContent-Type: application/json\r\nContent-Length: " + str(9 << 20).encode() + b"\r\n\r\n")
try:
    s.sendall(b" " * (9 << 20))
except OSError:
    pass
resp = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk: break
        resp += chunk
        if b"\r\n\r\n" in resp:
            head, _, rest = resp.partition(b"\r\n\r\n")
            cl = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
            if cl and len(rest) >= cl[0]: break
except OSError:
    pass
s.close()
head, _, data = resp.partition(b"\r\n\r\n")
status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else 0
ct = next((l.split(b":", 1)[1].strip().decode() for l in head.split(b"\r\n") if l.lower().startswith(b"content-type:")), None)
check("a body over --max-body", 413, "/v2/process-instances", status, ct, data, "-"); n += 1
# Not HTTP at all, and a request cut off: the connection is answered or closed, nothing more.
for junk in (b"\x00\x01\x02 garbage \xff\r\n\r\n", b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
             b"POST /v2/process-instances HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"proc"):
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    s.sendall(junk)
    s.shutdown(socket.SHUT_WR)
    try:
        s.recv(4096)
    except socket.timeout:
        pass
    s.close()
    n += 1
# Still up, still working: an instance starts and its job is there.
got, ct, data = send("POST", "/v2/process-instances", "admin", "application/json",
                     b'{"processDefinitionId":"api_order","variables":{"orderId":"after"}}')
if got != 200: failed += 1; print("FAIL the server does not start instances after the corpus:", got, data[:200])
got, ct, data = send("POST", "/v2/jobs/activation", "worker", "application/json",
                     b'{"type":"api.charge","timeout":5000,"maxJobsToActivate":5,"requestTimeout":-1}')
if got != 200 or not json.loads(data)["jobs"]: failed += 1; print("FAIL no job after the corpus:", got, data[:200])
print(f"bad requests: {n - failed} of {n} answered as they should")
sys.exit(1 if failed else 0)
PY
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" | grep -q 200 || fail "/healthz after the corpus"
for t in admin designer worker viewer agent; do
  grep -qF "$(cat "$tmp/tok.$t")" "$tmp/log" && fail "a token appears in the server's log"
done
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
[ "$rc" = 0 ] || fail "serve exited $rc on SIGTERM"
echo "ok"
