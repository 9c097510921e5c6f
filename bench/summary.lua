-- Shared by the wrk scripts: at the end of a run, print one machine-readable line
--   WRKJSON {"requests":N,"secs":S,"rps":R,"p50_ms":..,"p99_ms":..,"non2xx":..,"socket":..}
-- non2xx is wrk's "status" error count (answers with status >= 400); socket errors are
-- connect + read + write + timeout.
function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'WRKJSON {"requests":%d,"secs":%.3f,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,' ..
    '"non2xx":%d,"socket":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.status, e.connect + e.read + e.write + e.timeout,
    e.connect, e.read, e.write, e.timeout))
end
