"""A patient's course of treatment and the clinical entries the rules read.

Pregnancy tests and methods are never edited in place: a method is stopped (its stop date
set once) and a test is immutable, so what the rules decided on can always be re-read. An
entry made in error is marked so (when, and why), never deleted: the rules stop reading it,
the timeline still shows it.
"""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, literal_column
from sqlmodel import Field, SQLModel

from workflows.facts import TestKind, TestResult, TestSetting
from workflows.machines import CourseState

from .enums import check_in
from .types import UTCDateTime, utcnow


class Course(SQLModel, table=True):
    """One treatment episode, from enrollment to the post-treatment test.

    `prescriber_id`, `next_action` and `next_action_on` are kept on the row, refreshed by
    every service that changes the course, so the prescriber's worklist can filter and sort
    10,000 patients with one indexed query.

    `version` goes up with every update of the row, whoever makes it (the column's
    `onupdate`); a request for an RMA raises it before it reads the course, which locks the
    row for the decision (`facts.load_for_patient`).
    """

    __tablename__ = "course"
    __table_args__ = (
        CheckConstraint(check_in("state", CourseState), name="ck_course_state"),
        Index("ix_course_worklist", "prescriber_id", "next_action_on", "id"),
        Index("ix_course_worklist_action", "prescriber_id", "next_action", "next_action_on"),
        # One course per patient: only registration opens one. A second course of treatment
        # would need the worklist and `courses.course_of` to choose between them.
        Index("uq_course_patient", "patient_id", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    prescriber_id: int = Field(foreign_key="prescriber.id")
    program: str = Field(max_length=40)
    state: str = Field(default=CourseState.ENROLLED.value, max_length=20)
    enrolled_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    enrollment_signature_id: int | None = Field(default=None, foreign_key="signature.id")
    counseled_on: date | None = None
    home_testing_enabled: bool = False
    irregular_cycles: bool = False
    last_dose_on: date | None = None
    suspended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # After a positive test: the prescriber's report to the pregnancy registry, and a resume
    # (a negative test after the positive one, and the prescriber's signed statement).
    registry_reported_on: date | None = None
    registry_reference: str = Field(default="", max_length=100)
    resumed_on: date | None = None
    resume_signature_id: int | None = Field(default=None, foreign_key="signature.id")
    next_action: str = Field(default="", max_length=40)
    next_action_on: date | None = None
    version: int = Field(default=0, sa_column_kwargs={
        "server_default": "0", "onupdate": literal_column("version + 1")})


class ContraceptionMethod(SQLModel, table=True):
    __tablename__ = "contraception_method"

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    method: str = Field(max_length=60)
    started_on: date
    stopped_on: date | None = None
    entered_by_id: int = Field(foreign_key="app_user.id")
    entered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    in_error_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    in_error_reason: str = Field(default="", max_length=500)


class PregnancyTest(SQLModel, table=True):
    __tablename__ = "pregnancy_test"
    __table_args__ = (
        CheckConstraint(check_in("kind", TestKind), name="ck_pregnancy_test_kind"),
        CheckConstraint(check_in("result", TestResult), name="ck_pregnancy_test_result"),
        CheckConstraint(check_in("setting", TestSetting), name="ck_pregnancy_test_setting"),
        Index("ix_pregnancy_test_course_specimen", "course_id", "specimen_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id")
    kind: str = Field(max_length=20)
    specimen_on: date
    result: str = Field(max_length=10)
    setting: str = Field(max_length=12)
    laboratory: str = Field(default="", max_length=200)
    sensitivity_miu: int
    verified_by_prescriber: bool = False
    entered_by_id: int = Field(foreign_key="app_user.id")
    entered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    in_error_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    in_error_reason: str = Field(default="", max_length=500)


class CategoryChange(SQLModel, table=True):
    """Who changed a patient's category, from what, to what, and why."""

    __tablename__ = "category_change"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    old_category: str = Field(max_length=40)
    new_category: str = Field(max_length=40)
    reason: str = Field(max_length=500)
    changed_by_id: int = Field(foreign_key="app_user.id")
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
