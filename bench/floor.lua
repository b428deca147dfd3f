-- wrk script for the floor app (bench/floor_app.py): POST /floor/N with N rotating, so each
-- request reads one indexed row and inserts one row in one transaction.
--
--   wrk -t2 -c8 -d15s -s bench/floor.lua http://127.0.0.1:PORT
--
-- done() prints the "BENCH_JSON {...}" line of bench/bench_json.lua, as bench/rma.lua does,
-- with the count of unexpected statuses as its only count of its own.

local folder = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = folder .. "?.lua;" .. package.path
local clock = require("clock")
local bench_json = require("bench_json")

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  position = id * 7919
  other = 0
end

function request()
  clock.sent()
  position = position + 1
  return wrk.format("POST", "/floor/" .. position, {["Content-Length"] = "0"}, "")
end

function response(status, headers, body)
  clock.answered()
  if status ~= 201 then
    other = other + 1
  end
end

function done(summary, latency, requests)
  local unexpected = 0
  for _, thread in ipairs(threads) do
    unexpected = unexpected + thread:get("other")
  end
  bench_json.write(summary, latency, threads, {{"unexpected_status", unexpected}})
end
