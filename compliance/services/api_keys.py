"""API keys of a pharmacy: created by its responsible pharmacist or an admin (or the CLI),
shown once, stored as a hash, valid for `API_KEY_VALID_DAYS`, revocable; a revoked or
expired key or an uncertified pharmacy is refused. A key outlives its creator only when
handed to the pharmacy's responsible pharmacist: deactivating the creator revokes it.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import ApiKey, Pharmacy, User
from compliance.services.errors import Refused

KEY_PREFIX = "rems"
DEFAULT_VALID_DAYS = 365


@dataclass(frozen=True)
class NewKey:
    row: ApiKey
    secret: str  # the whole key, shown once


def create_key(db: Session, *, pharmacy: Pharmacy, name: str, now: datetime,
               created_by: int | None = None, valid_days: int = DEFAULT_VALID_DAYS) -> NewKey:
    """A new key for `pharmacy`; the returned secret is never stored or shown again."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 100:
        raise Refused({"name": "Give the key a name of up to 100 characters (e.g. the "
                               "pharmacy system that will use it)."})
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    row = ApiKey(pharmacy_id=pharmacy.id, name=name, prefix=prefix,
                 secret_hash=_digest(secret), created_by_id=created_by, created_at=now,
                 expires_at=now + timedelta(days=valid_days))
    db.add(row)
    db.flush()
    audit.record(db, "api_key.created", "pharmacy", pharmacy.id,
                 summary={"key": prefix, "name": name, "expires_at": row.expires_at})
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


def settle_keys_of(db: Session, *, creator: User, heir: User | None, now: datetime) -> int:
    """The live keys `creator` made, as the creator leaves: handed to `heir` (the
    pharmacy's responsible pharmacist) or, without one, revoked. Audited, not committed;
    returns how many keys were settled."""
    live = live_keys_created_by(db, creator.id, now)
    for key in live:
        if heir is not None:
            key.created_by_id = heir.id
            audit.record(db, "api_key.reassigned", "pharmacy", key.pharmacy_id,
                         summary={"key": key.prefix, "created_by_id": [creator.id, heir.id]})
        else:
            key.revoked_at = now
            audit.record(db, "api_key.revoked", "pharmacy", key.pharmacy_id,
                         summary={"key": key.prefix, "reason": "its creator was deactivated"})
        db.add(key)
    return len(live)


def live_keys_created_by(db: Session, user_id: int, now: datetime) -> list[ApiKey]:
    return list(db.scalars(select(ApiKey).where(
        ApiKey.created_by_id == user_id, ApiKey.revoked_at.is_(None), ApiKey.expires_at > now)
        .order_by(ApiKey.id)))


def keys_of(db: Session, pharmacy: Pharmacy) -> list[ApiKey]:
    return list(db.scalars(select(ApiKey).where(ApiKey.pharmacy_id == pharmacy.id)
                           .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())))


_CALLER = (select(ApiKey, Pharmacy).join(Pharmacy, Pharmacy.id == ApiKey.pharmacy_id)
           .where(ApiKey.prefix == bindparam("prefix")))


@dataclass(frozen=True)
class Caller:
    """A live key and the pharmacy it belongs to."""

    key: ApiKey
    pharmacy: Pharmacy


def authenticate(db: Session, presented: str, now: datetime) -> Caller | None:
    """The live key behind a presented bearer token, or None (unknown, malformed, revoked,
    expired).

    Read on every call, by its indexed prefix, so a revocation or a change to the pharmacy's
    certification takes effect on the next call in every worker.
    """
    parts = (presented or "").split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    found = db.execute(_CALLER, {"prefix": parts[1]}).first()
    if found is None:
        return None
    key, pharmacy = found
    if not hmac.compare_digest(key.secret_hash, _digest(parts[2])) or key.revoked_at is not None \
            or key.expires_at <= now:
        return None
    return Caller(key, pharmacy)


def _digest(secret: str) -> str:
    """SHA-256 suffices: the secret has 256 random bits, so there is nothing to brute-force."""
    return hashlib.sha256(secret.encode()).hexdigest()
