"""Pharmacies certified to dispense under a program."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from .enums import CertificationStatus, check_in
from .types import UTCDateTime, utcnow


class Pharmacy(SQLModel, table=True):
    """A dispensing site, identified by its NCPDP ID and NPI."""

    __tablename__ = "pharmacy"
    __table_args__ = (
        CheckConstraint(
            check_in("certification_status", CertificationStatus),
            name="ck_pharmacy_certification_status",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    address_line: str = Field(max_length=200)
    city: str = Field(max_length=100)
    state: str = Field(max_length=2)
    postal_code: str = Field(max_length=10)
    ncpdp_id: str = Field(max_length=7, unique=True)
    npi: str = Field(max_length=10, unique=True)
    certification_status: str = Field(default=CertificationStatus.PENDING.value, max_length=20)
    certified_on: date | None = None
    certification_expires_on: date | None = None
    staff_trained_on: date | None = None  # the latest staff-training record (iPLEDGE 2026)
    responsible_pharmacist_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
