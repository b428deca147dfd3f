"""Signing in and out, and the lifecycle of accounts (never deleted, only deactivated)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from flask import current_app
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.auth import end_session, end_sessions, start_session
from compliance.models import PharmacistProfile, Pharmacy, User
from compliance.models.inputs import PasswordSet
from compliance.security import throttle
from compliance.security.passwords import hash_password, needs_rehash, verify_password

from . import api_keys, passkeys, second_factor
from .errors import Refused, Throttled, validated, wait_words

Result = TypeVar("Result")


def too_many_attempts(verdict: throttle.Verdict, field: str = "") -> Throttled:
    seconds = verdict.retry_after_seconds
    return Throttled({field: f"Too many failed attempts. Try again in {wait_words(seconds)}."},
                     retry_after=seconds)


WRONG_CREDENTIALS = "The email or password is not right."
LAST_TRY = (f" One more wrong password locks sign-in from this device for "
            f"{throttle.WINDOW.seconds // 60} minutes; to be sure, reset your password instead.")
DEACTIVATED = ("This account is deactivated, so it cannot sign in. To use it again, "
               "contact {contact}.")


@dataclass(frozen=True)
class SignIn:
    """A right password: signed in, or `then` names the second step still asked
    ("code" from the app, or "enroll" it first)."""

    user: User
    then: str | None = None


def sign_in(db: Session, *, email: str, password: str, address: str, now: datetime) -> SignIn:
    """Check the password under the throttle; with no second step asked, open a server
    session.

    Every outcome is recorded (attempt row and audit event) and committed, so failures
    count even though the request ends in an error message. A right password with a second
    step to go counts as neither success nor failure: the count starts again only once the
    second step is passed, so codes are guessed under the same limits as passwords.
    """
    email = email.strip().lower()
    _refuse_if_throttled(db, email=email, address=address, now=now, summary={"email": email})
    user = db.scalar(select(User).where(User.email == email))
    right = verify_password(user.password_hash if user else None, password)
    ok = right and user is not None and user.is_active
    if not ok:
        throttle.note_attempt(db, email=email, address=address, succeeded=False, now=now)
        audit.record(db, "login.failed", "user", user.id if user else "",
                     summary={"email": email} | ({"deactivated": True} if right else {}),
                     actor_id=user.id if user else None)
        db.commit()
        if right:  # only the password's owner learns that the account is deactivated
            raise Refused(DEACTIVATED.format(contact=current_app.config["PROGRAM_CONTACT"]))
        left = throttle.failures_left(db, email=email, address=address, now=now)
        raise Refused(WRONG_CREDENTIALS + (LAST_TRY if left == 1 else ""))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    then = second_factor.next_step(db, user)
    if then:
        audit.record(db, "login.password_accepted", "user", user.id, actor_id=user.id,
                     actor_role=user.role, summary={"second_step": then})
        db.commit()
        return SignIn(user, then)
    _open_session(db, user, address=address, now=now, factor="")
    return SignIn(user)


def finish_sign_in(db: Session, *, user: User, code: str, address: str, now: datetime,
                   enrolling: bool = False) -> list[str]:
    """The second step: a code from the app (or a recovery code), or, `enrolling`, the
    first code of a newly set-up app, which returns the recovery codes to show once.
    Committed."""

    def second_step() -> tuple[list[str], str]:
        if enrolling:
            return second_factor.confirm_enrollment(db, user=user, code=code, now=now), "totp"
        factor = second_factor.prove(db, user=user, code=code, now=now)
        if factor is None:
            raise Refused({"code": second_factor.WRONG_CODE})
        return [], factor

    codes, factor = code_checked(db, user=user, address=address, now=now, act=second_step)
    _open_session(db, user, address=address, now=now, factor=factor)
    return codes


def code_checked(db: Session, *, user: User, address: str, now: datetime,
                    act: Callable[[], Result]) -> Result:
    """Run an act that checks a second-factor code under the login throttle: a refused
    code counts as a failed sign-in, so codes are guessed no faster than passwords. A
    refusal is rolled back, recorded and committed; success is left to the caller."""
    _refuse_if_throttled(db, email=user.email, address=address, now=now, field="code",
                         object_id=user.id, actor_id=user.id)
    try:
        return act()
    except Refused:
        db.rollback()
        throttle.note_attempt(db, email=user.email, address=address, succeeded=False, now=now)
        audit.record(db, "second_factor.code_failed", "user", user.id, actor_id=user.id,
                     actor_role=user.role)
        db.commit()
        raise


def sign_in_with_passkey(db: Session, *, credential: object, challenge: bytes, address: str,
                         now: datetime) -> User:
    """A passkey alone signs in: it is two factors in one (the device, and the person's
    PIN or biometric on it). Counted by the throttle under the account it claims, like a
    password; every outcome recorded and committed."""
    found = passkeys.owner_of(db, credential)
    user = found[0] if found else None
    email = user.email if user else ""
    _refuse_if_throttled(db, email=email, address=address, now=now,
                         object_id=user.id if user else "", summary={"passkey": True})
    try:
        if found is None:
            raise Refused(passkeys.NOT_RECOGNISED)
        passkeys.authenticate(db, user=user, passkey=found[1], credential=credential,
                              challenge=challenge, now=now)
    except Refused:
        db.rollback()
        throttle.note_attempt(db, email=email, address=address, succeeded=False, now=now)
        audit.record(db, "login.failed", "user", user.id if user else "",
                     summary={"passkey": True}, actor_id=user.id if user else None)
        db.commit()
        raise
    _open_session(db, user, address=address, now=now, factor="passkey")
    return user


def _refuse_if_throttled(db: Session, *, email: str, address: str, now: datetime,
                         field: str = "", object_id: int | str = "",
                         summary: dict | None = None, actor_id: int | None = None) -> None:
    """Raise `Throttled` (audited and committed) when this address may not try this
    account now: the one gate of passwords, codes and passkeys."""
    verdict = throttle.check(db, email=email, address=address, now=now)
    if not verdict.allowed:
        audit.record(db, "login.throttled", "user", object_id, summary=summary,
                     actor_id=actor_id)
        db.commit()
        raise too_many_attempts(verdict, field)


def _open_session(db: Session, user: User, *, address: str, now: datetime,
                  factor: str) -> None:
    throttle.note_attempt(db, email=user.email, address=address, succeeded=True, now=now)
    start_session(db, user, address=address, now=now, second_factor=factor)
    audit.record(db, "login.succeeded", "user", user.id, actor_id=user.id, actor_role=user.role,
                 summary={"second_factor": factor} if factor else None)
    db.commit()


def change_password(db: Session, *, current: str, password: str, confirm: str,
                    address: str, now: datetime) -> None:
    """The signed-in user chooses a new password, proving the current one first (wrong ones
    count as failed sign-ins). Every other session of the account ends. Committed."""
    user = db.get(User, current_user.id)
    verdict = throttle.check(db, email=user.email, address=address, now=now)
    if not verdict.allowed:
        raise too_many_attempts(verdict, "current")
    right = verify_password(user.password_hash, current)
    throttle.note_attempt(db, email=user.email, address=address, succeeded=right, now=now)
    if not right:
        audit.record(db, "password.change_failed", "user", user.id)
        db.commit()
        raise Refused({"current": "This is not your current password."})
    choice = validated(PasswordSet, {"password": password, "confirm": confirm})
    user.password_hash = hash_password(choice.password)
    db.add(user)
    end_sessions(db, user_id=user.id, reason="password changed", now=now,
                 keep=current_user.server_session)
    audit.record(db, "password.changed", "user", user.id)
    db.commit()


def sign_out(db: Session, *, now: datetime) -> None:
    """End the server session so the cookie, even if copied, is worthless."""
    audit.record(db, "logout", "user", _current_user_id())
    end_session(db, reason="logout", now=now)
    db.commit()


def set_active(db: Session, *, user_id: int, active: bool, acting_user_id: int,
               now: datetime, reason: str = "", hand_keys_on: bool = False) -> User:
    """Deactivate or reactivate an account; deactivation ends its open sessions at once and
    needs a reason, which the audit event keeps. The API keys a departing pharmacist made
    are revoked, or with `hand_keys_on` handed to the pharmacy's responsible pharmacist."""
    user = db.get(User, user_id)
    if user is None:
        raise Refused("No such account.")
    if user.id == acting_user_id and not active:
        raise Refused("You cannot deactivate your own account.")
    reason = reason.strip()
    if not active and not reason:
        raise Refused({"reason": "Say why this account is deactivated."})
    if user.is_active == active:
        return user
    user.is_active = active
    user.deactivated_at = None if active else now
    db.add(user)
    if not active:
        end_sessions(db, user_id=user.id, reason="deactivated", now=now)
        heir = key_heir(db, user) if hand_keys_on else None
        api_keys.settle_keys_of(db, creator=user, heir=heir, now=now)
    summary = {"is_active": [not active, active]} | ({} if active else {"reason": reason})
    audit.record(db, "user.reactivated" if active else "user.deactivated", "user", user.id,
                 summary=summary)
    db.commit()
    return user


def reset_second_factor(db: Session, *, user_id: int, acting_user_id: int,
                        now: datetime) -> User:
    """An administrator clears an account's app and recovery codes (a lost or stolen
    phone): its sessions end, and a staff account sets up a new app at its next sign-in.
    Committed."""
    user = db.get(User, user_id)
    if user is None or not second_factor.is_enrolled(db, user.id):
        raise Refused("This account has no two-step sign-in to reset.")
    if user.id == acting_user_id:
        raise Refused("Another administrator must reset your own two-step sign-in.")
    second_factor.remove(db, user=user, reason="reset by an administrator")
    end_sessions(db, user_id=user.id, reason="second factor reset", now=now)
    db.commit()
    return user


def key_heir(db: Session, user: User) -> User | None:
    """Who may take over the API keys `user` made: their pharmacy's responsible pharmacist,
    when that is someone else whose account is active."""
    profile = db.scalar(select(PharmacistProfile).where(PharmacistProfile.user_id == user.id))
    pharmacy = db.get(Pharmacy, profile.pharmacy_id) if profile else None
    heir_id = pharmacy.responsible_pharmacist_id if pharmacy else None
    heir = db.get(User, heir_id) if heir_id not in (None, user.id) else None
    return heir if heir is not None and heir.is_active else None


def _current_user_id() -> int | str:
    return current_user.id if current_user.is_authenticated else ""
