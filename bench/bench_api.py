"""Load benchmark: POST /api/v1/rma-requests under gunicorn, against a floor, on each database.

For PostgreSQL (TEST_DATABASE_URL, e.g. from scripts/with-test-postgres; skipped when unset)
and then SQLite (a file in a temporary directory): migrate, seed 10,000 patients
(bench/seed.py), start the service (`gunicorn -w N wsgi:app`, sync workers, production
settings) and the floor app (bench/floor_app.py, one indexed read and one insert in one
transaction), each with the same N workers, on loopback, then measure:

1. the floor at a fixed 100 requests per second for 10 s, open loop (bench/openloop.py);
2. maximum throughput with wrk (2 threads, 8 connections), in turns: the floor for 5 s
   (bench/floor.lua), then RMA requests (bench/rma.lua), three times, and the floor once
   more. Each RMA turn's ratio is taken against the mean of the floor runs on either side
   of it, and the ratio reported is the median of the three: the host of a shared machine
   has drifted by a quarter within a minute, and turns of seconds see much less of that
   than one long run of each. Each RMA body is sent once: a patient asked twice gets a
   cheaper denial, which would flatter the figure, so a one-second probe on the real mix
   sets how long the turns last: half a turn's share of the distinct bodies at the probe's
   rate, in whole seconds, at least one (a turn has run more than a third faster than its
   probe; the probe's own 1,000 bodies may repeat on a machine faster than that, which
   only shortens the turns). Should a turn outrun its share anyway, the summary says how
   many requests repeated a body. A
   second of the floor before each of its runs drains what the RMA turn left in flight;
3. RMA requests at a fixed rate, open loop: half the maximum for 10 s when that is below
   100 per second (latency below saturation) and the turns left enough bodies unsent (it is
   skipped otherwise), then 100 per second for 15 s; then the
   floor at 100 per second again, to tell a slow spell of the machine from the service's;
4. the peak resident memory (VmHWM) of every gunicorn worker, polled during the runs.

Before the runs, the disk's flush latency (bench/flushes.py, 10 s, in the bench's folder):
every PostgreSQL commit waits for one flush, so a fixed-rate p99 cannot beat the disk's
tail. When both the RMA requests and the floor miss the p99 target, the summary says so.

N is the production setting the README gives, two sync workers per core: a sync worker
holds its request through every query to the database, so with one worker per core a
core idles while its worker waits. `--workers` sets another N (at least 2).

Prints a summary with the targets (RMA/floor throughput ratio >= 0.45 on PostgreSQL; p99 <= 20 ms at
100 req/s). A missed target is reported, not fatal; only a crash exits non-zero.

    .venv/bin/python bench/bench_api.py [--seconds 15] [--rate 100] [--patients 10000]
"""

import argparse
import json
import logging
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import floor_app  # noqa: E402
import machine  # noqa: E402
import openloop  # noqa: E402
import report  # noqa: E402
import seed  # noqa: E402
from servers import MemoryWatch, Server  # noqa: E402
from sqlalchemy import select  # noqa: E402
from wrk_runs import combined, wrk  # noqa: E402

from compliance.db import make_engine  # noqa: E402
from compliance.migrations.runner import upgrade  # noqa: E402
from compliance.models import RmaRequest  # noqa: E402

WARMUP_SECONDS = 3
ROUNDS = 3  # RMA maxima, each between two of the floor's
FLOOR_SECONDS = 5
PROBE_BODIES = 1000


def decisions(url: str, since: datetime) -> dict:
    """What the measured RMA requests got: authorized, or denied with their first reason."""
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(RmaRequest.decision, RmaRequest.reasons)
                                  .where(RmaRequest.requested_at >= since)).all()
    engine.dispose()
    counts = Counter(decision if decision == "authorized" else
                     f"denied:{reasons[0]['code'] if reasons else '?'}"
                     for decision, reasons in rows)
    return dict(counts.most_common())


def measure(api: Server, floor: Server, work: Path, bodies: list[str],
            args: argparse.Namespace) -> dict:
    """The runs: the floor's fixed rate, then floor and RMA maxima in turns, then the RMA's
    fixed rates."""
    fixed_count = int(args.rate * args.seconds)
    probe, pool, fixed = (bodies[:PROBE_BODIES], bodies[PROBE_BODIES:-fixed_count],
                          bodies[-fixed_count:])
    key_file = work / "api_key.txt"
    wrong_birth_date = {"patient_date_of_birth": "1970-01-02"}  # denied: no such patient
    warmup = _lines(work / "warmup.jsonl", [json.dumps(json.loads(b) | wrong_birth_date)
                                            for b in bodies[:200]])
    with MemoryWatch([api, floor]):
        wrk(floor.url, BENCH / "floor.lua", WARMUP_SECONDS, args)
        floor_fixed = openloop.run(floor.url + "/floor", rate=args.rate,
                                   seconds=args.floor_fixed_seconds)
        print(f"floor at {args.rate:g}/s: {json.dumps(floor_fixed)}", flush=True)
        wrk(api.url, BENCH / "rma.lua", WARMUP_SECONDS, args,
            _rma_args(warmup, key_file, args, 200))
        measured_from = datetime.now(UTC)
        # A patient asked twice gets a cheaper denial, so the maximum is measured on first
        # requests only: a one-second probe on the real mix sets how long the pool lasts,
        # with a margin (a turn has run more than a third faster than its probe).
        probed = wrk(api.url, BENCH / "rma.lua", 1, args,
                     _rma_args(_lines(work / "probe.jsonl", probe), key_file, args))
        share = 0.5 * len(pool) / ROUNDS / max(probed["rps"], 1)
        seconds = max(1, min(args.seconds, int(share)))
        floors, rmas, unused = [_floor_max(floor, args)], [], []
        for turn, chunk in enumerate(_chunks(pool, ROUNDS), 1):
            rma_run = wrk(api.url, BENCH / "rma.lua", seconds, args,
                          _rma_args(_lines(work / f"pool-{turn}.jsonl", chunk), key_file, args))
            print(f"RMA max throughput, turn {turn} ({seconds:g} s on {len(chunk)} distinct "
                  f"requests): {json.dumps(rma_run)}", flush=True)
            rmas.append(rma_run)
            unused += chunk[rma_run["unsent_from"]:]
            floors.append(_floor_max(floor, args))
        headers = {"Content-Type": "application/json",
                   "Authorization": f"Bearer {key_file.read_text().strip()}"}
        rma_max = combined(rmas)
        half = max(1, round(rma_max["rps"] / 2))
        rma_half = None
        if half < args.rate and len(unused) >= half * args.floor_fixed_seconds:
            rma_half = openloop.run(api.url + "/api/v1/rma-requests", rate=half,
                                    seconds=args.floor_fixed_seconds, bodies=unused,
                                    headers=headers)  # latency below saturation
            print(f"RMA at {half}/s (half the maximum): {json.dumps(rma_half)}",
                  flush=True)
        rma_fixed = openloop.run(api.url + "/api/v1/rma-requests", rate=args.rate,
                                 seconds=args.seconds, bodies=fixed, headers=headers)
        print(f"RMA at {args.rate:g}/s: {json.dumps(rma_fixed)}", flush=True)
        floor_fixed_after = openloop.run(floor.url + "/floor", rate=args.rate,
                                         seconds=args.floor_fixed_seconds)
        print(f"floor at {args.rate:g}/s, after: {json.dumps(floor_fixed_after)}", flush=True)
    ratios = [_ratio(rma, before, after)
              for rma, before, after in zip(rmas, floors, floors[1:], strict=False)]
    return {"rma_max": rma_max, "rma_half": rma_half, "rma_fixed": rma_fixed,
            "floor_max": combined(floors), "floor_fixed": floor_fixed,
            "floor_fixed_after": floor_fixed_after,
            "ratios": [round(ratio, 3) for ratio in ratios],
            "ratio": round(statistics.median(ratios), 3), "measured_from": measured_from,
            "rma_peak_mb": api.peak_mb(), "floor_peak_mb": floor.peak_mb()}


def _ratio(rma: dict, before: dict, after: dict) -> float:
    """A turn's throughput over the mean of the floor runs on either side of it."""
    floor_rps = (before["rps"] + after["rps"]) / 2
    return rma["rps"] / floor_rps if floor_rps else 0.0


def _floor_max(floor: Server, args: argparse.Namespace) -> dict:
    """One floor maximum, after a second's warm-up that also drains what an RMA run before
    it left in flight."""
    wrk(floor.url, BENCH / "floor.lua", 1, args)
    found = wrk(floor.url, BENCH / "floor.lua", FLOOR_SECONDS, args)
    print(f"floor max throughput: {json.dumps(found)}", flush=True)
    return found


def _chunks(items: list, count: int) -> list[list]:
    size = len(items) // count
    return [items[n * size:(n + 1) * size] for n in range(count)]


def _lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _rma_args(bodies: Path, key: Path, args: argparse.Namespace,
              limit: int | None = None) -> list[str]:
    count = limit or sum(1 for _ in bodies.open())
    return [str(bodies), str(key), str(args.threads), str(count)]


def bench_database(label: str, url: str, work: Path, args: argparse.Namespace) -> dict:
    """Migrate, seed, serve and measure one database; servers are stopped whatever happens."""
    print(f"\n=== {label} ===", flush=True)
    started = time.perf_counter()
    engine = make_engine(url)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    upgrade(engine)
    floor_app.prepare(engine)
    engine.dispose()
    seeded = seed.seed(url, args.patients, work)
    print(f"seeded in {time.perf_counter() - started:.0f} s: {json.dumps(seeded['kinds'])}",
          flush=True)
    bodies = (work / "bodies.jsonl").read_text().splitlines()
    env = os.environ | {"COMPLIANCE_ENV": "production", "SECRET_KEY": secrets.token_hex(32),
                        "PUBLIC_URL": "https://rems.example.org",
                        "DATABASE_URL": url}
    with ExitStack() as stack:
        api = Server(f"{label} service", "wsgi:app", env, ROOT, work / "service.log",
                     args.workers)
        stack.callback(api.stop)
        floor = Server(f"{label} floor", "floor_app:create_app()", env, BENCH,
                       work / "floor.log", args.workers)
        stack.callback(floor.stop)
        api.wait_ready("/api/v1/", args.workers)
        floor.wait_ready("/", args.workers)
        result = measure(api, floor, work, bodies, args)
    result |= {"database": label, "seed": seeded,
               "server_errors_logged": api.errors_logged() + floor.errors_logged()}
    result["decisions"] = decisions(url, result.pop("measured_from"))
    print(f"decisions: {json.dumps(result['decisions'])}", flush=True)
    result["seconds"] = round(time.perf_counter() - started)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15,
                        help="the RMA run at the fixed rate, and the longest an RMA turn may last")
    parser.add_argument("--floor-fixed-seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=100, help="the fixed rate, req/s")
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=max(2, 2 * len(os.sched_getaffinity(0))),
                        help="gunicorn workers for each app (default: two per core it may use)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.workers < 2:
        parser.error("--workers must be at least 2")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (make bench does it)")
    pg_url = os.environ.get("TEST_DATABASE_URL", "")
    pg_url = pg_url if pg_url.startswith("postgresql") else None
    described = machine.describe(pg_url)
    print(json.dumps(described), flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-api-") as folder:
        described["disk_flush"] = machine.disk_flush(Path(folder), pg_url)
        print(f"disk flush (8 kB, fdatasync): {json.dumps(described['disk_flush'])}",
              flush=True)
        if pg_url:
            (Path(folder) / "pg").mkdir()
            results.append(bench_database("PostgreSQL", pg_url, Path(folder) / "pg", args))
        else:
            print("!! PostgreSQL skipped: TEST_DATABASE_URL is not set "
                  "(run through scripts/with-test-postgres)", flush=True)
        (Path(folder) / "sqlite").mkdir()
        results.append(bench_database("SQLite", f"sqlite:///{folder}/sqlite/bench.db",
                                      Path(folder) / "sqlite", args))
    print("\n" + report.summary(results, args, described["disk_flush"]))
    if args.json:
        args.json.write_text(json.dumps({"machine": described, "results": results}, indent=2))


if __name__ == "__main__":
    main()
