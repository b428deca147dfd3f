"""Load and overload: 200 pharmacy connections asking for RMAs for 10 minutes, then the
same integrity checks as the crash test.

On a new PostgreSQL database (TEST_DATABASE_URL, from scripts/with-test-postgres): migrate,
seed patients (bench/seed.py), serve the API with gunicorn in production settings (two
sync workers per core), and drive POST /api/v1/rma-requests with wrk: 200 connections,
each sending the next body as soon as its answer comes (bench/rma.lua; a body sent again
once all were sent gets its denial, as a repeated request would). Bodies with a wrong date
of birth are left out: ten misses in 15 minutes stop a pharmacy's lookups, by design.

Passes when the p95 latency is under 500 ms, fewer than 0.1% of the requests fail (a
socket error, a timeout or an answer other than 201), no request, RMA or audit event is
half-written, and `flask audit seal` then `flask audit verify` pass. Overload itself (an
exhausted pool answering 503 with `Retry-After` at once, not hanging) is tests/test_overload.py.

    scripts/with-test-postgres .venv/bin/python bench/load_test.py [--seconds 600]
"""

import argparse
import json
import os
import secrets
import sys
import time
from argparse import Namespace
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from crash_test import Journal, audit_verifies, check, prepared  # noqa: E402
from servers import Server  # noqa: E402
from wrk_runs import BENCH, wrk  # noqa: E402

P95_MS = 500
ERROR_SHARE = 0.001


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    args = parser.parse_args()
    url, work, seeded, before = prepared("load test", args.patients)
    bodies = [line for line in (work / "bodies.jsonl").read_text().splitlines()
              if '"1970-01-01"' not in line]
    (work / "right.jsonl").write_text("\n".join(bodies) + "\n")
    env = os.environ | {"COMPLIANCE_ENV": "production", "SECRET_KEY": secrets.token_hex(32),
                        "PUBLIC_URL": "https://rems.example.org", "DATABASE_URL": url}
    started = time.monotonic()
    with ExitStack() as stack:
        server = Server("service", "wsgi:app", env, ROOT, work / "service.log", args.workers)
        stack.callback(server.stop)
        server.wait_ready("/api/v1/", args.workers)
        found = wrk(server.url, BENCH / "rma.lua", args.seconds,
                    Namespace(threads=2, connections=args.connections),
                    [str(work / "right.jsonl"), str(work / "api_key.txt"), "2",
                     str(len(bodies))])
        logged = server.errors_logged()
    failed = found["errors"] + found["unexpected_status"]
    problems = check(url, Journal(), before)
    intact, verdict = audit_verifies(url)
    verdicts = {"p95 under 500 ms": found["p95_ms"] < P95_MS,
                "failures under 0.1%": failed < ERROR_SHARE * max(found["requests"], 1),
                "nothing half-written": not problems, "audit verify": intact}
    print(json.dumps({"seeded_patients": seeded["patients"], "connections": args.connections,
                      "workers": args.workers, "seconds": args.seconds,
                      "requests": found["requests"], "rps": found["rps"],
                      "p50_ms": found["p50_ms"], "p95_ms": found["p95_ms"],
                      "p99_ms": found["p99_ms"], "max_ms": found["max_ms"],
                      "failed": failed, "repeated_bodies": found["repeated"],
                      "server_errors_logged": logged, "half_written": len(problems),
                      "audit_verify": "OK" if intact else verdict, "verdicts": verdicts,
                      "wall_s": round(time.monotonic() - started, 1)}, indent=2))
    for problem in problems[:20]:
        print("  " + problem)
    if not all(verdicts.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
