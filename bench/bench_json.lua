-- The "BENCH_JSON {...}" line both wrk scripts print from done(), which bench/wrk_runs.py
-- reads: wrk's counts and errors, the run's span (bench/clock.lua), the latency percentiles
-- in microseconds, and the script's own counts, given as {name, value} pairs in order.

local clock = require("clock")

local bench_json = {}

function bench_json.write(summary, latency, threads, counts)
  local errors = summary.errors
  local fields = {
    {"requests", summary.requests}, {"duration_us", summary.duration},
    {"active_us", clock.active_us(threads)},
  }
  for _, pair in ipairs(counts) do
    fields[#fields + 1] = pair
  end
  for _, pair in ipairs({
    {"connect_errors", errors.connect}, {"read_errors", errors.read},
    {"write_errors", errors.write}, {"timeouts", errors.timeout},
    {"p50_us", latency:percentile(50)}, {"p90_us", latency:percentile(90)},
    {"p95_us", latency:percentile(95)}, {"p99_us", latency:percentile(99)},
    {"max_us", latency.max},
    {"mean_us", math.floor(latency.mean + 0.5)},
  }) do
    fields[#fields + 1] = pair
  end
  local parts = {}
  for _, pair in ipairs(fields) do
    parts[#parts + 1] = string.format('"%s": %d', pair[1], pair[2])
  end
  io.write("BENCH_JSON {" .. table.concat(parts, ", ") .. "}\n")
end

return bench_json
