"""The course a request for an RMA is about: found, locked and read as plain records.

A pharmacy's request names a patient by program ID and date of birth. One query finds the
patient, the prescriber and the latest course, and locks the course row (`FOR UPDATE` on
PostgreSQL; SQLite has one writer at a time), so requests for the same course decide one
after the other. A second query, sent once the lock is held and so reading what the
previous holder committed, reads every other row the rules need: the latest cycle and its
RMAs, the methods, the tests and the fills, as one `UNION ALL` whose branches share a row
layout (`_LAYOUT`). This runs for every RMA request, so it costs two round trips and builds
no ORM objects. `facts.load_rows` gives the same `CourseRows` for ORM rows (a test holds
both to the same facts).
"""

from collections import defaultdict
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
    union_all,
)

from compliance.models import (
    Authorization,
    ContraceptionMethod,
    Course,
    Cycle,
    Dispense,
    PatientProfile,
    PregnancyTest,
    PrescriberProfile,
)
from compliance.models.types import UTCDateTime
from compliance.services.facts import CourseRows, current_cycle
from compliance.services.records import columns, record

_PATIENT, _PRESCRIBER = PatientProfile.__table__, PrescriberProfile.__table__
_COURSE, _CYCLE, _RMA = Course.__table__, Cycle.__table__, Authorization.__table__

PATIENT_FIELDS = ("id", "program_patient_id", "program", "category")
PRESCRIBER_FIELDS = ("id", "npi", "certification_status", "certified_on",
                     "certification_expires_on")
COURSE_FIELDS = ("id", "patient_id", "prescriber_id", "program", "state",
                 "enrollment_signature_id", "counseled_on", "home_testing_enabled",
                 "irregular_cycles", "last_dose_on", "next_action", "next_action_on")

_newer = _COURSE.alias("newer")
_SUBJECT = (
    select(*columns(_PATIENT, PATIENT_FIELDS), *columns(_PRESCRIBER, PRESCRIBER_FIELDS),
           *columns(_COURSE, COURSE_FIELDS))
    .select_from(_PATIENT.join(_PRESCRIBER, _PRESCRIBER.c.id == _PATIENT.c.prescriber_id)
                 .join(_COURSE, _COURSE.c.patient_id == _PATIENT.c.id))
    .where(_PATIENT.c.program_patient_id == bindparam("patient_id"),
           _PATIENT.c.date_of_birth == bindparam("born"),
           ~select(_newer.c.id).where(_newer.c.patient_id == _PATIENT.c.id,
                                      _newer.c.id > _COURSE.c.id).exists())
    .with_for_update(of=_COURSE)
)

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
    "rma": (_RMA, {"status": "code", "do_not_dispense_after": "last_day"}),
    "method": (ContraceptionMethod.__table__,
               {"method": "code", "started_on": "first_day", "stopped_on": "last_day"}),
    "test": (PregnancyTest.__table__,
             {"kind": "code", "result": "result", "setting": "setting",
              "specimen_on": "first_day", "sensitivity_miu": "number",
              "verified_by_prescriber": "flag"}),
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
    _CYCLE.c.course_id == bindparam("course_id"),
    ~select(_older.c.id).where(_older.c.course_id == _CYCLE.c.course_id,
                               _older.c.number > _CYCLE.c.number).exists())
    .scalar_subquery())
_FACTS = union_all(
    _branch("cycle", lambda t: t.c.id == _latest_cycle),  # first: its slots carry the types
    _branch("rma", lambda t: t.c.cycle_id == _latest_cycle),
    *(_branch(kind, lambda t: t.c.course_id == bindparam("course_id"))
      for kind in ("method", "test", "dispense")),
).order_by("kind", "first_day", "id")


@dataclass
class LockedCourse(CourseRows):
    """A course's rows as plain records, its row locked; `cycle_count` numbers a new cycle."""

    cycle_count: int = 0


def lock_for_request(connection: Connection, program_patient_id: str,
                     born: date) -> LockedCourse | None:
    """The patient's latest course, locked, with every row the rules read; None when no
    patient has both this program ID and this date of birth."""
    found = connection.execute(_SUBJECT, {"patient_id": program_patient_id,
                                          "born": born}).first()
    if found is None:
        return None
    course = record(found, _COURSE, COURSE_FIELDS)
    by_kind = defaultdict(list)
    for row in connection.execute(_FACTS, {"course_id": course.id}):
        by_kind[row.kind].append(_unpacked(row))
    latest = by_kind["cycle"][0] if by_kind["cycle"] else None
    cycle = current_cycle(latest)
    return LockedCourse(
        course=course, patient=record(found, _PATIENT, PATIENT_FIELDS),
        prescriber=record(found, _PRESCRIBER, PRESCRIBER_FIELDS),
        methods=by_kind["method"], tests=by_kind["test"], cycle=cycle,
        dispenses=by_kind["dispense"], cycle_rmas=by_kind["rma"] if cycle else [],
        cycle_count=latest.number if latest else 0)


def _unpacked(row) -> SimpleNamespace:
    """A layout row back as a record with its table's column names."""
    mapping = row._mapping
    _table, placed = _LAYOUT[row.kind]
    return SimpleNamespace(id=row.id, **{column: mapping[slot]
                                         for column, slot in placed.items()})

