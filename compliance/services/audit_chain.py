"""The audit log's hash chain: seal new events, verify every seal, refuse to seal a log
that was tampered with.

A seal holds an event's keyed hash: HMAC-SHA256 under `AUDIT_KEY` of the previous seal's
hash and the event's content (every column, its id included, as canonical JSON). Changing
an event, removing one (or its seal) or putting one in another's place breaks the chain at
that event, and without the key nobody can seal a forgery. After every sealing the head
goes to the anchor outside the database (`services.audit_anchor`), so a tail cut off, or
seals deleted for the sealer to make again over edited events, are caught too.

Events are written unchained, in their own transactions, so writers never wait for each
other; the worker's `seal-audit` job (or `flask audit seal`) chains them every minute in
the order of their ids. An event committed after later ones were sealed (a long
transaction held its id) is sealed when it is first seen, at the chain's end; one dated
more than `LATE_GRACE` before the sealed part is not a late commit but an insertion, and
the sealer refuses to go on: it writes a `security.alert` event and seals nothing until
an operator has looked. Seals are the log's own bookkeeping, so sealing and verifying
write no audit events themselves, the alert apart.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from compliance.models import AuditEvent, AuditSeal
from compliance.services import alerts
from compliance.services.audit_anchor import Anchor, Head

GENESIS = "0" * 64  # the `prev_hash` of the first seal
BATCH = 1000
# How far below the newest sealed event to look for events committed late.
LOOKBACK_IDS = 100_000
RACES_BEFORE_GIVING_UP = 5
# An unsealed event older than this, yet placed among sealed ones, was not a slow commit.
LATE_GRACE = timedelta(minutes=10)

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


class ChainBroken(RuntimeError):
    """The sealer found the log tampered with and sealed nothing."""

    def __init__(self, event_id: int | None, reason: str):
        super().__init__(f"event #{event_id}: {reason}")
        self.event_id, self.reason = event_id, reason


def link(key: bytes, prev_hash: str, event) -> str:
    """The seal hash of `event` (a row with the event's columns) after `prev_hash`."""
    return hmac.new(key, prev_hash.encode() + b"\n" + _content(event),
                    hashlib.sha256).hexdigest()


def seal(db: Session, key: bytes, now: datetime, batch: int = BATCH,
         anchor: Anchor | None = None) -> int:
    """Seal every event not sealed yet, oldest first, one commit per batch; returns how many,
    and writes the new head to `anchor`.

    First the log is checked since the anchor's last head (or from the start when the
    anchor is empty): a broken chain, a head that is not the anchored one, or an event
    inserted among sealed ones raises ChainBroken after writing a `security.alert`.
    A sealer running at the same time makes this one's insert fail on the unique hashes;
    it then starts again from the new head (a few times in a row at most: a failure that
    persists is raised, not looped on).
    """
    found = _tampering(db, key, anchor, now)
    if found is not None:
        _alert(db, found, now)
        raise ChainBroken(found.broken_event, found.reason)
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
    if anchor is not None and sealed:
        seal_id, event_hash = head(db)
        anchor.append(Head(seal_id, seals[-1]["event_id"], event_hash), now)
    return sealed


def _tampering(db: Session, key: bytes, anchor: Anchor | None, now: datetime
               ) -> Verdict | None:
    """What a sealer must not seal over: the chain since the anchored head, the head
    itself, an insertion among sealed events."""
    anchored = anchor.last() if anchor is not None else None
    if anchored is not None:
        wrong = _anchor_problem(db, [anchored])
        if wrong is not None:
            return wrong
    start = (anchored.seal_id - 1, _hash_before(db, anchored.seal_id)) if anchored else (0, GENESIS)
    walked = _walk(db, key, after=start[0], prev_hash=start[1])
    if not walked.intact:
        return walked
    return _inserted(db, now)


def verify(db: Session, key: bytes, batch: int = BATCH, anchor: Anchor | None = None,
           now: datetime | None = None) -> Verdict:
    """Check every seal in order against its event and the seal before it, then every head
    the anchor holds, then that no old event sits unsealed among sealed ones."""
    walked = _walk(db, key, batch=batch)
    if not walked.intact:
        return walked
    if anchor is not None and (wrong := _anchor_problem(db, anchor.heads())) is not None:
        return Verdict(walked.sealed, walked.awaiting, walked.head, wrong.broken_event,
                       wrong.reason)
    if now is not None and (inserted := _inserted(db, now)) is not None:
        return Verdict(walked.sealed, walked.awaiting, walked.head, inserted.broken_event,
                       inserted.reason)
    return walked


def _walk(db: Session, key: bytes, *, after: int = 0, prev_hash: str = GENESIS,
          batch: int = BATCH) -> Verdict:
    """Check the seals after seal id `after`, the first of them against `prev_hash`."""
    checked = 0
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


def _anchor_problem(db: Session, heads: list[Head]) -> Verdict | None:
    """The first anchored head no longer in the chain as it was written, named by the
    first event it covered that has lost its seal (else the head's own event)."""
    for anchored in heads:
        found = db.execute(select(_SEAL.c.event_id, _SEAL.c.event_hash)
                           .where(_SEAL.c.id == anchored.seal_id)).first()
        if found is not None and (found.event_id, found.event_hash) == \
                (anchored.event_id, anchored.event_hash):
            continue
        unsealed = db.scalar(select(func.min(_EVENT.c.id)).select_from(
            _EVENT.outerjoin(_SEAL, _SEAL.c.event_id == _EVENT.c.id))
            .where(_SEAL.c.id.is_(None), _EVENT.c.id <= anchored.event_id))
        if unsealed is not None:
            return Verdict(0, 0, head(db), unsealed,
                           f"seal #{anchored.seal_id}, recorded in the anchor, is gone or "
                           "was made again: the seals were deleted or rewritten")
        kept = db.scalar(select(func.max(_SEAL.c.event_id))) or 0
        return Verdict(0, 0, head(db), anchored.event_id,
                       f"the chain ends at event #{kept} but the anchor recorded it up to "
                       f"event #{anchored.event_id}: the tail was cut off")
    return None


def _inserted(db: Session, now: datetime) -> Verdict | None:
    """An unsealed event placed among sealed ones (below the newest sealed id) or dated
    before the sealed part, and too old to be a transaction still committing."""
    last = db.execute(select(_EVENT.c.id, _EVENT.c.occurred_at)
                      .select_from(_SEAL.join(_EVENT, _EVENT.c.id == _SEAL.c.event_id))
                      .order_by(_SEAL.c.id.desc()).limit(1)).first()
    if last is None:
        return None
    found = db.scalar(select(func.min(_EVENT.c.id)).select_from(
        _EVENT.outerjoin(_SEAL, _SEAL.c.event_id == _EVENT.c.id)).where(
        _SEAL.c.id.is_(None), _EVENT.c.occurred_at < now - LATE_GRACE,
        (_EVENT.c.id < last.id) | (_EVENT.c.occurred_at < last.occurred_at - LATE_GRACE)))
    if found is None:
        return None
    return Verdict(0, 0, head(db), found, "an event dated before the sealed part of the log "
                   "was inserted into it")


def _hash_before(db: Session, seal_id: int) -> str:
    """The hash the seal `seal_id` must follow (its predecessor's, as the seal says)."""
    return db.scalar(select(_SEAL.c.prev_hash).where(_SEAL.c.id == seal_id)) or GENESIS


def _alert(db: Session, found: Verdict, now: datetime) -> None:
    """One `security.alert` per distinct finding (the sealer retries every minute)."""
    reason = (f"the audit log was tampered with at event #{found.broken_event}: "
              f"{found.reason}. Nothing more is sealed until it is looked into.")
    last = db.scalar(select(AuditEvent).where(AuditEvent.action == "security.alert",
                                              AuditEvent.object_type == "audit_chain")
                     .order_by(AuditEvent.id.desc()).limit(1))
    if last is None or last.summary.get("reason") != reason:
        alerts.raise_alert(db, reason=reason, object_type="audit_chain",
                           object_id=found.broken_event or "", now=now)
        db.commit()


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
