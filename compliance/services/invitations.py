"""Single-use links that set a password, emailed to the account's owner: the activation of a
new account, and the reset of a forgotten password.

A link is shown to nobody but the owner's mailbox: whoever creates an account never sees
it, so nobody can activate someone else's account and sign their consent. A patient's
activation link also asks the date of birth; a few wrong ones end the link. A new link ends
the earlier unused ones of its purpose, and withdraws their emails if still unsent.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from compliance import audit
from compliance.auth import end_sessions, hash_token
from compliance.mailer import in_words
from compliance.models import (
    Invitation,
    LinkPurpose,
    OutboxMessage,
    PatientProfile,
    Role,
    User,
)
from compliance.models.inputs import PasswordSet
from compliance.security import throttle
from compliance.security.passwords import hash_password

from . import outbox
from .errors import Refused

RESET_VALID = timedelta(hours=1)
ADMIN_RESET_VALID = timedelta(hours=24)  # the owner may be locked out and read it later
RESETS_PER_HOUR = 3  # emails asked from the sign-in page, per account
BIRTH_DATE_TRIES = 5

ASK_AGAIN = {
    LinkPurpose.ACTIVATION: "Ask whoever invited you for a new one.",
    LinkPurpose.RESET: "Ask for a new one from the sign-in page.",
}


@dataclass(frozen=True)
class LinkStatus:
    """What the person who issued a link may know of it: when it was sent, if it was used."""

    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    sent_at: datetime | None
    email_status: str | None

    def words(self, now: datetime) -> str:
        """"emailed Dec 3, 2026 at 12:00 pm Eastern time; works until Dec 10, ..." """
        email = {"sent": f"emailed {in_words(self.sent_at)}" if self.sent_at else "emailed",
                 "failed": "could not be emailed: check the address, then email a new link",
                 }.get(self.email_status or "", f"made {in_words(self.created_at)}, waiting "
                                                "to be emailed")
        if self.used_at is not None:
            return f"{email}; used {in_words(self.used_at)}"
        if self.expires_at <= now:
            return f"{email}; expired {in_words(self.expires_at)}"
        return f"{email}; works until {in_words(self.expires_at)}"


def issue_invitation(db: Session, *, user: User, issued_by: int | None, now: datetime,
                     valid_days: int) -> str:
    """Email `user` a new activation link, ending any earlier unused one; returns the token
    (only its hash is kept). Not committed: one step of the use case that calls it."""
    inviter = db.get(User, issued_by) if issued_by else None
    token, link = _new_link(db, user, LinkPurpose.ACTIVATION, issued_by, now,
                            now + timedelta(days=valid_days))
    outbox.enqueue(db, to=user, kind="activation", deadline=link.expires_at, now=now,
                   token=token, expires=link.expires_at.isoformat(),
                   asks_birth_date=user.role == Role.PATIENT, invited_by=_inviter(user, inviter))
    audit.record(db, "invitation.issued", "user", user.id,
                 summary={"expires_at": link.expires_at.isoformat()})
    return token


def request_reset(db: Session, *, email: str, now: datetime) -> None:
    """From the sign-in page: email a reset link if an active account uses this address, at
    most `RESETS_PER_HOUR` an hour. Committed. The caller answers the same either way."""
    email = email.strip().lower()
    user = db.scalar(select(User).where(User.email == email))
    sent = False
    if user is not None and user.is_active:
        recent = db.scalar(select(func.count()).select_from(Invitation).where(
            Invitation.user_id == user.id, Invitation.purpose == LinkPurpose.RESET,
            Invitation.created_at > now - timedelta(hours=1)))
        if recent < RESETS_PER_HOUR:
            _send_reset(db, user, None, now, RESET_VALID)
            sent = True
    audit.record(db, "password.reset_requested", "user", user.id if user else "",
                 summary={"email": email, "sent": sent}, actor_role="anonymous")
    db.commit()


def send_reset(db: Session, *, user_id: int, now: datetime) -> User:
    """An administrator sends a reset link to an account (locked out, say). Committed."""
    user = db.get(User, user_id)
    if user is None:
        raise Refused("No such account.")
    if not user.is_active:
        raise Refused("This account is deactivated; reactivate it first.")
    _send_reset(db, user, audit.current_actor_id(), now, ADMIN_RESET_VALID)
    db.commit()
    return user


def find_open_invitation(db: Session, *, token: str, now: datetime,
                         purpose: LinkPurpose = LinkPurpose.ACTIVATION
                         ) -> tuple[Invitation, User]:
    """The unused, unexpired link of `purpose` behind `token`, or Refused with a plain reason."""
    row = db.execute(
        select(Invitation, User).join(User, User.id == Invitation.user_id)
        .where(Invitation.token_hash == hash_token(token), Invitation.purpose == purpose)
    ).first()
    if row is None:
        raise Refused(f"This link is not valid. {ASK_AGAIN[purpose]}")
    invitation, user = row
    if invitation.used_at is not None:
        raise Refused("This link has already been used. Sign in with your password.")
    if invitation.expires_at <= now or not user.is_active:
        raise Refused(f"This link has expired. {ASK_AGAIN[purpose]}")
    return invitation, user


def asks_birth_date(invitation: Invitation, user: User) -> bool:
    """A patient's activation link asks the date of birth: a link forwarded or misdelivered
    does not open the account by itself."""
    return invitation.purpose == LinkPurpose.ACTIVATION and user.role == Role.PATIENT


def accept_invitation(db: Session, *, token: str, password: str, confirm: str, now: datetime,
                      purpose: LinkPurpose = LinkPurpose.ACTIVATION,
                      date_of_birth=None) -> User:
    """Set the account's password and use up the link, in one transaction. A reset also ends
    the account's open sessions and forgives its failed sign-ins."""
    invitation, user = find_open_invitation(db, token=token, now=now, purpose=purpose)
    if asks_birth_date(invitation, user):
        _check_birth_date(db, invitation, user, date_of_birth, now)
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
    outbox.cancel(db, user_id=user.id, kind=purpose.value,  # not sent yet: moot
                  actor_id=user.id, actor_role=user.role)
    if purpose == LinkPurpose.RESET:
        end_sessions(db, user_id=user.id, reason="password reset", now=now)
        throttle.forgive(db, email=user.email)
    audit.record(db, "invitation.accepted" if purpose == LinkPurpose.ACTIVATION
                 else "password.reset", "user", user.id, actor_id=user.id, actor_role=user.role)
    db.commit()
    return user


def latest_link(db: Session, user_id: int) -> LinkStatus | None:
    """The newest activation link of the account and what became of its email, for whoever
    may resend it (a new link withdraws the older emails, so the newest email is its)."""
    link = db.scalar(select(Invitation).where(
        Invitation.user_id == user_id, Invitation.purpose == LinkPurpose.ACTIVATION)
        .order_by(Invitation.id.desc()).limit(1))
    if link is None:
        return None
    message = db.scalar(select(OutboxMessage).where(
        OutboxMessage.user_id == user_id, OutboxMessage.kind == LinkPurpose.ACTIVATION.value)
        .order_by(OutboxMessage.id.desc()).limit(1))
    return LinkStatus(link.created_at, link.expires_at, link.used_at,
                      message.sent_at if message else None,
                      message.status if message else None)


def _new_link(db: Session, user: User, purpose: LinkPurpose, issued_by: int | None,
              now: datetime, expires_at: datetime) -> tuple[str, Invitation]:
    db.execute(update(Invitation).where(
        Invitation.user_id == user.id, Invitation.purpose == purpose,
        Invitation.used_at.is_(None), Invitation.expires_at > now).values(expires_at=now))
    outbox.cancel(db, user_id=user.id, kind=purpose.value)
    token = secrets.token_urlsafe(32)
    link = Invitation(token_hash=hash_token(token), user_id=user.id, purpose=purpose.value,
                      created_by_id=issued_by, created_at=now, expires_at=expires_at)
    db.add(link)
    return token, link


def _send_reset(db: Session, user: User, issued_by: int | None, now: datetime,
                valid: timedelta) -> None:
    token, link = _new_link(db, user, LinkPurpose.RESET, issued_by, now, now + valid)
    outbox.enqueue(db, to=user, kind="reset", deadline=link.expires_at, now=now,
                   token=token, expires=link.expires_at.isoformat())
    audit.record(db, "password.reset_sent", "user", user.id,
                 summary={"expires_at": link.expires_at.isoformat(), "by_admin": bool(issued_by)})


def _check_birth_date(db: Session, invitation: Invitation, user: User, given, now) -> None:
    """Refuse a wrong date of birth, counted and committed; the last allowed one ends the
    link, so it cannot be used to guess the date."""
    born = db.scalar(select(PatientProfile.date_of_birth)
                     .where(PatientProfile.user_id == user.id))
    if given is not None and given == born:
        return
    invitation.wrong_birth_dates += 1
    left = BIRTH_DATE_TRIES - invitation.wrong_birth_dates
    if left <= 0:
        invitation.expires_at = now
    db.add(invitation)
    audit.record(db, "invitation.wrong_birth_date", "user", user.id, actor_id=user.id,
                 actor_role=user.role, summary={"tries_left": max(left, 0)})
    db.commit()
    if left <= 0:
        raise Refused("That date of birth does not match either. This link no longer works: "
                      "ask your prescriber's office for a new one.")
    raise Refused({"date_of_birth": "This date of birth does not match our records. "
                                    f"{_tries(left)} left."})


def _tries(left: int) -> str:
    return "1 try" if left == 1 else f"{left} tries"


def _inviter(user: User, inviter: User | None) -> str:
    if user.role == Role.PATIENT:
        return (f"Your prescriber's office ({inviter.name})" if inviter
                else "Your prescriber's office")
    return f"{inviter.name}, program administrator," if inviter else "The program administrator"
