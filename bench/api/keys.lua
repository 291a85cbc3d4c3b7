-- wrk script: each request takes the next key from the file named by env KEYS and sends
-- METHOD PATH (PATH has %s for the key) with BODY, round robin over the keys (a key is used once
-- per pass; for completions the pass must not wrap: give at least as many keys as requests).
local keys = {}
local method = os.getenv("METHOD") or "GET"
local path = os.getenv("PATHFMT")
local body = os.getenv("BODY")
local token = os.getenv("TOKEN")
local i = 0
local step = 1

function setup(thread)
  thread:set("tid", tostring(#(_G.threads or {})))
  _G.threads = _G.threads or {}
  table.insert(_G.threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("KEYS")) do keys[#keys + 1] = line end
  local n = tonumber(os.getenv("THREADS") or "1")
  i = tonumber(tid) or 0
  step = n
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  i = i + step
  local k = keys[((i - 1) % #keys) + 1]
  return wrk.format(method, string.format(path, k), nil, body)
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d seconds=%.2f rps=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
