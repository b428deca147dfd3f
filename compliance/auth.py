"""Who is signed in, and what they may reach.

Sessions live on the server: the signed cookie holds a random token, and the
`user_session` row decides whether it is still good (not ended by logout, not idle for
longer than the idle timeout, not older than the absolute timeout, account active).
Views declare their audience with `@roles_required(...)` or `@public`; a test walks the URL
map and fails on any view that declares neither.
"""

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps

from flask import abort, current_app, g
from flask import session as cookie
from flask_login import UserMixin, current_user, login_user, logout_user
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from compliance.db import get_session
from compliance.extensions import login_manager
from compliance.models import User, UserSession
from compliance.models.enums import SECOND_FACTOR_ROLES
from compliance.models.types import utcnow

# Refreshing `last_seen_at` on every request would turn every read into a write.
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


class SignedInUser(UserMixin):
    """The current user as flask-login sees it: the account plus its server session."""

    def __init__(self, user: User, server_session: UserSession, token: str):
        self.user = user
        self.server_session = server_session
        self._token = token

    def get_id(self) -> str:
        return self._token

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def is_active(self) -> bool:
        return self.user.is_active


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(db: Session, user: User, *, address: str, now: datetime,
                  second_factor: str = "") -> None:
    """Open a server session for `user` and bind this browser to it with a fresh cookie.

    Clearing the cookie first rotates the session identifier, so a token planted before
    sign-in (session fixation) is worthless afterwards.
    """
    token = secrets.token_urlsafe(32)
    row = UserSession(token_hash=hash_token(token), user_id=user.id, created_at=now,
                      last_seen_at=now, address=address, second_factor=second_factor)
    db.add(row)
    db.flush()
    cookie.clear()
    cookie.permanent = True
    login_user(SignedInUser(user, row, token))


def end_session(db: Session, *, reason: str, now: datetime) -> None:
    """End the current server session; a replay of the old cookie then finds it ended."""
    if current_user.is_authenticated:
        current_user.server_session.ended_at = now
        current_user.server_session.ended_reason = reason
        db.add(current_user.server_session)
    logout_user()
    cookie.clear()


def end_sessions(db: Session, *, user_id: int, reason: str, now: datetime,
                 keep: UserSession | None = None) -> None:
    """End every open session of the account (but `keep`): after a deactivation or a new
    password, a cookie copied earlier is worthless."""
    query = update(UserSession).where(UserSession.user_id == user_id,
                                      UserSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    db.execute(query.values(ended_at=now, ended_reason=reason))


@login_manager.user_loader
def _load_user(token: str) -> SignedInUser | None:
    db = get_session()
    row = db.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    server_session, user = row
    now = utcnow()
    if reason := _why_ended(server_session, user, now):
        if server_session.ended_at is None:
            server_session.ended_at, server_session.ended_reason = now, reason
            db.commit()
        g.session_end_reason = reason
        return None
    if now - server_session.last_seen_at >= LAST_SEEN_RESOLUTION:
        server_session.last_seen_at = now
        db.commit()
    return SignedInUser(user, server_session, token)


def _why_ended(server_session: UserSession, user: User, now: datetime) -> str | None:
    if server_session.ended_at is not None:
        return server_session.ended_reason or "ended"
    if not user.is_active:
        return "deactivated"
    if user.role in SECOND_FACTOR_ROLES and not server_session.second_factor:
        return "second factor required"
    if now - server_session.created_at > current_app.config["SESSION_ABSOLUTE_TIMEOUT"]:
        return "absolute_timeout"
    if now - server_session.last_seen_at > current_app.config["SESSION_IDLE_TIMEOUT"]:
        return "idle_timeout"
    return None


def roles_required(*roles: str) -> Callable:
    """Admit only signed-in users with one of `roles`; others are sent to sign in or get 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        guarded.required_roles = frozenset(roles)
        return guarded

    return decorator


def public(view: Callable) -> Callable:
    """Mark a view as open to anyone; the route audit test accepts it only with this mark."""
    view.public = True
    return view


def get_or_404(db: Session, model: type, object_id: int):
    """Load a row by primary key or answer 404."""
    row = db.get(model, object_id)
    if row is None:
        abort(404)
    return row


def owned_or_404(row, is_owner: bool):
    """Return `row` when the current user owns it; otherwise 404, so IDs reveal nothing."""
    if row is None or not is_owner:
        abort(404)
    return row
