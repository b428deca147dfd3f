"""Single-use activation links: a new account sets its own password through one."""

import secrets
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from compliance import audit
from compliance.auth import hash_token
from compliance.models import Invitation, User
from compliance.models.inputs import PasswordSet
from compliance.security.passwords import hash_password

from .errors import Refused


def issue_invitation(db: Session, *, user: User, issued_by: int | None, now: datetime,
                     valid_days: int) -> str:
    """Create a link for `user`, cancelling any earlier unused one; returns the token.

    Does not commit: it is one step of the use case that calls it.
    """
    db.execute(
        update(Invitation)
        .where(Invitation.user_id == user.id, Invitation.used_at.is_(None))
        .values(expires_at=now)
    )
    token = secrets.token_urlsafe(32)
    db.add(Invitation(token_hash=hash_token(token), user_id=user.id, created_by_id=issued_by,
                      created_at=now, expires_at=now + timedelta(days=valid_days)))
    audit.record(db, "invitation.issued", "user", user.id,
                 summary={"expires_at": (now + timedelta(days=valid_days)).isoformat()})
    return token


def find_open_invitation(db: Session, *, token: str, now: datetime) -> tuple[Invitation, User]:
    """The unused, unexpired invitation behind `token`, or Refused with a plain reason."""
    row = db.execute(
        select(Invitation, User).join(User, User.id == Invitation.user_id)
        .where(Invitation.token_hash == hash_token(token))
    ).first()
    if row is None:
        raise Refused("This link is not valid. Ask whoever invited you for a new one.")
    invitation, user = row
    if invitation.used_at is not None:
        raise Refused("This link has already been used. Sign in with your password.")
    if invitation.expires_at <= now or not user.is_active:
        raise Refused("This link has expired. Ask whoever invited you for a new one.")
    return invitation, user


def accept_invitation(db: Session, *, token: str, password: str, confirm: str,
                      now: datetime) -> User:
    """Set the account's password and use up the link, in one transaction."""
    invitation, user = find_open_invitation(db, token=token, now=now)
    try:
        choice = PasswordSet(password=password, confirm=confirm)
    except ValidationError as exc:
        raise Refused.from_validation(exc) from None
    used = db.execute(
        update(Invitation).where(Invitation.id == invitation.id, Invitation.used_at.is_(None))
        .values(used_at=now)
    )
    if used.rowcount != 1:
        raise Refused("This link has already been used. Sign in with your password.")
    user.password_hash = hash_password(choice.password)
    db.add(user)
    audit.record(db, "invitation.accepted", "user", user.id, actor_id=user.id,
                 actor_role=user.role)
    db.commit()
    return user
