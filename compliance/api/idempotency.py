"""`Idempotency-Key` on POST: a retry gets the first answer again instead of a second act.

The key is claimed first, with a unique insert in a short transaction of its own, so a
duplicate sent while the first is still being handled finds it `in_flight` (409). Once the
request is answered, the answer is stored with the key; a request that failed (an
exception or a 5xx) releases the key so the client can try again. Keys are remembered for
`RETENTION`: an older one found when claiming is forgotten there and then, and
`flask maintenance prune-idempotency-keys` deletes the rest. One still `in_flight` after
`LEASE` is taken to be abandoned by a dead worker: no request outlives gunicorn's 30-second
worker timeout, so after a minute the first is surely gone, and a pharmacy retrying after
a crash waits that long at most. Should it not be, the database's own keys (one RMA per
month, one fill per RMA) still stop a second act.
"""

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps

from flask import Response, g, request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from compliance import clock
from compliance.api.problems import problem
from compliance.db import get_engine, get_session
from compliance.models import IdempotencyKey, KeyState

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, as header values travel
RETENTION = timedelta(hours=24)
LEASE = timedelta(seconds=60)  # twice gunicorn's default worker timeout
REPLAYED = "Idempotent-Replayed"


def idempotent(view: Callable | None = None, *, required: bool = False) -> Callable:
    """Honour `Idempotency-Key` on this view (inside `@pharmacy_system`: keys are per
    pharmacy); `required`: refuse a request without one (400)."""
    if view is None:
        return lambda decorated: idempotent(decorated, required=required)

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None and required:
            return problem(400, f"Send an {HEADER} with this request, so that a retry after "
                           "a timeout cannot record it twice.", kind="idempotency-key-required")
        if key is None:
            return view(*args, **kwargs)
        if not KEY_PATTERN.fullmatch(key):
            return problem(400, f"{HEADER} must be 1 to 255 visible ASCII characters.",
                           kind="invalid-idempotency-key")
        return once(key, lambda: view(*args, **kwargs))

    return wrapper


def once(key: str, answer: Callable[[], Response], *, refuse: Callable = problem,
         named: str = HEADER) -> Response:
    """Answer this pharmacy's request under `key` once: a retry gets the stored answer.

    `refuse` renders the refusals (a reused key, one still in flight) in the surface's
    format, and `named` is what the key is called there (NCPDP's MessageID)."""
    claimed = _claim(g.api_pharmacy.id, key, _fingerprint(), clock.now(), refuse, named)
    if isinstance(claimed, Response):
        return claimed
    try:
        response = answer()
    except Exception:
        get_session().rollback()
        _release(claimed)
        raise
    if response.status_code >= 500:
        _release(claimed)
    else:
        _complete(claimed, response)
    return response


def _fingerprint() -> str:
    """What was asked: method, path and body (JSON compared by meaning, not by spacing)."""
    raw = request.get_data(cache=True)
    try:
        body = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        body = raw
    return hashlib.sha256(f"{request.method} {request.path}\n".encode() + body).hexdigest()


def _claim(pharmacy_id: int, key: str, fingerprint: str, now: datetime, refuse: Callable,
           named: str) -> int | Response:
    """The id of the claimed key row, or the answer for a key already used."""
    with Session(get_engine()) as db:
        for _attempt in range(2):  # a second try only after forgetting an expired key
            row = IdempotencyKey(pharmacy_id=pharmacy_id, key=key, request_hash=fingerprint,
                                 created_at=now)
            db.add(row)
            try:
                db.commit()
                return row.id
            except IntegrityError:
                db.rollback()
            first = db.scalar(select(IdempotencyKey).where(
                IdempotencyKey.pharmacy_id == pharmacy_id, IdempotencyKey.key == key))
            if first is None:  # released between our insert and this read: the client may retry
                return _in_flight(refuse, named)
            if first.created_at >= now - RETENTION:
                return _answer_for(db, first, fingerprint, now, refuse, named)
            _forget(db, first)
        return _in_flight(refuse, named)


def _answer_for(db: Session, first: IdempotencyKey, fingerprint: str, now: datetime,
                refuse: Callable, named: str) -> int | Response:
    """A key in use: the stored answer, 422 for another body, or 409 while in flight."""
    if first.request_hash != fingerprint:
        return refuse(422, f"This {named} was already used for a different request; "
                           "use a new one for a new request.", kind="idempotency-key-reused")
    if first.state == KeyState.DONE:
        return _replay(first)
    if first.created_at < now - LEASE and _take_over(db, first, now):
        return first.id
    return _in_flight(refuse, named)


def _forget(db: Session, row: IdempotencyKey) -> None:
    """Delete a key older than the retention (compare-and-set: once, whoever does it)."""
    db.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row.id,
                                            IdempotencyKey.created_at == row.created_at))
    db.commit()


def prune(db: Session, *, now: datetime) -> int:
    """Delete every key older than the retention; returns how many (not committed)."""
    return db.execute(delete(IdempotencyKey).where(
        IdempotencyKey.created_at < now - RETENTION)).rowcount


def _take_over(db: Session, row: IdempotencyKey, now: datetime) -> bool:
    """Claim a key abandoned in flight; compare-and-set so only one retry wins."""
    taken = db.execute(update(IdempotencyKey).where(
        IdempotencyKey.id == row.id, IdempotencyKey.state == KeyState.IN_FLIGHT,
        IdempotencyKey.created_at == row.created_at).values(created_at=now))
    db.commit()
    return taken.rowcount == 1


def _in_flight(refuse: Callable, named: str) -> Response:
    return refuse(409, f"A request with this {named} is still being handled; retry shortly.",
                  kind="request-in-flight", headers={"Retry-After": "1"})


def _replay(row: IdempotencyKey) -> Response:
    response = Response(row.body, status=row.status_code, content_type=row.content_type)
    response.headers[REPLAYED] = "true"
    return response


def _complete(row_id: int, response: Response) -> None:
    with Session(get_engine()) as db:
        db.execute(update(IdempotencyKey).where(IdempotencyKey.id == row_id).values(
            state=KeyState.DONE.value, status_code=response.status_code,
            content_type=response.content_type, body=response.get_data(as_text=True),
            completed_at=clock.now()))
        db.commit()


def _release(row_id: int) -> None:
    with Session(get_engine()) as db:
        db.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row_id))
        db.commit()
