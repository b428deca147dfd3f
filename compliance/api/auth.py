"""Bearer keys for pharmacy systems, and the audit record of every call made with one.

`@pharmacy_system` is to the API what `@roles_required` is to the pages: it admits a call
carrying a live key of a pharmacy whose certification is in force, puts that pharmacy's
row in `g.api_pharmacy`, and declares the audience so the route audit accepts
the view.

Every call leaves one `api.<view>` event. It is attached to the call's transaction before
the view runs, saying the status the view declares, so a call answered as declared is
audited by the view's own commit; a call that committed nothing gets its event (with the
real status) in one commit afterwards. A call whose change was committed and that was then
answered otherwise (an error after the commit) keeps its event and gets a second one,
`api.answered_after_commit`, with the status actually sent.
"""

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from flask import Response, g, request
from sqlalchemy import event, or_, update
from sqlalchemy.orm import Session

from compliance import audit, clock
from compliance.api.problems import problem
from compliance.db import get_session
from compliance.identifiers import is_valid_npi
from compliance.models import ApiKey
from compliance.services import api_keys
from compliance.services.api_keys import Caller
from compliance.services.facts import pharmacy_certified_today

ROLE = "pharmacy_system"
# The pharmacist at the counter behind a system's call, by NPI, for the audit log.
PHARMACIST_HEADER = "X-Pharmacist-NPI"
# Writing `last_used_at` on every call would turn every read into a write.
LAST_USED_RESOLUTION = timedelta(seconds=60)
CHALLENGE = 'Bearer realm="api"'


Refuse = Callable[..., Response]  # (status, detail, *, kind, headers) -> the surface's error


def keyed_pharmacy(refuse: Refuse, status: int = 200) -> Callable:
    """`@pharmacy_system` for a surface with its own error format (FHIR's OperationOutcome,
    NCPDP's Error): the same keys, certification check and audit, refusals in `refuse`."""

    def decorator(view: Callable) -> Callable:
        declared = getattr(getattr(view, "operation", None), "status", status)

        @wraps(view)
        def guarded(*args, **kwargs):
            db = get_session()
            caller = _caller(db)
            if caller is None:
                return _answered(db, refuse(401, "Send a valid API key: Authorization: "
                                                 "Bearer <key>.", kind="unauthenticated",
                                            headers={"WWW-Authenticate": _challenge()}), None)
            if not in_force(caller.pharmacy):
                return _answered(db, refuse(403, "This pharmacy's certification is not in "
                                                 "force; it cannot use the API.",
                                            kind="not-certified"), caller)
            _touch(db, caller)
            g.api_pharmacy = caller.pharmacy
            call = _record_call(db, caller, declared)
            try:
                response = view(*args, **kwargs)
            except Exception:
                db.rollback()
                _settled(db, call, Response(status=500), caller)
                raise
            return _settled(db, call, response, caller)

        guarded.required_roles = frozenset({ROLE})
        return guarded

    return decorator


# Admit only calls with a live key of a certified pharmacy; audit every call.
pharmacy_system = keyed_pharmacy(problem)


def in_force(pharmacy) -> bool:
    """Certified today, as every decision decides it (program time zone)."""
    return pharmacy_certified_today(pharmacy, clock.today())


def _caller(db: Session) -> Caller | None:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return None
    return api_keys.authenticate(db, presented.strip(), clock.now())


def _challenge() -> str:
    if request.headers.get("Authorization"):
        return CHALLENGE + ', error="invalid_token"'
    return CHALLENGE


def _touch(db: Session, caller: Caller) -> None:
    """Note when the key was last used, at most once a minute, with the call's commit.

    Written just before that commit, not now: on SQLite an early write would hold the one
    writer's lock through the whole call. Of calls racing in the same minute, one writes.
    """
    now = clock.now()
    used = caller.key.last_used_at
    if used is not None and now - used < LAST_USED_RESOLUTION:
        return
    stale = now - LAST_USED_RESOLUTION
    touch = (update(ApiKey).where(ApiKey.id == caller.key.id,
                                  or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < stale))
             .values(last_used_at=now).execution_options(synchronize_session=False))
    event.listen(db, "before_commit", lambda session: _note_use(session, touch), once=True)


def _note_use(session: Session, touch) -> None:
    session.execute(touch)


def _record_call(db: Session, caller: Caller | None, status: int,
                 action: str = "") -> audit.Entry:
    """The call in the audit log: the key, and the pharmacist behind it when the pharmacy
    system names one (`PHARMACIST_HEADER`, an NPI; a malformed one is kept as such)."""
    endpoint = (request.endpoint or "").rpartition(".")[2]
    return audit.record(db, (action or f"api.{endpoint}")[:60], "pharmacy",
                        caller.pharmacy.id if caller else "",
                        summary={"method": request.method, "path": request.path[:200],
                                 "status": status, "key": caller.key.prefix if caller else None,
                                 **_pharmacist()},
                        actor_role=ROLE if caller else "anonymous")


def _pharmacist() -> dict:
    given = request.headers.get(PHARMACIST_HEADER)
    if given is None:
        return {}
    given = given.strip()
    return {"pharmacist_npi": given} if is_valid_npi(given) else \
        {"pharmacist_npi_malformed": given[:20]}


def _settled(db: Session, call: audit.Entry, response: Response,
             caller: Caller) -> Response:
    """Make the audit say what was answered, committing only what the view left pending."""
    status = response.status_code
    if call.state == audit.EntryState.WRITTEN:
        if call.values["summary"]["status"] != status:
            _record_call(db, caller, status, "api.answered_after_commit")
        if audit.has_pending(db):
            db.commit()
        return response
    if call.state == audit.EntryState.PENDING:
        call.values["summary"]["status"] = status
    else:  # dropped with the transaction the view rolled back
        _record_call(db, caller, status)
    db.commit()
    return response


def _answered(db: Session, response: Response, caller: Caller | None) -> Response:
    """Audit a call answered without its view (refused, or failed), in one commit."""
    _record_call(db, caller, response.status_code)
    db.commit()
    return response
