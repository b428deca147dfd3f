"""Bearer keys for pharmacy systems, and the audit record of every call made with one.

`@pharmacy_system` is to the API what `@roles_required` is to the pages: it admits a call
carrying a live key of a pharmacy whose certification is in force, puts that pharmacy in
`g.api_pharmacy`, and declares the audience so the route audit accepts the view.
"""

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from flask import Response, g, request
from sqlalchemy import update

from compliance import audit, clock
from compliance.api.problems import problem
from compliance.db import get_session
from compliance.models import ApiKey, Pharmacy
from compliance.services import api_keys
from compliance.services.facts import pharmacy_certification

ROLE = "pharmacy_system"
# Writing `last_used_at` on every call would turn every read into a write.
LAST_USED_RESOLUTION = timedelta(seconds=60)
CHALLENGE = 'Bearer realm="api"'


def pharmacy_system(view: Callable) -> Callable:
    """Admit only calls with a live key of a certified pharmacy; audit every call."""

    @wraps(view)
    def guarded(*args, **kwargs):
        db = get_session()
        key = _live_key(db)
        if key is None:
            return _audited(problem(401, "Send a valid API key: Authorization: Bearer <key>.",
                                    kind="unauthenticated",
                                    headers={"WWW-Authenticate": _challenge()}), None)
        pharmacy = db.get(Pharmacy, key.pharmacy_id)
        if not in_force(pharmacy):
            return _audited(problem(403, "This pharmacy's certification is not in force; "
                                         "it cannot use the API.", kind="not-certified"), key)
        _touch(db, key)
        g.api_pharmacy, g.api_key = pharmacy, key
        try:
            response = view(*args, **kwargs)
        except Exception:
            db.rollback()
            _audited(Response(status=500), key)
            raise
        return _audited(response, key)

    guarded.required_roles = frozenset({ROLE})
    return guarded


def in_force(pharmacy: Pharmacy) -> bool:
    """Certified, and today inside the certification's dates (program time zone)."""
    fact = pharmacy_certification(pharmacy)
    today = clock.today()
    return fact is not None and fact.activated_on <= today and \
        (fact.revoked_on is None or today <= fact.revoked_on)


def _live_key(db) -> ApiKey | None:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return None
    return api_keys.authenticate(db, presented.strip())


def _challenge() -> str:
    if request.headers.get("Authorization"):
        return CHALLENGE + ', error="invalid_token"'
    return CHALLENGE


def _touch(db, key: ApiKey) -> None:
    """Note when the key was last used, at most once a minute, in its own small commit."""
    now = clock.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    db.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    db.commit()
    key.last_used_at = now


def _audited(response: Response, key: ApiKey | None) -> Response:
    """One audit event per call, reads and refusals included, after the call's own commit."""
    db = get_session()
    endpoint = (request.endpoint or "").rpartition(".")[2]
    audit.record(db, f"api.{endpoint}"[:60], "pharmacy", key.pharmacy_id if key else "",
                 summary={"method": request.method, "path": request.path[:200],
                          "status": response.status_code, "key": key.prefix if key else None},
                 actor_role=ROLE if key else "anonymous")
    db.commit()
    return response
