"""How long the disk takes to make a small write durable: the wait inside every commit.

A PostgreSQL commit returns only once its WAL is flushed to disk (`synchronous_commit` is
`on` by default, and an authorization must survive a crash), so every write request waits
for one flush, and a slow flush holds up every commit queued behind it. On a shared virtual
disk most flushes take well under a millisecond and a few take tens or hundreds: a fixed-rate
p99 can be no better than the disk's own tail. This writes 8 kB and flushes it
(`fdatasync`, as PostgreSQL's WAL does by default on Linux), again and again with 5 ms
between flushes for a few seconds, in a folder on the disk under test, and reports the
distribution.

SQLite, in WAL mode with `synchronous=NORMAL` (`compliance/db.py`), does not flush at each
commit, only at checkpoints, so its latencies do not carry this wait.

    python bench/flushes.py [FOLDER] [--seconds 10]
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

from openloop import percentile

SLOW_MS = 20.0  # the bench's p99 target: a flush this slow alone misses it


def measure(folder: Path, seconds: float = 10, interval: float = 0.005) -> dict:
    """Flush latencies in milliseconds: percentiles, the slowest, and how many took longer
    than `SLOW_MS` (at least one flush, whatever `seconds` says)."""
    path = folder / "flush-probe.bin"
    block = os.urandom(8192)
    took = []
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        deadline = time.monotonic() + seconds
        while not took or time.monotonic() < deadline:
            started = time.perf_counter()
            os.pwrite(descriptor, block, 0)
            os.fdatasync(descriptor)
            took.append((time.perf_counter() - started) * 1000)
            time.sleep(interval)
    finally:
        os.close(descriptor)
        path.unlink()
    took.sort()
    return {"flushes": len(took), "p50_ms": round(percentile(took, 0.50), 2),
            "p99_ms": round(percentile(took, 0.99), 2),
            "p999_ms": round(percentile(took, 0.999), 2), "max_ms": round(took[-1], 2),
            f"over_{SLOW_MS:g}_ms": sum(1 for ms in took if ms > SLOW_MS)}


def same_disk(folder: Path, other: str | None) -> bool | None:
    """Whether `folder` lies on the same device as `other` (None when that cannot be told)."""
    if not other:
        return None
    try:
        return os.stat(folder).st_dev == os.stat(other).st_dev
    except OSError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    print(measure(args.folder, args.seconds))


if __name__ == "__main__":
    main()
