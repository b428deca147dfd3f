"""API keys of a pharmacy: created by its responsible pharmacist or an admin (or the CLI),
shown once, stored as a hash, revocable; a revoked key or an uncertified pharmacy is refused.

A pharmacy system's calls come in bursts, each needing its key and its pharmacy, which
change rarely; reading them on every call cost a round trip and a tenth of an RMA
request's CPU. So each process keeps the keys it looked up lately (`RecentKeys`) and
trusts one for `trust_for` seconds before reading it again. The secret is still checked
on every call. A change to a key or a pharmacy made through this process's sessions
forgets them all at once; one made by another process is seen within `trust_for`.
"""

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from types import SimpleNamespace

from cachetools import LRUCache
from sqlalchemy import Connection, bindparam, event, select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import ApiKey, Pharmacy
from compliance.services.driver_statements import DriverStatement
from compliance.services.errors import Refused
from compliance.services.records import labelled, record

KEY_PREFIX = "rems"
KEY_FIELDS = ("id", "prefix", "secret_hash", "revoked_at", "last_used_at")
PHARMACY_FIELDS = ("id", "name", "certification_status", "certified_on",
                   "certification_expires_on", "staff_trained_on")
_KEY, _PHARMACY = ApiKey.__table__, Pharmacy.__table__
_CALLER = DriverStatement(
    select(*labelled("key", _KEY, KEY_FIELDS), *labelled("pharmacy", _PHARMACY, PHARMACY_FIELDS))
    .join(_PHARMACY, _PHARMACY.c.id == _KEY.c.pharmacy_id)
    .where(_KEY.c.prefix == bindparam("prefix")), standalone=True)


@dataclass(frozen=True)
class NewKey:
    row: ApiKey
    secret: str  # the whole key, shown once


def create_key(db: Session, *, pharmacy: Pharmacy, name: str, now: datetime,
               created_by: int | None = None) -> NewKey:
    """A new key for `pharmacy`; the returned secret is never stored or shown again."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 100:
        raise Refused({"name": "Give the key a name of up to 100 characters (e.g. the "
                               "pharmacy system that will use it)."})
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    row = ApiKey(pharmacy_id=pharmacy.id, name=name, prefix=prefix,
                 secret_hash=_digest(secret), created_by_id=created_by, created_at=now)
    db.add(row)
    db.flush()
    audit.record(db, "api_key.created", "pharmacy", pharmacy.id,
                 summary={"key": prefix, "name": name})
    db.commit()
    return NewKey(row, f"{KEY_PREFIX}_{prefix}_{secret}")


def revoke_key(db: Session, *, pharmacy: Pharmacy, key_id: int, now: datetime) -> ApiKey:
    row = db.get(ApiKey, key_id)
    if row is None or row.pharmacy_id != pharmacy.id:
        raise Refused("No such key for this pharmacy.")
    if row.revoked_at is None:
        row.revoked_at = now
        db.add(row)
        audit.record(db, "api_key.revoked", "pharmacy", pharmacy.id, summary={"key": row.prefix})
        db.commit()
    return row


def keys_of(db: Session, pharmacy: Pharmacy) -> list[ApiKey]:
    return list(db.scalars(select(ApiKey).where(ApiKey.pharmacy_id == pharmacy.id)
                           .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())))


@dataclass(frozen=True)
class Caller:
    """A live key and its pharmacy (a plain record), read in one query (`RecentKeys`)."""

    key_id: int
    prefix: str
    last_used_at: datetime | None
    pharmacy: SimpleNamespace


class RecentKeys:
    """The keys this process looked up lately, with their pharmacies, by key prefix.

    Only keys found are kept (a new key works at once), at most `size` of them, the least
    recently used going first. Safe to share between threads: a row read while the keys
    were being forgotten is not kept, since it may predate the change.
    """

    def __init__(self, size: int = 1024) -> None:
        self._rows: LRUCache = LRUCache(maxsize=size)
        self._lock = threading.Lock()
        self._forgotten = 0  # how many times the keys were forgotten

    def row(self, connection: Callable[[], Connection], prefix: str,
            trust_for: float) -> dict | None:
        """The key's row and its pharmacy's, read on `connection()` unless one read less
        than `trust_for` seconds ago is kept."""
        with self._lock:
            kept, forgotten = self._rows.get(prefix), self._forgotten
        if kept is not None and time.monotonic() - kept[0] < trust_for:
            return kept[1]
        read_at = time.monotonic()
        row = _CALLER.first(connection(), {"prefix": prefix})
        with self._lock:
            if row is None:
                self._rows.pop(prefix, None)
            elif forgotten == self._forgotten:
                self._rows[prefix] = (read_at, row)
        return row

    def used(self, prefix: str, at: datetime) -> None:
        """The key was noted as used `at` (its kept row says so, or it would be noted again
        on every call until read anew)."""
        with self._lock:
            if (kept := self._rows.get(prefix)) is not None:
                kept[1]["key_last_used_at"] = at

    def forget(self) -> None:
        with self._lock:
            self._rows.clear()
            self._forgotten += 1


RECENT_KEYS = RecentKeys()


_CHANGED = "api_keys.changed"  # session.info key: a key or a pharmacy was written


@event.listens_for(Session, "after_flush")
def _note_changed_keys(session: Session, _context) -> None:
    if any(isinstance(row, ApiKey | Pharmacy) for row in chain(session.dirty, session.deleted)):
        session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _forget_changed_keys(session: Session) -> None:
    """Once a change to a key or a pharmacy (a revocation, a certification decision) is
    committed, forget every kept key: such changes are rare, and nothing read before the
    change then outlives it in this process."""
    if session.info.pop(_CHANGED, False):
        RECENT_KEYS.forget()


def authenticate(db: Session, presented: str, *, trust_for: float = 0.0) -> Caller | None:
    """The live key behind a presented bearer token, or None (unknown, malformed, revoked).

    A key and its pharmacy read less than `trust_for` seconds ago are not read again.
    """
    parts = (presented or "").split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    row = RECENT_KEYS.row(db.connection, parts[1], trust_for)
    key = row and record(row, "key", KEY_FIELDS)
    if not key or not hmac.compare_digest(key.secret_hash, _digest(parts[2])):
        return None
    if key.revoked_at is not None:
        return None
    return Caller(key.id, key.prefix, key.last_used_at,
                  record(row, "pharmacy", PHARMACY_FIELDS))


def _digest(secret: str) -> str:
    """SHA-256 suffices: the secret has 256 random bits, so there is nothing to brute-force."""
    return hashlib.sha256(secret.encode()).hexdigest()
