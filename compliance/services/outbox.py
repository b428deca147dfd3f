"""The email outbox: messages recorded with the change that causes them, delivered later.

`enqueue` writes a message into the caller's transaction: a change that rolls back sends
nothing, a committed one is never forgotten. A worker (`compliance.worker`) then `claim`s
due messages, a few at a time, and `deliver`s each one, rendered from its templates then:

* a claim holds a message for `OUTBOX_LEASE_SECONDS`, far longer than the SMTP timeout, and
  is taken with `FOR UPDATE SKIP LOCKED` and a conditional update, so workers on any number
  of hosts never take the same message; a worker that dies mid-send leaves its claim to
  expire, and the message is sent again with the same Message-ID;
* a failed attempt is retried with a doubling delay, and the retries stop at the message's
  deadline (the day it is about, the link's expiry): a late reminder would mislead;
* every attempt is audited; a settled message keeps its row (kind, recipient, subject, when)
  as the record of what was sent, and loses its context, which may hold a link's token.
"""

import smtplib
from datetime import datetime, timedelta
from uuid import uuid4

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from compliance import audit, mailer
from compliance.models import MessageStatus, OutboxMessage, User

FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)


def enqueue(db: Session, *, to: User, kind: str, deadline: datetime, now: datetime,
            once_key: str | None = None, **context) -> OutboxMessage | None:
    """Write a message of `kind` for `to` in the caller's transaction; not committed. Its
    templates (`mail/<kind>.subject.txt`, `.txt`, `.html`) are rendered when it is sent,
    from `context` (plain JSON values). With `once_key`, a message already written under
    that key means this one is not: None."""
    if once_key and db.scalar(select(OutboxMessage.id).where(OutboxMessage.once_key == once_key)):
        return None
    message = OutboxMessage(
        message_id=uuid4().hex, once_key=once_key, kind=kind, user_id=to.id,
        to_address=to.email, context=context, status=MessageStatus.PENDING.value,
        created_at=now, next_attempt_at=now, deadline=deadline)
    db.add(message)
    db.flush()
    audit.record(db, "mail.queued", "outbox_message", message.id,
                 summary={"kind": kind, "user": to.id})
    return message


def cancel(db: Session, *, user_id: int, kind: str, **actor) -> int:
    """Withdraw the user's unsent messages of `kind` (a newer link replaced theirs, or it was
    used already); not committed. Returns how many. `actor` as for `audit.record`."""
    found = db.scalars(select(OutboxMessage).where(
        OutboxMessage.user_id == user_id, OutboxMessage.kind == kind,
        OutboxMessage.status == MessageStatus.PENDING)).all()
    for message in found:
        _settle(message, MessageStatus.CANCELLED)
        audit.record(db, "mail.cancelled", "outbox_message", message.id,
                     summary={"kind": kind}, **actor)
    return len(found)


def claim(db: Session, *, now: datetime, limit: int = 10) -> list[OutboxMessage]:
    """Take up to `limit` due messages for this worker, committed; each is held until its
    lease ends."""
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    claimable = or_(
        and_(OutboxMessage.status == MessageStatus.PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == MessageStatus.SENDING, OutboxMessage.claimed_until <= now))
    candidates = db.scalars(select(OutboxMessage.id).where(claimable)
                            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                            .limit(limit).with_for_update(skip_locked=True)).all()
    if not candidates:
        db.rollback()
        return []
    taken = db.scalars(update(OutboxMessage)
                       .where(OutboxMessage.id.in_(candidates), claimable)
                       .values(status=MessageStatus.SENDING.value, claimed_until=now + lease,
                               attempts=OutboxMessage.attempts + 1)
                       .returning(OutboxMessage.id)).all()
    db.commit()
    return list(db.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(taken))
                           .order_by(OutboxMessage.id)))


def deliver(db: Session, message: OutboxMessage, *, now) -> bool:
    """Send one claimed message and record the outcome, committed; True if it went.

    `now` is a callable: the outcome is stamped when the attempt ends, not when it began.
    """
    if now() >= message.deadline:  # claimed too late (the workers were down): say nothing
        _give_up(db, message, {"kind": message.kind, "attempt": message.attempts,
                               "error": "deadline passed"}, permanent=False)
        db.commit()
        return False
    try:
        where = mailer.send(message, db.get(User, message.user_id))
    except smtplib.SMTPException as exc:
        _failed(db, message, exc, now(), permanent=_permanent(exc))
    except OSError as exc:  # the server could not be reached
        _failed(db, message, exc, now(), permanent=False)
    else:
        message.sent_at = now()
        _settle(message, MessageStatus.SENT)
        audit.record(db, "mail.sent", "outbox_message", message.id, actor_role="system",
                     summary={"kind": message.kind, "attempt": message.attempts,
                              "via": "smtp" if where == "smtp" else "file"})
    db.add(message)
    db.commit()
    return message.status == MessageStatus.SENT


def deliver_due(db: Session, *, now, limit: int = 10) -> int:
    """Claim and deliver due messages until none is left; returns how many went."""
    sent = 0
    while batch := claim(db, now=now(), limit=limit):
        sent += sum(deliver(db, message, now=now) for message in batch)
    return sent


def _failed(db: Session, message: OutboxMessage, exc: Exception, at: datetime, *,
            permanent: bool) -> None:
    """Schedule the next try, or give up when the server refused for good or the next try
    would come after the deadline."""
    message.last_error = f"{type(exc).__name__}: {exc}"[:300]
    delay = min(FIRST_RETRY * 2 ** (message.attempts - 1), LONGEST_RETRY)
    summary = {"kind": message.kind, "attempt": message.attempts,
               "error": type(exc).__name__}
    if permanent or at + delay >= message.deadline:
        _give_up(db, message, summary, permanent=permanent)
        return
    message.status, message.claimed_until = MessageStatus.PENDING.value, None
    message.next_attempt_at = at + delay
    audit.record(db, "mail.attempt_failed", "outbox_message", message.id, actor_role="system",
                 summary=summary | {"next_attempt_at": message.next_attempt_at.isoformat()})


def _give_up(db: Session, message: OutboxMessage, summary: dict, *, permanent: bool) -> None:
    _settle(message, MessageStatus.FAILED)
    db.add(message)
    audit.record(db, "mail.gave_up", "outbox_message", message.id, actor_role="system",
                 summary=summary | {"permanent": permanent})


def _permanent(exc: smtplib.SMTPException) -> bool:
    """A 5xx reply (no such mailbox, refused) will not change on a retry."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


def _settle(message: OutboxMessage, status: MessageStatus) -> None:
    message.status, message.claimed_until = status.value, None
    message.context = {}
