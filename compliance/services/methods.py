"""Contraception methods on a course: added from a date, changed (the old one stopped and
the new one added, both or neither), stopped on a last day; an entry is never edited, and
each change is audited and decides the course again.
"""

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import ContraceptionMethod, Course
from compliance.models.inputs import MethodEntry
from compliance.programs import method_choices
from compliance.services import courses
from compliance.services.errors import Refused, validated


def add_method(db: Session, *, course: Course, data: dict, today: date, entered_by: int,
               now: datetime) -> ContraceptionMethod:
    """Record a contraception method the patient uses from a date."""
    courses.refuse_unless_open(course)
    entry = _addable(db, course, data, today)
    method = _add(db, course, entry, entered_by, now)
    courses.finish(db, course, now)
    return method


def change_method(db: Session, *, course: Course, method_id: int, stopped_on: date | None,
                  data: dict, today: date, entered_by: int, now: datetime
                  ) -> ContraceptionMethod:
    """Replace a method: stop the old one and add the new one, both or neither."""
    courses.refuse_unless_open(course)
    old = _stoppable(db, course, method_id, stopped_on, today)
    entry = _addable(db, course, data, today, replacing=old)
    _stop(db, course, old, stopped_on)
    method = _add(db, course, entry, entered_by, now)
    courses.finish(db, course, now)
    return method


def _addable(db: Session, course: Course, data: dict, today: date,
             replacing: ContraceptionMethod | None = None) -> MethodEntry:
    entry = validated(MethodEntry, data)
    known = _known_methods(course.program)
    if entry.method not in known:
        raise Refused({"method": "Choose a method from the list."})
    if entry.started_on > today:
        raise Refused({"started_on": "The start date cannot be in the future."})
    in_use = db.scalar(select(ContraceptionMethod.id).where(
        ContraceptionMethod.course_id == course.id, ContraceptionMethod.method == entry.method,
        ContraceptionMethod.stopped_on.is_(None), ContraceptionMethod.in_error_at.is_(None)))
    if in_use is not None and (replacing is None or in_use != replacing.id):
        raise Refused({"method": "This method is already recorded as in use; stop it first."})
    return entry


def _add(db: Session, course: Course, entry: MethodEntry, entered_by: int,
         now: datetime) -> ContraceptionMethod:
    method = ContraceptionMethod(course_id=course.id, method=entry.method,
                                 started_on=entry.started_on, entered_by_id=entered_by,
                                 entered_at=now)
    db.add(method)
    db.flush()
    audit.record(db, "method.added", "course", course.id,
                 summary={"method": entry.method, "started_on": entry.started_on})
    return method


def stop_method(db: Session, *, course: Course, method_id: int, stopped_on: date | None,
                today: date, now: datetime) -> None:
    """Record the last day a method was used; the entry itself is kept."""
    courses.refuse_unless_open(course)
    method = _stoppable(db, course, method_id, stopped_on, today)
    _stop(db, course, method, stopped_on)
    courses.finish(db, course, now)


def _stoppable(db: Session, course: Course, method_id: int, stopped_on: date | None,
               today: date) -> ContraceptionMethod:
    method = db.get(ContraceptionMethod, method_id)
    if method is None or method.course_id != course.id or method.in_error_at is not None:
        raise Refused("No such method on this course.")
    if method.stopped_on is not None:
        raise Refused("This method is already stopped.")
    if stopped_on is None:
        raise Refused({"stopped_on": "Enter the last day the method was used."})
    if stopped_on > today:
        raise Refused({"stopped_on": "The stop date cannot be in the future."})
    if stopped_on < method.started_on:
        raise Refused({"stopped_on": "The stop date cannot come before the start date."})
    return method


def _stop(db: Session, course: Course, method: ContraceptionMethod, stopped_on: date) -> None:
    method.stopped_on = stopped_on
    db.add(method)
    audit.record(db, "method.stopped", "course", course.id,
                 summary={"method": method.method, "stopped_on": stopped_on})


def _known_methods(code: str) -> set[str]:
    return set(method_choices(code))
