"""API keys of a pharmacy: created by its responsible pharmacist or an admin (or the CLI),
shown once, stored as a hash, revocable; a revoked key or an uncertified pharmacy is refused.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import ApiKey, Pharmacy
from compliance.services.driver_statements import DriverStatement
from compliance.services.errors import Refused
from compliance.services.records import labelled, record

KEY_PREFIX = "rems"
KEY_FIELDS = ("id", "prefix", "secret_hash", "revoked_at", "last_used_at")
PHARMACY_FIELDS = ("id", "name", "certification_status", "certified_on",
                   "certification_expires_on")
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
    """A live key and its pharmacy (a plain record), read in one query for each API call."""

    key_id: int
    prefix: str
    last_used_at: datetime | None
    pharmacy: SimpleNamespace


def authenticate(db: Session, presented: str) -> Caller | None:
    """The live key behind a presented bearer token, or None (unknown, malformed, revoked)."""
    parts = (presented or "").split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    row = _CALLER.first(db.connection(), {"prefix": parts[1]})
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
