-- wrk script for `make bench` (bench/wrk.py): requests the paths listed one per line in the file
-- given after `--` (a random one each time, so a status scenario spreads over every swap), and
-- prints one JSON line prefixed `WRK_JSON ` at the end for bench/wrk.py to parse.
local paths = {}

function init(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    if #line > 0 then paths[#paths + 1] = line end
  end
  file:close()
  -- wrk threads are separate Lua states: give each its own random sequence.
  math.randomseed(tonumber(tostring(paths):match("0x(%x+)") or "7", 16) % 2147483647)
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, '
      .. '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
      .. '"max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
