-- wrk script: POST /api/v1/rma-requests with a pharmacy's bearer key, rotating bodies.
--
--   wrk -t2 -c8 -d15s -s bench/rma.lua http://127.0.0.1:PORT -- BODIES KEY THREADS LIMIT
--
-- BODIES holds one JSON request body per line (bench/seed.py writes it); thread k of
-- THREADS sends lines k+1, k+1+THREADS, ... among the first LIMIT lines (the rest are kept
-- for the fixed-rate run), so no body is sent twice while LIMIT lasts; a request past it
-- repeats a body and is counted as "repeated". done() prints one line "BENCH_JSON {...}"
-- with the counts, the latency percentiles (microseconds), "active_us" (from the first
-- request to the last response, bench/clock.lua) and "unsent_from": no thread took any
-- line from there on (0-based), so those are left for another run.

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
  bodies = {}
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
  local file = assert(io.open(args[2]))
  local key = file:read("*l")
  file:close()
  step = tonumber(args[3])
  limit = math.min(tonumber(args[4]) or #bodies, #bodies)
  position = id
  other = 0
  repeated = 0
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}
end

function request()
  clock.sent()
  if position >= limit then
    repeated = repeated + 1
  end
  local body = bodies[(position % limit) + 1]
  position = position + step
  return wrk.format("POST", "/api/v1/rma-requests", headers, body)
end

function response(status, headers, body)
  clock.answered()
  if status ~= 201 then
    other = other + 1
  end
end

function done(summary, latency, requests)
  local unexpected, repeats, furthest = 0, 0, 0
  for _, thread in ipairs(threads) do
    unexpected = unexpected + thread:get("other")
    repeats = repeats + thread:get("repeated")
    furthest = math.max(furthest, thread:get("position"))
  end
  bench_json.write(summary, latency, threads, {
    {"unexpected_status", unexpected}, {"repeated", repeats}, {"unsent_from", furthest},
  })
end
