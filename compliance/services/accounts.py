"""Signing in and out, and the lifecycle of accounts (never deleted, only deactivated)."""

from dataclasses import dataclass
from datetime import datetime

from flask_login import current_user
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from compliance import audit
from compliance.auth import end_session, start_session
from compliance.models import User, UserSession
from compliance.security import throttle
from compliance.security.passwords import hash_password, needs_rehash, verify_password

from .errors import Refused


@dataclass
class Throttled(Exception):
    """Too many failed attempts: try again after `retry_after_seconds`."""

    retry_after_seconds: int

    @property
    def message(self) -> str:
        minutes = -(-self.retry_after_seconds // 60)
        unit = "minute" if minutes == 1 else "minutes"
        return f"Too many failed attempts. Try again in {minutes} {unit}."


WRONG_CREDENTIALS = "The email or password is not right."


def sign_in(db: Session, *, email: str, password: str, address: str, now: datetime) -> User:
    """Check the password under the throttle, then open a server session.

    Every outcome is recorded (attempt row and audit event) and committed, so failures
    count even though the request ends in an error message.
    """
    email = email.strip().lower()
    verdict = throttle.check(db, email=email, address=address, now=now)
    if not verdict.allowed:
        audit.record(db, "login.throttled", "user", summary={"email": email})
        db.commit()
        raise Throttled(verdict.retry_after_seconds)
    user = db.scalar(select(User).where(User.email == email))
    ok = verify_password(user.password_hash if user else None, password)
    ok = ok and user is not None and user.is_active
    throttle.note_attempt(db, email=email, address=address, succeeded=ok, now=now)
    if not ok:
        audit.record(db, "login.failed", "user", user.id if user else "",
                     summary={"email": email}, actor_id=user.id if user else None)
        db.commit()
        raise Refused(WRONG_CREDENTIALS)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    start_session(db, user, address=address, now=now)
    audit.record(db, "login.succeeded", "user", user.id, actor_id=user.id, actor_role=user.role)
    db.commit()
    return user


def sign_out(db: Session, *, now: datetime) -> None:
    """End the server session so the cookie, even if copied, is worthless."""
    audit.record(db, "logout", "user", _current_user_id())
    end_session(db, reason="logout", now=now)
    db.commit()


def set_active(db: Session, *, user_id: int, active: bool, acting_user_id: int,
               now: datetime) -> User:
    """Deactivate or reactivate an account; deactivation ends its open sessions at once."""
    user = db.get(User, user_id)
    if user is None:
        raise Refused("No such account.")
    if user.id == acting_user_id and not active:
        raise Refused("You cannot deactivate your own account.")
    if user.is_active == active:
        return user
    user.is_active = active
    user.deactivated_at = None if active else now
    db.add(user)
    if not active:
        db.execute(update(UserSession).where(UserSession.user_id == user.id,
                                             UserSession.ended_at.is_(None))
                   .values(ended_at=now, ended_reason="deactivated"))
    audit.record(db, "user.reactivated" if active else "user.deactivated", "user", user.id,
                 summary={"is_active": [not active, active]})
    db.commit()
    return user


def _current_user_id() -> int | str:
    return current_user.id if current_user.is_authenticated else ""
