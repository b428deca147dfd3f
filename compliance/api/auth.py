"""Bearer keys for pharmacy systems, and the audit record of every call made with one.

`@pharmacy_system` is to the API what `@roles_required` is to the pages: it admits a call
carrying a live key of a pharmacy whose certification is in force, puts that pharmacy (a
plain record) in `g.api_pharmacy`, and declares the audience so the route audit accepts
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

from flask import Response, current_app, g, request
from sqlalchemy import Connection, bindparam, event, or_, update
from sqlalchemy.orm import Session

from compliance import audit, clock
from compliance.api.problems import problem
from compliance.db import get_session
from compliance.models import ApiKey
from compliance.services import api_keys
from compliance.services.api_keys import Caller
from compliance.services.driver_statements import DriverStatement
from compliance.services.facts import pharmacy_certified_today

ROLE = "pharmacy_system"
# Writing `last_used_at` on every call would turn every read into a write.
LAST_USED_RESOLUTION = timedelta(seconds=60)
CHALLENGE = 'Bearer realm="api"'
_KEY = ApiKey.__table__
# Compare-and-set: of calls racing in the same minute, one writes and none waits long.
_TOUCH = DriverStatement(
    update(_KEY).where(_KEY.c.id == bindparam("key_id"),
                       or_(_KEY.c.last_used_at.is_(None), _KEY.c.last_used_at < bindparam("stale")))
    .values(last_used_at=bindparam("now")), standalone=True)


def pharmacy_system(view: Callable) -> Callable:
    """Admit only calls with a live key of a certified pharmacy; audit every call."""
    declared = view.operation.status

    @wraps(view)
    def guarded(*args, **kwargs):
        db = get_session()
        caller = _caller(db)
        if caller is None:
            return _answered(db, problem(401, "Send a valid API key: Authorization: Bearer "
                                              "<key>.", kind="unauthenticated",
                                         headers={"WWW-Authenticate": _challenge()}), None)
        if not in_force(caller.pharmacy):
            return _answered(db, problem(403, "This pharmacy's certification is not in force; "
                                              "it cannot use the API.", kind="not-certified"),
                             caller)
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


def in_force(pharmacy) -> bool:
    """Certified today, as every decision decides it (program time zone)."""
    return pharmacy_certified_today(pharmacy, clock.today())


def _caller(db: Session) -> Caller | None:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return None
    return api_keys.authenticate(db, presented.strip(),
                                 trust_for=current_app.config["API_KEY_RECHECK_MS"] / 1000)


def _challenge() -> str:
    if request.headers.get("Authorization"):
        return CHALLENGE + ', error="invalid_token"'
    return CHALLENGE


def _touch(db: Session, caller: Caller) -> None:
    """Note when the key was last used, at most once a minute.

    On PostgreSQL it is written now, as its own transaction: an RMA request's write commits
    on its own (`driver_statements`), and nothing may be left to fail after it, or a call
    whose RMA was issued would be answered 500. On SQLite it is written just before the
    call's commit, in its transaction: an early write would hold the one writer's lock
    through the whole call (the idempotency claim waits for it).
    """
    now = clock.now()
    if caller.last_used_at is not None and now - caller.last_used_at < LAST_USED_RESOLUTION:
        return
    touch = {"key_id": caller.key_id, "now": now, "stale": now - LAST_USED_RESOLUTION}
    connection = db.connection()
    if connection.dialect.name == "postgresql":
        _note_use(connection, caller, touch)
    else:
        event.listen(db, "before_commit",
                     lambda session: _note_use(session.connection(), caller, touch), once=True)


def _note_use(connection: Connection, caller: Caller, touch: dict) -> None:
    _TOUCH.rows(connection, touch)
    api_keys.RECENT_KEYS.used(caller.prefix, touch["now"])


def _record_call(db: Session, caller: Caller | None, status: int,
                 action: str = "") -> audit.Entry:
    endpoint = (request.endpoint or "").rpartition(".")[2]
    return audit.record(db, (action or f"api.{endpoint}")[:60], "pharmacy",
                        caller.pharmacy.id if caller else "",
                        summary={"method": request.method, "path": request.path[:200],
                                 "status": status, "key": caller.prefix if caller else None},
                        actor_role=ROLE if caller else "anonymous")


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
