"""The audit log's hash chain: seal new events, verify every seal.

A seal holds an event's keyed hash: HMAC-SHA256 under `AUDIT_KEY` of the previous seal's
hash and the event's content (every column, its id included, as canonical JSON). Changing
an event, removing one (or its seal) or putting one in another's place breaks the chain at
that event, and without the key nobody can seal a forgery. What the chain cannot show by
itself is its end cut off: `verify` prints the head (the last seal's id and hash) for an
operator to keep outside the database.

Events are written unchained, in their own transactions, so writers never wait for each
other; `flask audit seal`, run by a scheduler (every minute, say), chains them in batches
in the order of their ids. An event committed after later ones were sealed (a long
transaction held its id) is sealed when it is first seen, at the chain's end. Seals are
the log's own bookkeeping, so sealing and verifying write no audit events themselves.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from compliance.models import AuditEvent, AuditSeal

GENESIS = "0" * 64  # the `prev_hash` of the first seal
BATCH = 1000
# How far below the newest sealed event to look for events committed late.
LOOKBACK_IDS = 100_000
RACES_BEFORE_GIVING_UP = 5

_EVENT, _SEAL = AuditEvent.__table__, AuditSeal.__table__
_INSERT_SEALS = insert(_SEAL)


@dataclass(frozen=True)
class Verdict:
    """What `verify` found: how many events are sealed and intact, how many wait for a seal,
    the head, and the first broken event with what is wrong with it."""

    sealed: int
    awaiting: int
    head: tuple[int, str] | None = None  # (seal id, hash) of the last seal
    broken_event: int | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_event is None


def link(key: bytes, prev_hash: str, event) -> str:
    """The seal hash of `event` (a row with the event's columns) after `prev_hash`."""
    return hmac.new(key, prev_hash.encode() + b"\n" + _content(event),
                    hashlib.sha256).hexdigest()


def seal(db: Session, key: bytes, now: datetime, batch: int = BATCH) -> int:
    """Seal every event not sealed yet, oldest first, one commit per batch; returns how many.

    A sealer running at the same time makes this one's insert fail on the unique hashes;
    it then starts again from the new head (a few times in a row at most: a failure that
    persists is raised, not looped on).
    """
    sealed, lost = 0, 0
    while events := _unsealed(db, batch):
        prev = head(db)
        prev_hash = prev[1] if prev else GENESIS
        seals = []
        for event in events:
            event_hash = link(key, prev_hash, event)
            seals.append({"event_id": event.id, "prev_hash": prev_hash,
                          "event_hash": event_hash, "sealed_at": now})
            prev_hash = event_hash
        try:
            db.execute(_INSERT_SEALS, seals)
            db.commit()
        except IntegrityError:
            db.rollback()
            lost += 1
            if lost == RACES_BEFORE_GIVING_UP:
                raise
            continue
        sealed, lost = sealed + len(seals), 0
    return sealed


def verify(db: Session, key: bytes, batch: int = BATCH) -> Verdict:
    """Check every seal in order against its event and the seal before it."""
    prev_hash, checked, after = GENESIS, 0, 0
    while rows := db.execute(
            select(_SEAL.c.id.label("seal_id"), _SEAL.c.event_id.label("sealed_event"),
                   _SEAL.c.prev_hash, _SEAL.c.event_hash.label("seal_hash"), *_EVENT.c)
            .select_from(_SEAL.outerjoin(_EVENT, _EVENT.c.id == _SEAL.c.event_id))
            .where(_SEAL.c.id > after).order_by(_SEAL.c.id).limit(batch)).all():
        for row in rows:
            problem = _problem(key, prev_hash, row)
            if problem:
                return Verdict(checked, _awaiting(db), head(db), row.sealed_event, problem)
            prev_hash, checked, after = row.seal_hash, checked + 1, row.seal_id
    return Verdict(checked, _awaiting(db), head(db))


def _problem(key: bytes, prev_hash: str, row) -> str:
    if row.prev_hash != prev_hash:
        return "the seal before it is missing or was changed"
    if row.id is None:
        return "the event was removed"
    if link(key, prev_hash, row) != row.seal_hash:
        return "the event was changed after it was sealed (or the key is not the sealing key)"
    return ""


def _content(event) -> bytes:
    values = {column.name: getattr(event, column.name) for column in _EVENT.c}
    values["occurred_at"] = values["occurred_at"].isoformat()
    return json.dumps(values, sort_keys=True, separators=(",", ":"), default=str).encode()


def _unsealed(db: Session, batch: int):
    newest = db.scalar(select(func.max(_SEAL.c.event_id))) or 0
    return db.execute(
        select(*_EVENT.c).select_from(_EVENT.outerjoin(_SEAL, _SEAL.c.event_id == _EVENT.c.id))
        .where(_SEAL.c.id.is_(None), _EVENT.c.id > newest - LOOKBACK_IDS)
        .order_by(_EVENT.c.id).limit(batch)).all()


def head(db: Session) -> tuple[int, str] | None:
    """The last seal's id and hash: the chain's end."""
    row = db.execute(select(_SEAL.c.id, _SEAL.c.event_hash)
                     .order_by(_SEAL.c.id.desc()).limit(1)).first()
    return (row.id, row.event_hash) if row else None


def _awaiting(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(
        _EVENT.outerjoin(_SEAL, _SEAL.c.event_id == _EVENT.c.id)).where(_SEAL.c.id.is_(None)))
