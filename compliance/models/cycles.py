"""Treatment months: the prescriber's confirmation, the patient's answers, and the quiz."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from workflows.machines import CycleState

from .enums import check_in
from .types import UTCDateTime, utcnow


class Cycle(SQLModel, table=True):
    """One treatment month. `number` counts from 1 within the course."""

    __tablename__ = "cycle"
    __table_args__ = (
        CheckConstraint(check_in("state", CycleState), name="ck_cycle_state"),
        UniqueConstraint("course_id", "number", name="uq_cycle_course_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Its index is the unique (course_id, number): a second one would only slow each write.
    course_id: int = Field(foreign_key="course.id")
    number: int
    state: str = Field(default=CycleState.OPEN.value, max_length=24)
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    prescriber_confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    prescriber_signature_id: int | None = Field(default=None, foreign_key="signature.id")
    quiz_bank_id: int | None = Field(default=None, foreign_key="question_bank.id")
    quiz_question_ids: list = Field(default_factory=list, sa_type=JSON)
    quiz_passed: bool = False
    failed_quiz_attempts: int = 0  # since the month opened or the last re-education
    patient_confirmed_methods: list = Field(default_factory=list, sa_type=JSON)
    patient_attested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    patient_signature_id: int | None = Field(default=None, foreign_key="signature.id")


class QuizAttempt(SQLModel, table=True):
    """One try at the month's comprehension questions, right or wrong."""

    __tablename__ = "quiz_attempt"

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    bank_id: int = Field(foreign_key="question_bank.id")
    passed: bool
    wrong_questions: list = Field(default_factory=list, sa_type=JSON)
    attempted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
