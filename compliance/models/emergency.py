"""Emergency access ("break-glass"): a prescriber who is not the patient's prescriber of
record reads that patient's record for a limited time, with a reason, and everyone knows."""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from .types import UTCDateTime


class EmergencyAccess(SQLModel, table=True):
    __tablename__ = "emergency_access"
    __table_args__ = (Index("ix_emergency_access_user_patient", "user_id", "patient_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id")
    patient_id: int = Field(foreign_key="patient.id")
    reason: str = Field(max_length=500)
    granted_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
