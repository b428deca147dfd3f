"""The audit chain's anchor: its head written after every sealing, outside the database.

The chain proves that sealed events were not changed, but from inside the database a cut
tail, or seals deleted and made again, look whole. So after each sealing the head (seal
id, event id, hash) is appended to a file that the database's users cannot reach: by
default `instance/audit-anchor.jsonl`; in production a separate append-only store (a
file on a write-once mount, or shipped to a log service), named by `AUDIT_ANCHOR`.
`verify` checks that every head ever written is still in the chain, unchanged.
"""

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

TAIL_BYTES = 4096  # far more than one line


@dataclass(frozen=True)
class Head:
    seal_id: int
    event_id: int
    event_hash: str


class Anchor:
    """One append-only file of heads, one JSON object per line."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def heads(self) -> list[Head]:
        if not self.path.exists():
            return []
        return [_head(line) for line in self.path.read_bytes().splitlines() if line.strip()]

    def last(self) -> Head | None:
        """The newest head, read from the file's end: the sealer asks every minute, and the
        file grows by a line each time."""
        if not self.path.exists():
            return None
        with self.path.open("rb") as file:
            start = max(0, file.seek(0, os.SEEK_END) - TAIL_BYTES)
            file.seek(start)
            lines = file.read().splitlines()[1 if start else 0:]  # the first may be cut
        lines = [line for line in lines if line.strip()]
        return _head(lines[-1]) if lines else None

    def append(self, head: Head, at: datetime) -> None:
        """Write a head and make it durable before the sealing is reported done."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"seal": head.seal_id, "event": head.event_id,
                           "hash": head.event_hash, "at": at.isoformat()})
        with self.path.open("a") as file:
            file.write(line + "\n")
            file.flush()
            os.fsync(file.fileno())


def _head(line: bytes) -> Head:
    entry = json.loads(line)
    return Head(entry["seal"], entry["event"], entry["hash"])
