-- wrk script for the floor app (bench/floor_app.py): POST /floor/N with N rotating, so each
-- request reads one indexed row and inserts one row in one transaction.
--
--   wrk -t2 -c8 -d15s -s bench/floor.lua http://127.0.0.1:PORT
--
-- done() prints the same "BENCH_JSON {...}" line as bench/rma.lua, less its "repeated".

local folder = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = folder .. "?.lua;" .. package.path
local clock = require("clock")

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  first_us = 0
  last_us = 0
  position = id * 7919
  other = 0
end

function request()
  if first_us == 0 then
    first_us = clock.now_us()
  end
  position = position + 1
  return wrk.format("POST", "/floor/" .. position, {["Content-Length"] = "0"}, "")
end

function response(status, headers, body)
  last_us = clock.now_us()
  if status ~= 201 then
    other = other + 1
  end
end

function done(summary, latency, requests)
  local unexpected = 0
  for _, thread in ipairs(threads) do
    unexpected = unexpected + thread:get("other")
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "active_us": %d, "unexpected_status": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.0f}\n',
    summary.requests, summary.duration, clock.active_us(threads), unexpected,
    errors.connect, errors.read, errors.write, errors.timeout, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
