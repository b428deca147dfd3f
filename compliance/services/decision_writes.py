"""What a decision on an RMA request writes, and how it reaches the database.

The request is always recorded; when an RMA is issued, the RMA too, with the cycle's move to
`authorized` and the course row (its next action); a denial writes the course's next action
only when it changed. Nothing was locked while deciding, so the writes compare and set: an
RMA is issued only if the course is still at the version the decision read (every update of
the course raises it: a positive test's suspension, an end of treatment, another request)
and the cycle still in the state it read; otherwise `LostRace` is raised and the decision
is made again on fresh rows. A partial unique index allows one live RMA per cycle whatever
happens. A denial stores its next action only over the version it read.

SQLite runs in the process, where a round trip costs nothing: the statements go one by one
and the audit events at the commit. On PostgreSQL they go as one statement, the pending
audit events included, through the driver's cursor (`driver_statements`), so the decision
costs one round trip (`_together`). That statement writes all of it or nothing, so it can
commit on its own (it is `standalone`).
"""

import json
from dataclasses import dataclass
from functools import cache

from sqlalchemy import (
    JSON,
    Text,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import AuditEvent, Course, Cycle, Rma, RmaRequest
from compliance.services.driver_statements import DriverStatement, bound
from compliance.services.retries import LostRace

_REQUEST, _RMA, _CYCLE = RmaRequest.__table__, Rma.__table__, Cycle.__table__
_COURSE, _AUDIT = Course.__table__, AuditEvent.__table__


@dataclass
class Writes:
    """A decision's writes. `cycle` and `course` hold the compare-and-set values:
    {"y_id", "y_from", "y_to"} and {"k_id", "k_version", "k_code", "k_on"}; `opened` the
    row of the month the request opens (inserted with the RMA, which takes its id), and
    `opened_event` the audit event that names that month once it has an id."""

    request: dict
    rma: dict | None = None
    cycle: dict | None = None
    course: dict | None = None
    opened: dict | None = None
    opened_event: audit.Entry | None = None


_REQUEST_VALUES = bound(_REQUEST, "q_", generated=())
_RMA_VALUES = bound(_RMA, "r_")
_INSERT_REQUEST = insert(_REQUEST).values(_REQUEST_VALUES)
_INSERT_RMA = insert(_RMA).values(_RMA_VALUES)
_CYCLE_VALUES = bound(_CYCLE, "o_")
_OPEN_CYCLE = insert(_CYCLE).values(_CYCLE_VALUES)
_AS_READ = (_CYCLE.c.id == bindparam("y_id"), _CYCLE.c.state == bindparam("y_from"))
_CYCLE_AS_READ = select(_CYCLE.c.id).where(*_AS_READ)
_MOVE_CYCLE = update(_CYCLE).where(*_AS_READ).values(state=bindparam("y_to"))
# The version is raised by the column's own `onupdate`.
_STORE_ACTION = (update(_COURSE).where(_COURSE.c.id == bindparam("k_id"),
                                       _COURSE.c.version == bindparam("k_version"))
                 .values(next_action=bindparam("k_code"), next_action_on=bindparam("k_on")))
_EVENT_COLUMNS = [c.name for c in _AUDIT.c if c.name != "id"]
_events = func.json_populate_recordset(literal_column("NULL::audit_event"),
                                       cast(bindparam("events", type_=Text), JSON)) \
    .table_valued(*_EVENT_COLUMNS)


def write(db: Session, writes: Writes) -> int | None:
    """Send the writes in the session's transaction; returns the new RMA's id."""
    connection = db.connection()
    request = _prefixed("q_", writes.request)
    if connection.dialect.name == "postgresql":
        events = json.dumps(audit.claim_pending(db), default=str)
        statement = _together(writes.rma is not None, writes.cycle is not None,
                              writes.opened is not None,
                              writes.course is not None)  # an issued RMA always has a course
        issued = statement.first(connection, request | _prefixed("r_", writes.rma or {})
                                 | _prefixed("o_", writes.opened or {})
                                 | (writes.cycle or {}) | (writes.course or {})
                                 | {"events": events})
        if writes.rma is None:
            return None
        if issued is None:
            raise LostRace("the course or the cycle changed while the request was decided")
        return issued["id"]
    stored = connection.execute(_STORE_ACTION, writes.course).rowcount if writes.course else 0
    rma_id = None
    if writes.rma is not None:
        if stored != 1:
            raise LostRace("the course changed while the request was decided")
        if writes.cycle and connection.execute(_MOVE_CYCLE, writes.cycle).rowcount != 1:
            raise LostRace("the cycle moved while the request was decided")
        if writes.opened is not None:
            writes.rma["cycle_id"] = connection.execute(
                _OPEN_CYCLE, _prefixed("o_", writes.opened)).inserted_primary_key[0]
            writes.opened_event.values["object_id"] = str(writes.rma["cycle_id"])
        rma_id = connection.execute(_INSERT_RMA, _prefixed("r_", writes.rma)) \
            .inserted_primary_key[0]
    connection.execute(_INSERT_REQUEST, request | {"q_authorization_id": rma_id})
    return rma_id


@cache
def _together(issued: bool, cycle_moves: bool, cycle_opens: bool,
              action_changes: bool) -> DriverStatement:
    """A decision's writes as one PostgreSQL statement, built once per shape.

    The inserts and updates are data-modifying CTEs, which PostgreSQL runs to completion
    whether or not the main query reads them, on one snapshot (an UPDATE that waited for a
    row lock checks its condition again on the committed row); foreign keys are checked at
    the end of the statement. When an RMA is issued, every write depends on it: the RMA is
    inserted from the course's compare-and-set (and the cycle's, when it moves), so it gets
    no row when either changed meanwhile; the request takes its id and the events are
    written only with it; the main query returns its id, or nothing. A moving cycle is
    compared inside the course's update and locked there (FOR UPDATE: a row changed
    meanwhile is checked again as committed), and moved only if the course was kept, so
    either both change or neither does. A month the request opens is inserted only if the
    course was kept (its unique number per course stops a second request opening it too);
    the RMA takes its id, and so does the event about it, which was recorded before the
    month had one (a cycle's event with no object id). The audit events arrive as one JSON
    array (any number of them, one statement shape).
    """
    events = select(*_events.c)
    if not issued:
        writes = [insert(_AUDIT).from_select(_EVENT_COLUMNS, events),
                  *([_STORE_ACTION] if action_changes else [])]
        return DriverStatement(_INSERT_REQUEST.add_cte(*_as_ctes(writes)), standalone=True)
    kept = _STORE_ACTION
    if cycle_moves:  # the cycle is locked in the state read, or the course is not kept
        kept = kept.where(exists(_CYCLE_AS_READ.with_for_update()))
    anchor = kept.returning(_COURSE.c.id).cte("course_kept")
    rma_values = dict(_RMA_VALUES)
    if cycle_moves:
        anchor = _MOVE_CYCLE.where(exists(select(anchor.c.id))) \
            .returning(_CYCLE.c.id).cte("cycle_moved")
    if cycle_opens:
        anchor = insert(_CYCLE).from_select(
            list(_CYCLE_VALUES), select(*_CYCLE_VALUES.values()).select_from(anchor)) \
            .returning(_CYCLE.c.id).cte("cycle_opened")
        rma_values["cycle_id"] = anchor.c.id
        events = select(*(_named_opened(column, anchor) for column in _events.c))
    new_rma = insert(_RMA).from_select(
        list(rma_values), select(*rma_values.values()).select_from(anchor)) \
        .returning(_RMA.c.id).cte("new_rma")
    request = select(*(new_rma.c.id if name == "authorization_id" else value
                       for name, value in _REQUEST_VALUES.items()))
    writes = [insert(_REQUEST).from_select(list(_REQUEST_VALUES), request),
              insert(_AUDIT).from_select(_EVENT_COLUMNS,
                                         events.where(exists(select(new_rma.c.id))))]
    return DriverStatement(select(new_rma.c.id).add_cte(*_as_ctes(writes)), standalone=True)


def _named_opened(column, opened):
    """An event's column, with a cycle's missing object id filled by the opened month's."""
    if column.name != "object_id":
        return column
    unnamed = and_(_events.c.object_type == "cycle", column == "")
    return case((unnamed, cast(select(opened.c.id).scalar_subquery(), Text)),
                else_=column).label("object_id")


def _as_ctes(statements: list) -> list:
    return [statement.cte(f"write_{n}") for n, statement in enumerate(statements)]


def _prefixed(prefix: str, values: dict) -> dict:
    return {prefix + name: value for name, value in values.items()}
