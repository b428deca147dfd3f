"""What the bench's figures were measured on: the machine, its software, and its disk's
flushes (every PostgreSQL commit waits for one; bench/flushes.py)."""

import os
import platform
import re
import sqlite3
import subprocess
from pathlib import Path

import flushes
from servers import GUNICORN, read_or_empty
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from compliance.db import make_engine

FLUSH_PROBE_SECONDS = 10


def describe(pg_url: str | None) -> dict:
    """The machine, and the versions of what ran on it."""
    cpuinfo = read_or_empty(Path("/proc/cpuinfo"))
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    mem = re.search(r"^MemTotal:\s+(\d+) kB", read_or_empty(Path("/proc/meminfo")), re.MULTILINE)
    os_release = read_or_empty(Path("/etc/os-release"))
    release = re.search(r'^PRETTY_NAME="(.+)"', os_release, re.MULTILINE)
    described = {
        "cpus": os.cpu_count(), "cpu": model[1] if model else platform.processor(),
        "ram_gb": round(int(mem[1]) / 1024 / 1024, 1) if mem else None,
        "os": release[1] if release else platform.platform(),
        "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    if pg_url:
        engine = make_engine(pg_url)
        with engine.connect() as connection:
            described["postgresql"] = connection.scalar(text("SHOW server_version"))
        engine.dispose()
    version = subprocess.run([str(GUNICORN), "--version"],  # noqa: S603
                             capture_output=True, text=True, check=False)
    found = re.search(r"[\d.]+\d", version.stdout)
    described["gunicorn"] = found[0] if found else "?"
    return described


def _data_directory(pg_url: str | None) -> str | None:
    """Where the server keeps its data (readable by superusers and pg_read_all_settings)."""
    if not pg_url:
        return None
    engine = make_engine(pg_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(text("SHOW data_directory"))
    except DBAPIError:
        return None
    finally:
        engine.dispose()


def disk_flush(folder: Path, pg_url: str | None) -> dict:
    """The flush probe in the bench's folder, and whether that is PostgreSQL's disk."""
    found = flushes.measure(folder, FLUSH_PROBE_SECONDS)
    found["same_disk_as_postgresql"] = flushes.same_disk(folder, _data_directory(pg_url))
    return found
