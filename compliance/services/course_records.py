"""The course a request for an RMA is about: found, locked and read as plain records.

A pharmacy's request names a patient by program ID and date of birth. One query finds the
patient, the prescriber and the latest course, and locks the course row (`FOR UPDATE` on
PostgreSQL; SQLite has one writer at a time), so requests for the same course decide one
after the other. The rows the rules read come next, in four small queries, each reading
what the lock holder before it committed. Nothing here builds ORM objects: this runs for
every RMA request. `facts.load_rows` gives the same `CourseRows` for ORM rows (a test
holds both to the same facts).
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, bindparam, select

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
from compliance.services.facts import CourseRows, current_cycle
from compliance.services.records import columns, record

_PATIENT, _PRESCRIBER = PatientProfile.__table__, PrescriberProfile.__table__
_COURSE, _CYCLE, _RMA = Course.__table__, Cycle.__table__, Authorization.__table__
_METHOD, _TEST, _DISPENSE = (ContraceptionMethod.__table__, PregnancyTest.__table__,
                             Dispense.__table__)

PATIENT_FIELDS = ("id", "program_patient_id", "program", "category")
PRESCRIBER_FIELDS = ("id", "npi", "certification_status", "certified_on",
                     "certification_expires_on")
COURSE_FIELDS = ("id", "patient_id", "prescriber_id", "program", "state",
                 "enrollment_signature_id", "counseled_on", "home_testing_enabled",
                 "irregular_cycles", "last_dose_on", "next_action", "next_action_on")
CYCLE_FIELDS = ("id", "number", "state", "prescriber_confirmed_at", "patient_attested_at",
                "quiz_passed", "failed_quiz_attempts", "patient_confirmed_methods")

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
_older = _CYCLE.alias("older")
# The latest cycle, with its RMAs (one row per RMA; one row of NULLs for none).
_LATEST_CYCLE = (
    select(*columns(_CYCLE, CYCLE_FIELDS), _RMA.c.do_not_dispense_after, _RMA.c.status)
    .select_from(_CYCLE.outerjoin(_RMA, _RMA.c.cycle_id == _CYCLE.c.id))
    .where(_CYCLE.c.course_id == bindparam("course_id"),
           ~select(_older.c.id).where(_older.c.course_id == _CYCLE.c.course_id,
                                      _older.c.number > _CYCLE.c.number).exists())
    .order_by(_RMA.c.id)
)
_METHODS = (select(_METHOD.c.method, _METHOD.c.started_on, _METHOD.c.stopped_on)
            .where(_METHOD.c.course_id == bindparam("course_id"))
            .order_by(_METHOD.c.started_on, _METHOD.c.id))
_TESTS = (select(_TEST.c.kind, _TEST.c.specimen_on, _TEST.c.result, _TEST.c.setting,
                 _TEST.c.sensitivity_miu, _TEST.c.verified_by_prescriber)
          .where(_TEST.c.course_id == bindparam("course_id"))
          .order_by(_TEST.c.specimen_on, _TEST.c.id))
_DISPENSES = (select(_DISPENSE.c.dispensed_on, _DISPENSE.c.days_supply)
              .where(_DISPENSE.c.course_id == bindparam("course_id"))
              .order_by(_DISPENSE.c.dispensed_on, _DISPENSE.c.id))


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
    by_course = {"course_id": course.id}
    cycle_rows = connection.execute(_LATEST_CYCLE, by_course).all()
    latest = record(cycle_rows[0], _CYCLE, CYCLE_FIELDS) if cycle_rows else None
    cycle = current_cycle(latest)
    return LockedCourse(
        course=course,
        patient=record(found, _PATIENT, PATIENT_FIELDS),
        prescriber=record(found, _PRESCRIBER, PRESCRIBER_FIELDS),
        methods=connection.execute(_METHODS, by_course).all(),
        tests=connection.execute(_TESTS, by_course).all(),
        cycle=cycle,
        dispenses=connection.execute(_DISPENSES, by_course).all(),
        cycle_rmas=[r for r in cycle_rows if r.status is not None] if cycle else [],
        cycle_count=latest.number if latest else 0,
    )
