-- Printed by wrk once a run ends: the figures bench/support/http-load.ts parses, as one JSON line.
done = function(s, latency, requests)
  io.write(string.format(
    'WRK_SUMMARY {"requests":%d,"durationUs":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50Us":%d,"p99Us":%d}\n',
    s.requests, s.duration, s.bytes, s.errors.connect, s.errors.read, s.errors.write, s.errors.status,
    s.errors.timeout, latency:percentile(50), latency:percentile(99)))
end
