"""The prescriber's clinical entries on a course: counseling, tests, category,
home testing, end of treatment (methods are `methods`). Each is one transaction, audited,
and refreshes the course's worklist action.
"""

from contextlib import suppress
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import (
    CategoryChange,
    ContraceptionMethod,
    Course,
    PatientProfile,
    PregnancyTest,
)
from compliance.models.inputs import TestEntry
from compliance.programs import program
from compliance.services import cycles, worklist
from compliance.services.errors import Refused, validated
from compliance.services.facts import load_rows
from workflows.facts import TestKind, TestResult, TestSetting
from workflows.flow import Context
from workflows.machines import CourseEvent, CourseFlow, CourseState
from workflows.programs import program_version_for

OPEN_STATES = (CourseState.ENROLLED, CourseState.QUALIFYING, CourseState.ACTIVE,
               CourseState.POST_TREATMENT)
# A course in these states can never be dispensed to again without a new decision.
STOPPED_STATES = (CourseState.SUSPENDED, CourseState.POST_TREATMENT, CourseState.WITHDRAWN,
                  CourseState.COMPLETED)


def open_course(db: Session, *, patient: PatientProfile, now: datetime) -> Course:
    """Start a course for a newly registered patient (not committed: part of registration)."""
    course = Course(patient_id=patient.id, prescriber_id=patient.prescriber_id,
                    program=patient.program, enrolled_at=now)
    db.add(course)
    db.flush()
    audit.record(db, "course.opened", "course", course.id, summary={"patient_id": patient.id})
    return course


def course_of(db: Session, patient: PatientProfile) -> Course | None:
    """The patient's latest course."""
    return db.scalar(select(Course).where(Course.patient_id == patient.id)
                     .order_by(Course.id.desc()).limit(1))


def record_counseling(db: Session, *, course: Course, counseled_on: date | None, today: date,
                      now: datetime) -> None:
    """The prescriber counseled the patient at enrollment on `counseled_on`."""
    refuse_unless_open(course)
    if counseled_on is None:
        raise Refused({"counseled_on": "Enter the date of the counseling."})
    if counseled_on > today:
        raise Refused({"counseled_on": "The counseling date cannot be in the future."})
    if counseled_on < _enrolled_on(course):
        raise Refused({"counseled_on": "Counseling at enrollment cannot predate the enrollment."})
    audit.record(db, "course.counseling_recorded", "course", course.id,
                 summary=audit.changes({"counseled_on": course.counseled_on},
                                       {"counseled_on": counseled_on}))
    course.counseled_on = counseled_on
    finish(db, course, now)


def record_test(db: Session, *, course: Course, data: dict, today: date, entered_by: int,
                now: datetime) -> PregnancyTest:
    """Enter a negative (or invalid) pregnancy test result. A positive one has a form of its
    own (`report_pregnancy`), so it is never entered by the slip of a select."""
    entry = validated(TestEntry, data)
    if entry.result == TestResult.POSITIVE:
        raise Refused({"result": "A positive result is reported with \"Report a pregnancy\", "
                                 "which stops treatment at once."})
    return _record_test(db, course, entry, today, entered_by, now)


def report_pregnancy(db: Session, *, course: Course, data: dict, today: date, entered_by: int,
                     now: datetime) -> PregnancyTest:
    """A positive test, confirmed by the prescriber: the course is suspended and every
    issued RMA voided at once, in this transaction."""
    entry = validated(TestEntry, {**data, "result": TestResult.POSITIVE.value})
    return _record_test(db, course, entry, today, entered_by, now)


def _record_test(db: Session, course: Course, entry: TestEntry, today: date, entered_by: int,
                 now: datetime) -> PregnancyTest:
    if not (course.state == CourseState.SUSPENDED and entry.result != TestResult.POSITIVE):
        refuse_unless_open(course)  # a suspended course takes the test it may resume on
    rows = load_rows(db, [course])[0]
    _refuse_out_of_order(entry, rows.tests, today, course)
    if entry.result == TestResult.NEGATIVE:
        cycles.close_missed_month(db, course, entry.specimen_on, now)
    version = program_version_for(program(course.program), entry.specimen_on)
    test = PregnancyTest(course_id=course.id, kind=entry.kind, specimen_on=entry.specimen_on,
                         result=entry.result, setting=entry.setting,
                         laboratory=entry.laboratory,
                         sensitivity_miu=entry.sensitivity_miu
                         or version.test_sensitivity_miu.value,
                         verified_by_prescriber=entry.setting == TestSetting.HOME,
                         entered_by_id=entered_by, entered_at=now)
    db.add(test)
    db.flush()
    audit.record(db, "pregnancy_test.recorded", "course", course.id,
                 summary={"kind": entry.kind, "specimen_on": entry.specimen_on,
                          "result": entry.result, "setting": entry.setting})
    if entry.result == TestResult.POSITIVE:
        _suspend(db, course, now)
    finish(db, course, now)
    return test


def mark_in_error(db: Session, *, course: Course, kind: str, entry_id: int, reason: str,
                  now: datetime) -> None:
    """Mark a test or a method entered in error, with a reason; it is kept (and shown) but
    no longer read by the rules. An issued RMA is voided: the decision it rested on no longer
    stands, so the pharmacy asks again on the corrected record."""
    refuse_unless_open(course)
    model = {"test": PregnancyTest, "method": ContraceptionMethod}.get(kind)
    entry = model and db.get(model, entry_id)
    if entry is None or entry.course_id != course.id:
        raise Refused("No such entry on this course.")
    if entry.in_error_at is not None:
        raise Refused("This entry is already marked as entered in error.")
    if kind == "test" and entry.result == TestResult.POSITIVE:
        raise Refused("A positive result is never marked in error; a new negative test and "
                      "your signed statement resume the course.")
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise Refused({"reason": "Say what was wrong with the entry."})
    entry.in_error_at, entry.in_error_reason = now, reason[:500]
    db.add(entry)
    audit.record(db, f"{'pregnancy_test' if kind == 'test' else 'method'}.marked_in_error",
                 "course", course.id, summary={"entry_id": entry_id, "reason": reason})
    cycles.void_live_rmas(db, course, now, why="entry_in_error")
    finish(db, course, now)


def set_home_testing(db: Session, *, course: Course, enabled: bool, today: date,
                     now: datetime) -> None:
    """Allow verified home tests during treatment, where the rule version permits them."""
    refuse_unless_open(course)
    version = program_version_for(program(course.program), today)
    if enabled and TestSetting.HOME not in version.monthly_settings.value:
        raise Refused(f"{version.program_name} version {version.version} does not accept home "
                      "tests.")
    audit.record(db, "course.home_testing_changed", "course", course.id,
                 summary={"home_testing_enabled": [course.home_testing_enabled, enabled]})
    course.home_testing_enabled = enabled
    finish(db, course, now)


def change_category(db: Session, *, patient: PatientProfile, course: Course, category: str,
                    reason: str, changed_by: int, now: datetime) -> None:
    """Change the patient's category with a reason; the course is re-evaluated at once."""
    refuse_unless_open(course)
    reason = (reason or "").strip()
    if category not in {c.code for c in program(course.program).versions[-1].categories.value}:
        raise Refused({"category": "Choose the patient's category."})
    if category == patient.category:
        raise Refused({"category": "This is already the patient's category."})
    if len(reason) < 3:
        raise Refused({"reason": "Say why the category changes."})
    db.add(CategoryChange(patient_id=patient.id, old_category=patient.category,
                          new_category=category, reason=reason, changed_by_id=changed_by,
                          changed_at=now))
    audit.record(db, "patient.category_changed", "patient", patient.id,
                 summary={"category": [patient.category, category], "reason": reason})
    patient.category, patient.category_reason = category, reason
    db.add(patient)
    finish(db, course, now)


def end_treatment(db: Session, *, course: Course, last_dose_on: date | None, today: date,
                  now: datetime) -> None:
    """Record the last dose; the post-treatment period starts."""
    if course.state != CourseState.ACTIVE:
        raise Refused("Only an active course (after a first fill) can end.")
    if last_dose_on is None:
        raise Refused({"last_dose_on": "Enter the date of the last dose."})
    if last_dose_on > today:
        raise Refused({"last_dose_on": "The last dose cannot be in the future."})
    course.last_dose_on = last_dose_on
    fire(db, course, CourseEvent.END_TREATMENT, now)
    finish(db, course, now)


def fire(db: Session, course: Course, event: CourseEvent, now: datetime) -> None:
    """Move the course through its machine; a refusal carries the rules' findings."""
    rows = load_rows(db, [course])[0]
    context = Context(rows.facts(), program(course.program), now)
    result = CourseFlow(course, on_transition=audit.transitions(db, "course", course.id)) \
        .fire(event, context)
    if not result.accepted:
        raise Refused(" ".join(f.message for f in result.findings if not f.met))
    if course.state in STOPPED_STATES:  # stops stop everything at once, in this transaction
        cycles.void_live_rmas(db, course, now, why=event.value)


def _suspend(db: Session, course: Course, now: datetime) -> None:
    """A positive test stops everything at once, whatever the course's state."""
    if course.state in OPEN_STATES:
        db.flush()
        fire(db, course, CourseEvent.SUSPEND, now)
        course.suspended_at = now


def _refuse_out_of_order(entry: TestEntry, tests: list[PregnancyTest], today: date,
                         course: Course) -> None:
    if entry.specimen_on > today:
        raise Refused({"specimen_on": "The specimen date cannot be in the future."})
    enrolled_on = _enrolled_on(course)
    oldest = program_version_for(program(course.program), today).oldest_specimen_days.value
    if entry.specimen_on < enrolled_on - timedelta(days=oldest):
        raise Refused({"specimen_on": "This specimen is too old to count for this course."})
    tests = [t for t in tests if t.in_error_at is None]
    kinds = {t.kind for t in tests}
    if entry.kind == TestKind.CONFIRMATION and TestKind.SCREENING not in kinds:
        raise Refused({"kind": "Enter the screening test before the confirmation test."})
    if entry.kind == TestKind.POST_TREATMENT and course.last_dose_on is None:
        raise Refused({"kind": "Record the end of treatment before the post-treatment test."})
    latest = max((t.specimen_on for t in tests), default=None)
    if latest is not None and entry.specimen_on < latest:
        raise Refused({"specimen_on": "A later test is already on file; results are entered "
                                      "in the order the specimens were taken."})


def _enrolled_on(course: Course) -> date:
    """The enrollment day where the program counts days (not the UTC date)."""
    return course.enrolled_at.astimezone(program(course.program).zone).date()


def refuse_unless_open(course: Course) -> None:
    if course.state == CourseState.SUSPENDED:
        raise Refused("This course is suspended after a positive pregnancy test.")
    if course.state not in OPEN_STATES:
        raise Refused(f"This course is {course.state.replace('_', ' ')}.")


def finish(db: Session, course: Course, now: datetime) -> None:
    """Advance an enrolled course that now qualifies, refresh the worklist, commit."""
    db.add(course)
    db.flush()
    if course.state == CourseState.ENROLLED:
        with suppress(Refused):  # not yet qualifying: the worklist says what is missing
            fire(db, course, CourseEvent.START_QUALIFYING, now)
    worklist.refresh(db, course, now)
    db.commit()

