"""Writing the audit log.

`record()` adds an event to the request's session; the service that made the change
commits both together, so an event exists exactly when its change does.
"""

import json
from typing import Any

from flask import g, has_request_context, request
from flask_login import current_user
from sqlalchemy.orm import Session

from compliance.models import AuditEvent


def record(
    session: Session,
    action: str,
    object_type: str,
    object_id: Any = "",
    *,
    summary: dict | None = None,
    actor_id: int | None = None,
    actor_role: str | None = None,
) -> AuditEvent:
    """Add one audit event for a change or a read, attributed to the current user.

    `actor_id` and `actor_role` override the current user for events with no logged-in
    actor yet (a failed login, an invitation accepted).
    """
    actor, role = _current_actor()
    summary = json.loads(json.dumps(summary or {}, default=str))
    event = AuditEvent(
        actor_user_id=actor_id if actor_id is not None else actor,
        actor_role=actor_role or role,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        summary=summary,
        request_id=g.get("request_id", "") if has_request_context() else "",
        address=request.remote_addr or "" if has_request_context() else "",
    )
    session.add(event)
    return event


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
