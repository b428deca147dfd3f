"""The course a request for an RMA is about, read as plain records in one statement.

A pharmacy's request names a patient by program ID and date of birth. One query finds the
patient, the prescriber and the latest course (`_SUBJECT`), and with them every row the
rules read: the latest cycle and its RMAs, the methods, the tests and the fills, as one
`UNION ALL` whose branches share a row layout (`_LAYOUT`), each row carrying the subject's
columns. One statement reads one snapshot, so the facts are consistent; nothing is locked:
the decision's writes compare and set the course's version and the cycle's state (see
`decision_writes`). This runs for
every RMA request, so it costs one round trip, builds no ORM objects and goes through the
driver's cursor (`driver_statements`). `facts.load_rows`
gives the same `CourseRows` for ORM rows (a test holds both to the same facts).
"""

from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    Integer,
    Select,
    String,
    bindparam,
    cast,
    literal_column,
    null,
    select,
    true,
    union_all,
)

from compliance.models import (
    ContraceptionMethod,
    Course,
    Cycle,
    Dispense,
    PatientProfile,
    PregnancyTest,
    PrescriberProfile,
    Rma,
)
from compliance.models.types import UTCDateTime
from compliance.services.driver_statements import DriverStatement
from compliance.services.facts import CourseRows, current_cycle
from compliance.services.records import labelled, record

_PATIENT, _PRESCRIBER = PatientProfile.__table__, PrescriberProfile.__table__
_COURSE, _CYCLE, _RMA = Course.__table__, Cycle.__table__, Rma.__table__

# The subject's fields, by the record they make up: {prefix: (table, column names)}.
_SUBJECT_FIELDS = {
    "patient": (_PATIENT, ("id", "program_patient_id", "program", "category")),
    "prescriber": (_PRESCRIBER, ("npi", "certification_status", "certified_on",
                                 "certification_expires_on")),
    "course": (_COURSE, ("id", "program", "state", "enrollment_signature_id", "counseled_on",
                         "home_testing_enabled", "irregular_cycles", "last_dose_on",
                         "resumed_on", "registry_reported_on",
                         "next_action", "next_action_on", "version")),
}

_newer = _COURSE.alias("newer")
_SUBJECT = (
    select(*(column for prefix, (table, names) in _SUBJECT_FIELDS.items()
             for column in labelled(prefix, table, names)))
    .select_from(_PATIENT.join(_PRESCRIBER, _PRESCRIBER.c.id == _PATIENT.c.prescriber_id)
                 .join(_COURSE, _COURSE.c.patient_id == _PATIENT.c.id))
    .where(_PATIENT.c.program_patient_id == bindparam("patient_id"),
           _PATIENT.c.date_of_birth == bindparam("born"),
           ~select(_newer.c.id).where(_newer.c.patient_id == _PATIENT.c.id,
                                      _newer.c.id > _COURSE.c.id).exists())
    .cte("subject")
)
_course_id = select(_SUBJECT.c.course_id).scalar_subquery()

# The shared row layout: slot -> type. Each kind of row puts its columns in named slots
# ({column: slot}); `kind` says which layout a row has. Rows of a kind come ordered by
# `first_day`, then `id`, as `load_rows` orders them.
_SLOTS = {"number": Integer, "count": Integer, "code": String, "result": String,
          "setting": String, "first_day": Date, "last_day": Date, "flag": Boolean,
          "first_at": UTCDateTime, "second_at": UTCDateTime, "data": JSON}
_LAYOUT = {
    "cycle": (_CYCLE, {"number": "number", "failed_quiz_attempts": "count", "state": "code",
                       "quiz_passed": "flag", "prescriber_confirmed_at": "first_at",
                       "patient_attested_at": "second_at",
                       "patient_confirmed_methods": "data"}),
    "rma": (_RMA, {"status": "code", "do_not_dispense_after": "last_day",
                   "pharmacy_id": "number"}),
    "method": (ContraceptionMethod.__table__,
               {"method": "code", "started_on": "first_day", "stopped_on": "last_day",
                "in_error_at": "first_at"}),
    "test": (PregnancyTest.__table__,
             {"kind": "code", "result": "result", "setting": "setting",
              "specimen_on": "first_day", "sensitivity_miu": "number",
              "verified_by_prescriber": "flag", "in_error_at": "first_at"}),
    "dispense": (Dispense.__table__, {"dispensed_on": "first_day", "days_supply": "number"}),
}


def _branch(kind: str, condition) -> Select:
    table, placed = _LAYOUT[kind]
    slot_of = {slot: table.c[column] for column, slot in placed.items()}
    return select(literal_column(f"'{kind}'", String).label("kind"), table.c.id.label("id"),
                  *(slot_of[slot].label(slot) if slot in slot_of
                    else cast(null(), kind_of).label(slot) for slot, kind_of in _SLOTS.items())
                  ).where(condition(table))


_older = _CYCLE.alias("older")
_latest_cycle = (select(_CYCLE.c.id).where(
    _CYCLE.c.course_id == _course_id,
    ~select(_older.c.id).where(_older.c.course_id == _CYCLE.c.course_id,
                               _older.c.number > _CYCLE.c.number).exists())
    .scalar_subquery())
_facts = union_all(
    _branch("cycle", lambda t: t.c.id == _latest_cycle),  # first: its slots carry the types
    _branch("rma", lambda t: t.c.cycle_id == _latest_cycle),
    *(_branch(kind, lambda t: t.c.course_id == _course_id)
      for kind in ("method", "test", "dispense")),
).subquery("facts")
_READ = DriverStatement(
    select(_SUBJECT, _facts).select_from(_SUBJECT.outerjoin(_facts, true()))
    .order_by(_facts.c.kind, _facts.c.first_day, _facts.c.id), standalone=True)


@dataclass
class CourseRecords(CourseRows):
    """A course's rows as plain records; `cycle_count` numbers a new cycle."""

    cycle_count: int = 0


def read_for_request(connection: Connection, program_patient_id: str,
                     born: date) -> CourseRecords | None:
    """The patient's latest course with every row the rules read; None when no patient has
    both this program ID and this date of birth."""
    rows = _READ.rows(connection, {"patient_id": program_patient_id, "born": born})
    if not rows:
        return None
    by_kind = {kind: [] for kind in _LAYOUT}
    for row in rows:
        if row["kind"] is not None:
            by_kind[row["kind"]].append(_unpacked(row))
    latest = by_kind["cycle"][0] if by_kind["cycle"] else None
    cycle = current_cycle(latest)
    subject = {prefix: record(rows[0], prefix, names)
               for prefix, (_table, names) in _SUBJECT_FIELDS.items()}
    return CourseRecords(
        **subject, methods=by_kind["method"], tests=by_kind["test"], cycle=cycle,
        dispenses=by_kind["dispense"], cycle_rmas=by_kind["rma"] if cycle else [],
        cycle_count=latest.number if latest else 0)


def _unpacked(row: dict) -> SimpleNamespace:
    """A layout row back as a record with its table's column names."""
    _table, placed = _LAYOUT[row["kind"]]
    return SimpleNamespace(id=row["id"], **{column: row[slot] for column, slot in placed.items()})
