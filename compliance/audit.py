"""Writing the audit log.

`record()` attaches an event to the session's transaction. When that transaction commits,
its events are inserted just before the commit, all in one statement, so an event exists
exactly when its change does; when it rolls back, its events are dropped with it. This is
the only way events are written.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flask import g, has_request_context, request
from flask_login import current_user
from sqlalchemy import event, insert
from sqlalchemy.orm import Session, SessionTransaction

from compliance.models import AuditEvent
from compliance.models.types import utcnow

_PENDING = "audit.pending"  # session.info key: (transaction, [entries])
_INSERT = insert(AuditEvent.__table__)


class EntryState(StrEnum):
    PENDING = "pending"  # attached to an open transaction
    WRITTEN = "written"  # committed
    DROPPED = "dropped"  # its transaction rolled back


@dataclass
class Entry:
    """An event attached to a transaction: pending until it commits or rolls back."""

    values: dict
    state: EntryState = EntryState.PENDING


def record(
    session: Session,
    action: str,
    object_type: str,
    object_id: Any = "",
    *,
    summary: dict | None = None,
    actor_id: int | None = None,
    actor_role: str | None = None,
) -> Entry:
    """Attach one audit event for a change or a read, attributed to the current user.

    `actor_id` and `actor_role` override the current user for events with no logged-in
    actor yet (a failed login, an invitation accepted).
    """
    actor, role = _current_actor()
    entry = Entry({
        "occurred_at": utcnow(),
        "actor_user_id": actor_id if actor_id is not None else actor,
        "actor_role": actor_role or role,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "summary": _snapshot(summary or {}),
        "request_id": g.get("request_id", "") if has_request_context() else "",
        "address": request.remote_addr or "" if has_request_context() else "",
    })
    _pending(session).append(entry)
    return entry


def transitions(session: Session, object_type: str, object_id: Any) -> Callable:
    """A state machine flow's `on_transition`: each transition it makes as an event
    `<object_type>.<event>` with its source and destination states (it returns the entry)."""
    return lambda t: record(session, f"{object_type}.{t.event}", object_type, object_id,
                            summary={"state": [t.source, t.dest]})


def has_pending(session: Session) -> bool:
    """Whether the session's transaction holds events its commit would still write."""
    return any(entry.state == EntryState.PENDING for entry in _held(session))


def changes(old: dict, new: dict) -> dict:
    """Summarise what changed between two snapshots: {field: [old, new]}."""
    return {key: [old.get(key), new[key]] for key in new if old.get(key) != new[key]}


def current_actor_id() -> int | None:
    """The signed-in user's id, or None for the command line and anonymous requests."""
    return _current_actor()[0]


def _current_actor() -> tuple[int | None, str]:
    if has_request_context() and g.get("api_pharmacy") is not None:
        return None, "pharmacy_system"
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id, current_user.role
    return None, "anonymous" if has_request_context() else "system"


_PLAIN = (str, int, float, bool, type(None))


def _snapshot(value: Any) -> Any:
    """A copy of `value` as JSON gives it back (dates and the like as strings), so a later
    change to the caller's dict does not reach the event. Plain values are copied as they
    are, which costs a fraction of a JSON round trip; anything else takes one."""
    if type(value) in _PLAIN:
        return value
    if type(value) is dict and all(type(key) is str for key in value):
        return {key: _snapshot(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return [_snapshot(item) for item in value]
    return json.loads(json.dumps(value, default=str))


def _held(session: Session) -> list[Entry]:
    """The entries of the session's open transaction (none when it holds none)."""
    held = session.info.get(_PENDING)
    return held[1] if held is not None and held[0] is session.get_transaction() else []


def _pending(session: Session) -> list[Entry]:
    """The entries of the session's transaction, beginning one if none is open, so that an
    event recorded before any query still belongs to a transaction that can roll back.

    Events belong to the outermost transaction; one recorded inside a savepoint could
    outlive the savepoint's rollback, so that is refused.
    """
    if session.in_nested_transaction():
        raise RuntimeError("audit events cannot be recorded inside a savepoint")
    transaction = session.get_transaction()
    if transaction is None:
        session.connection()
        transaction = session.get_transaction()
    held = session.info.get(_PENDING)
    if held is None or held[0] is not transaction:
        held = session.info[_PENDING] = (transaction, [])
    return held[1]


# Both commit hooks also fire when a savepoint is released; the events wait for the
# outermost commit.
@event.listens_for(Session, "before_commit")
def _insert_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return
    rows = [entry.values for entry in _held(session) if entry.state == EntryState.PENDING]
    if rows:
        session.connection().execute(_INSERT, rows)


@event.listens_for(Session, "after_commit")
def _mark_written(session: Session) -> None:
    if session.in_nested_transaction():
        return
    held = session.info.pop(_PENDING, None)
    for entry in held[1] if held else ():
        entry.state = EntryState.WRITTEN


@event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction: SessionTransaction) -> None:
    held = session.info.get(_PENDING)
    if held is not None and held[0] is transaction:
        del session.info[_PENDING]
        for entry in held[1]:
            entry.state = EntryState.DROPPED
