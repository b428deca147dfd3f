"""Where does a request for an RMA spend its time? cProfile over the Flask test client.

Seeds a fresh database (SQLite in a temporary directory, or the empty, migrated-on-the-fly
database at DATABASE_URL), sends N requests in-process (no HTTP server, no load
generator), prints milliseconds per request and SQL statements per request, then the
profile of another N requests, by cumulative time, restricted to the service's own code.

    .venv/bin/python bench/profile_rma.py [--requests 300] [--patients 2000]
"""

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import seed  # noqa: E402
from sqlalchemy import event  # noqa: E402

from compliance import create_app  # noqa: E402
from compliance.db import get_engine, make_engine  # noqa: E402
from compliance.migrations.runner import upgrade  # noqa: E402


def profile(url: str, requests: int, patients: int, folder: Path) -> None:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    seed.seed(url, patients, folder)
    app = create_app({"ENV_NAME": "production", "SECRET_KEY": "profile-" + "x" * 32,
                      "PUBLIC_URL": "https://rems.example.org",
                      "DATABASE_URL": url})
    bodies = [json.loads(b) for b in (folder / "bodies.jsonl").read_text().splitlines()]
    headers = {"Authorization": f"Bearer {(folder / 'api_key.txt').read_text().strip()}"}
    client = app.test_client()
    statements = Counter()
    event.listen(get_engine(app), "before_cursor_execute",
                 lambda *_a, **_k: statements.update(["sql"]))
    for body in bodies[:20]:  # warm up
        client.post("/api/v1/rma-requests", json=body, headers=headers)
    outcomes, before = Counter(), statements["sql"]
    started = time.perf_counter()
    for body in bodies[20:20 + requests]:
        answer = client.post("/api/v1/rma-requests", json=body, headers=headers).json
        outcomes[answer["decision"] if answer["decision"] == "authorized"
                 else "denied:" + answer["reasons"][0]["code"]] += 1
    elapsed = time.perf_counter() - started
    print(f"{url.split(':')[0]}: {elapsed / requests * 1000:.1f} ms per request, "
          f"{(statements['sql'] - before) / requests:.1f} SQL statements per request")
    print(f"outcomes: {dict(outcomes.most_common())}")
    profiler = cProfile.Profile()
    profiler.enable()
    for body in bodies[20 + requests:20 + 2 * requests]:
        client.post("/api/v1/rma-requests", json=body, headers=headers)
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(r"compliance|workflows|commit|flush", 30)
    stats.sort_stats("tottime").print_stats(15)
    print("own time by package, ms per request:")
    for package, seconds in by_package(stats).most_common():
        print(f"  {package:<28} {seconds / requests * 1000:6.2f}")
    get_engine(app).dispose()


PACKAGES = ("sqlalchemy", "sqlmodel", "pydantic", "psycopg", "werkzeug", "flask", "transitions",
            "json", "compliance", "workflows")


def by_package(stats: pstats.Stats) -> Counter:
    """Own (not cumulative) time per library, the database drivers' C calls included."""
    totals = Counter()
    for (filename, _line, function), (_cc, _nc, own, _cum, _callers) in stats.stats.items():
        name = next((p for p in PACKAGES if f"/{p}/" in filename), None)
        if name is None and filename == "~":
            name = "sqlite3 (C)" if "sqlite3" in function else "builtins (C)"
        totals[name or "other Python"] += own
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--patients", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="profile-rma-") as folder:
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/profile.db"
        profile(url, args.requests, args.patients, Path(folder))


if __name__ == "__main__":
    main()
