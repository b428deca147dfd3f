"""Instructions per request, counted by valgrind: a figure a noisy shared host cannot move.

Throughput on a shared machine drifts with the neighbours (bench/README.md says by how
much); instruction counts do not. For the RMA request and for the floor (bench/floor_app.py),
this seeds a database once, then runs the app in-process under `valgrind --tool=callgrind`
twice, for N and 3N requests (each run on a fresh copy of the seeded database, after the
same 20-request warm-up), and prints the difference divided by 2N: the instructions the
service's own process spends per request, start-up excluded. On SQLite that includes the
database's work; on PostgreSQL (DATABASE_URL) the server's share is not counted.

    .venv/bin/python bench/instructions.py [--requests 30] [--patients 2000]
"""

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

WARMUP = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--child", nargs=3, metavar=("WHAT", "URL", "COUNT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install -y valgrind")
    if args.child:
        what, url, count = args.child
        _serve(what, url, int(count), Path(os.environ["BENCH_WORK"]))
        return
    with tempfile.TemporaryDirectory(prefix="instructions-") as folder:
        work = Path(folder)
        seeded = _seed(os.environ.get("DATABASE_URL", ""), args.patients, work)
        for what in ("rma", "floor"):
            low = _count(what, _copy(seeded, work, args.requests), work)
            high = _count(what, _copy(seeded, work, 3 * args.requests), work)
            per_request = (high - low) / (2 * args.requests)
            print(f"{what}: {per_request / 1e6:.2f} M instructions per request", flush=True)


def _seed(server_url: str, patients: int, work: Path) -> str:
    import floor_app
    import seed

    from compliance.db import make_engine
    from compliance.migrations.runner import upgrade

    url = server_url or f"sqlite:///{work}/seeded.db"
    engine = make_engine(url)
    upgrade(engine)
    floor_app.prepare(engine)
    engine.dispose()
    seed.seed(url, patients, work)
    return url


def _copy(url: str, work: Path, count: int) -> tuple[str, int]:
    """A fresh copy of the seeded database for one run (PostgreSQL: from it as a template,
    dropped again after the run)."""
    if url.startswith("sqlite"):
        copy = work / f"run-{count}.db"
        copy.write_bytes(Path(url.removeprefix("sqlite:///")).read_bytes())
        return f"sqlite:///{copy}", count
    base, _, name = url.rpartition("/")
    _on_server(base, f'DROP DATABASE IF EXISTS "{name}_{count}"',
               f'CREATE DATABASE "{name}_{count}" TEMPLATE "{name}"')
    return f"{base}/{name}_{count}", count


def _on_server(base: str, *statements: str) -> None:
    from sqlalchemy import text

    from compliance.db import make_engine

    engine = make_engine(f"{base}/postgres")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for statement in statements:
            connection.execute(text(statement))
    engine.dispose()


def _count(what: str, copy: tuple[str, int], work: Path) -> int:
    url, count = copy
    out = work / f"callgrind-{what}-{count}.out"
    done = subprocess.run(  # noqa: S603
        [shutil.which("valgrind"), "--tool=callgrind", f"--callgrind-out-file={out}",
         sys.executable, __file__, "--child", what, url, str(count)],
        env=os.environ | {"BENCH_WORK": str(work)}, capture_output=True, text=True, check=True)
    if not url.startswith("sqlite"):
        base, _, name = url.rpartition("/")
        _on_server(base, f'DROP DATABASE IF EXISTS "{name}"')
    return int(re.search(r"Collected : (\d+)", done.stderr)[1])


def _serve(what: str, url: str, count: int, work: Path) -> None:
    """Send WARMUP + count requests straight to the WSGI app, as gunicorn would."""
    if what == "rma":
        from compliance import create_app

        app = create_app({"ENV_NAME": "production", "SECRET_KEY": "instructions-" + "x" * 32,
                          "PUBLIC_URL": "https://rems.example.org",
                          "DATABASE_URL": url})
        bodies = (work / "bodies.jsonl").read_text().splitlines()
        requests = [("/api/v1/rma-requests", body.encode()) for body in bodies]
    else:
        import floor_app

        app = floor_app.create_app(url)
        requests = [(f"/floor/{n}", b"") for n in range(WARMUP + count)]
    key = (work / "api_key.txt").read_text().strip()
    for path, body in requests[:WARMUP + count]:
        b"".join(app(_environ(path, body, key), lambda *_: None))


def _environ(path: str, body: bytes, key: str) -> dict:
    return {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": f"Bearer {key}", "HTTP_HOST": "127.0.0.1:8000",
            "REMOTE_ADDR": "127.0.0.1", "wsgi.multithread": False, "wsgi.multiprocess": True,
            "wsgi.run_once": False}


if __name__ == "__main__":
    main()
