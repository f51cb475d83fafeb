-- The request (method and body from the environment, so no quoting goes through a command
-- line; headers come with -H) and, once the run ends, the figures bench/support/http-load.ts
-- parses, as one JSON line. Top-level code runs in every thread's Lua state before wrk
-- builds its request, which is where wrk's own POST example sets method and body too.
local method = os.getenv("WRK_METHOD")
if method and method ~= "" then wrk.method = method end
local bodyFile = os.getenv("WRK_BODY_FILE")
if bodyFile and bodyFile ~= "" then
  local file = assert(io.open(bodyFile, "rb"))
  wrk.body = file:read("*a")
  file:close()
end

done = function(s, latency, requests)
  io.write(string.format(
    'WRK_SUMMARY {"requests":%d,"durationUs":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50Us":%d,"p99Us":%d}\n',
    s.requests, s.duration, s.bytes, s.errors.connect, s.errors.read, s.errors.write, s.errors.status,
    s.errors.timeout, latency:percentile(50), latency:percentile(99)))
end
