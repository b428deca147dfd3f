"""Versioned comprehension question banks, per program and category.

A version is written once: a draft may be replaced by a new version, never edited once
active; activating a version retires the previous one.
"""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from .enums import BankStatus, check_in
from .types import UTCDateTime, utcnow


class QuestionBank(SQLModel, table=True):
    __tablename__ = "question_bank"
    __table_args__ = (
        CheckConstraint(check_in("status", BankStatus), name="ck_question_bank_status"),
        UniqueConstraint("program", "category", "version", name="uq_question_bank_version"),
        Index("ix_question_bank_active", "program", "category", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    program: str = Field(max_length=40)
    category: str = Field(max_length=40)
    version: int
    status: str = Field(default=BankStatus.DRAFT.value, max_length=10)
    questions: list = Field(default_factory=list, sa_type=JSON)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
