"""RMAs, the requests that asked for them, and the dispenses under them.

Exactly once is the database's job: a partial unique index allows one live RMA per cycle
(issued or dispensed; a reversed, expired or voided one frees the cycle) and a unique key allows
one dispense per RMA, whatever the service code or the number of workers does.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Index, text
from sqlmodel import Field, SQLModel

from .enums import check_in
from .types import UTCDateTime, utcnow


class RmaStatus(StrEnum):
    ISSUED = "issued"
    DISPENSED = "dispensed"
    REVERSED = "reversed"
    EXPIRED = "expired"
    VOIDED = "voided"  # the course stopped before the fill: never dispensable again


LIVE = "status IN ('issued', 'dispensed')"


class Rma(SQLModel, table=True):
    __tablename__ = "rma"
    __table_args__ = (
        CheckConstraint(check_in("status", RmaStatus), name="ck_rma_status"),
        Index("uq_rma_live_per_cycle", "cycle_id", unique=True,
              sqlite_where=text(LIVE), postgresql_where=text(LIVE)),
        Index("ix_rma_pharmacy_open", "pharmacy_id", "status",
              "do_not_dispense_after"),
        Index("ix_rma_course", "course_id", "issued_at"),
        Index("ix_rma_pharmacy_issued", "pharmacy_id", "issued_at"),  # its recent RMAs
        Index("ix_rma_cycle", "cycle_id"),  # a cycle's RMAs, reversed and expired included
    )

    id: int | None = Field(default=None, primary_key=True)
    rma_number: str = Field(max_length=12, unique=True)
    cycle_id: int = Field(foreign_key="cycle.id")
    course_id: int = Field(foreign_key="course.id")
    pharmacy_id: int = Field(foreign_key="pharmacy.id")
    requested_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    status: str = Field(default=RmaStatus.ISSUED.value, max_length=10)
    prescriber_npi: str = Field(max_length=10)
    ndc: str = Field(max_length=13)
    strength_mg: float
    quantity: int
    days_supply: int
    do_not_dispense_after: date
    window_closes_at: datetime = Field(sa_type=UTCDateTime)
    program: str = Field(max_length=40)
    rule_version: str = Field(max_length=20)
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    reversed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    voided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RmaRequest(SQLModel, table=True):
    """Every request for an RMA, granted or not, with the reasons given."""

    __tablename__ = "rma_request"
    __table_args__ = (Index("ix_rma_request_pharmacy_at", "pharmacy_id", "requested_at"),)

    id: str = Field(primary_key=True, max_length=36)
    pharmacy_id: int = Field(foreign_key="pharmacy.id")
    patient_id: int | None = Field(default=None, foreign_key="patient.id", index=True)
    requested_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    decision: str = Field(max_length=10)
    reasons: list = Field(default_factory=list, sa_type=JSON)
    request: dict = Field(default_factory=dict, sa_type=JSON)
    authorization_id: int | None = Field(default=None, foreign_key="rma.id")


class Dispense(SQLModel, table=True):
    __tablename__ = "dispense"
    __table_args__ = (Index("ix_dispense_course", "course_id", "dispensed_on"),)

    id: int | None = Field(default=None, primary_key=True)
    authorization_id: int = Field(foreign_key="rma.id", unique=True)
    course_id: int = Field(foreign_key="course.id")
    dispensed_on: date
    quantity: int
    days_supply: int
    medication_guide_given: bool
    recorded_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
