"""The case a positive test opens: the prescriber's report to the pregnancy registry, and a
resume when the program allows treatment again.

A positive test suspends the course and voids every issued RMA (`courses.report_pregnancy`).
The prescriber then records the report (date and the registry's reference), which clears the
worklist's "report it". Resuming is this service's policy [P]: a negative test taken after
the positive one (the course machine's guard) and the prescriber's signed statement. Earlier
positives stay on file; the course reads them as answered from the resume day on.
"""

from datetime import date, datetime

from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import Course, User
from compliance.programs import program
from compliance.services import courses, signatures
from compliance.services.errors import Refused
from workflows.machines import CourseEvent, CourseState

RESUME_MEANING = ("I have reviewed the positive pregnancy test and the negative test taken "
                  "after it, I have counseled the patient, and treatment may resume: ")


def record_registry_report(db: Session, *, course: Course, reported_on: date | None,
                           reference: str, today: date, now: datetime) -> None:
    """The day the prescriber reported the pregnancy to the registry, and its reference."""
    if course.state != CourseState.SUSPENDED:
        raise Refused("Only a course suspended after a positive test has a registry report.")
    if reported_on is None:
        raise Refused({"reported_on": "Enter the day you reported to the registry."})
    if reported_on > today:
        raise Refused({"reported_on": "The report date cannot be in the future."})
    positive = course.suspended_at and course.suspended_at.astimezone(
        program(course.program).zone).date()
    if positive and reported_on < positive:
        raise Refused({"reported_on": "The report cannot predate the positive test's entry."})
    reference = (reference or "").strip()
    if not 3 <= len(reference) <= 100:
        raise Refused({"reference": "Enter the registry's reference (3 to 100 characters)."})
    audit.record(db, "course.registry_reported", "course", course.id,
                 summary=audit.changes(
                     {"reported_on": course.registry_reported_on,
                      "reference": course.registry_reference},
                     {"reported_on": reported_on, "reference": reference}))
    course.registry_reported_on, course.registry_reference = reported_on, reference
    courses.finish(db, course, now)


def resume(db: Session, *, course: Course, prescriber_user: User, statement: str,
           password: str, today: date, now: datetime) -> None:
    """Resume a suspended course on the prescriber's signed statement [P]; the guard wants a
    negative test taken after the positive one. The course is enrolled again and qualifies as
    any course does; every later fill needs its own month, as always."""
    if course.state != CourseState.SUSPENDED:
        raise Refused("Only a suspended course can resume.")
    statement = (statement or "").strip()
    if len(statement) < 10:
        raise Refused({"statement": "Say, in a sentence, why treatment may resume."})
    if len(RESUME_MEANING) + len(statement) > 500:
        raise Refused({"statement": "Keep the statement under 250 characters."})
    courses.fire(db, course, CourseEvent.RESUME, now)
    signature = signatures.sign(db, signer=prescriber_user, password=password,
                                meaning=RESUME_MEANING + statement, now=now, kind="resume",
                                record=course)
    course.resumed_on, course.resume_signature_id = today, signature.id
    audit.record(db, "course.resumed", "course", course.id,
                 summary={"resumed_on": today, "signature": signature.id})
    courses.finish(db, course, now)
