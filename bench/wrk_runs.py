"""wrk runs for the benchmark: one run with its BENCH_JSON line read back (bench/rma.lua and
bench/floor.lua print it), and several runs taken as one."""

import argparse
import json
import statistics
import subprocess
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def wrk(url: str, script: Path, seconds: float, args: argparse.Namespace,
        script_args: list[str] = ()) -> dict:
    """One wrk run; returns its BENCH_JSON line with requests per second and milliseconds.

    The throughput is over the scripts' own span, from the first request to the last
    response (`active_us`, bench/clock.lua), not over wrk's duration: that one now and then
    ends with about 100 ms in which nothing was answered, a tenth of a one-second turn."""
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds:g}s",
               "--timeout", "10s", "-s", str(script), url]
    if script_args:
        command += ["--", *script_args]
    done = subprocess.run(command, capture_output=True, text=True,  # noqa: S603
                          timeout=seconds + 60, cwd=BENCH.parent, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON "))
    found = json.loads(line.removeprefix("BENCH_JSON "))
    found["rps"] = round(found["requests"] / (found["active_us"] / 1e6), 1) \
        if found["active_us"] else 0.0
    found["errors"] = sum(found.pop(k) for k in ("connect_errors", "read_errors",
                                                 "write_errors", "timeouts"))
    for name in ("p50", "p90", "p95", "p99", "max"):
        found[f"{name}_ms"] = round(found.pop(f"{name}_us") / 1000, 2)
    found.pop("mean_us")
    return found


def combined(runs: list[dict]) -> dict:
    """Runs of wrk as one: the throughput over their total time, the median p50 and the
    worst p99 and maximum (percentiles of separate runs cannot be merged exactly)."""
    requests = sum(run["requests"] for run in runs)
    active = sum(run["active_us"] for run in runs)
    return {"runs": len(runs), "requests": requests, "active_us": active,
            "rps": round(requests / (active / 1e6), 1) if active else 0.0,
            "rps_each": [run["rps"] for run in runs],
            "p50_ms": statistics.median(run["p50_ms"] for run in runs),
            "p99_ms": max(run["p99_ms"] for run in runs),
            "max_ms": max(run["max_ms"] for run in runs),
            **{key: sum(run.get(key, 0) for run in runs)
               for key in ("unexpected_status", "errors", "repeated")}}
