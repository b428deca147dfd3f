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
        return [Head(entry["seal"], entry["event"], entry["hash"])
                for entry in map(json.loads, self.path.read_text().splitlines()) if entry]

    def last(self) -> Head | None:
        heads = self.heads()
        return heads[-1] if heads else None

    def append(self, head: Head, at: datetime) -> None:
        """Write a head and make it durable before the sealing is reported done."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"seal": head.seal_id, "event": head.event_id,
                           "hash": head.event_hash, "at": at.isoformat()})
        with self.path.open("a") as file:
            file.write(line + "\n")
            file.flush()
            os.fsync(file.fileno())
