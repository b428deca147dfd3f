-- A monotonic clock in microseconds for the wrk scripts (LuaJIT's ffi; wrk's Lua has no
-- clock of its own finer than a second).
--
-- The scripts time their own runs with it: wrk's reported duration runs from its start to
-- the last thread's stop, which it checks every 100 ms, and now and then includes a tail of
-- about 100 ms in which no response arrived (seen in a third of one-second runs), which
-- would take up to a tenth off a short run's throughput. The time from the first request
-- to the last response has no such tail.

local ffi = require("ffi")

ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *now);
]]

local CLOCK_MONOTONIC = 1
local now = ffi.new("bench_timespec")

local clock = {}

function clock.now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now)
  return tonumber(now.tv_sec) * 1000000 + tonumber(now.tv_nsec) / 1000
end

-- Called from a script's request() and response(): each wrk thread keeps its first request
-- and its last response in the globals `first_us` and `last_us`, which active_us() reads.
function clock.sent()
  if (first_us or 0) == 0 then
    first_us = clock.now_us()
  end
end

function clock.answered()
  last_us = clock.now_us()
end

-- The span from the earliest first request to the latest response over wrk's threads.
function clock.active_us(threads)
  local first, last = math.huge, 0
  for _, thread in ipairs(threads) do
    local started = thread:get("first_us") or 0
    if started > 0 then
      first = math.min(first, started)
      last = math.max(last, thread:get("last_us"))
    end
  end
  return last > first and last - first or 0
end

return clock
