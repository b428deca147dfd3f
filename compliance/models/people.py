"""People: user accounts and the role profiles that hang off them.

Table models are persistence only; input is validated by the models in
`compliance.models.inputs` before a row is built.
"""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from .enums import CertificationStatus, Role, check_in
from .types import UTCDateTime, utcnow


class User(SQLModel, table=True):
    """A login. Never deleted: deactivation keeps the audit trail's actors resolvable."""

    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint(check_in("role", Role), name="ck_app_user_role"),
        Index("ix_app_user_role_name", "role", "name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    password_hash: str | None = Field(default=None, max_length=255)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    deactivated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PrescriberProfile(SQLModel, table=True):
    """A prescriber's program registration: NPI, practice and certification."""

    __tablename__ = "prescriber"
    __table_args__ = (
        Index("ix_prescriber_certification", "certification_status", "certification_expires_on"),
        CheckConstraint(
            check_in("certification_status", CertificationStatus),
            name="ck_prescriber_certification_status",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", unique=True)
    npi: str = Field(max_length=10, unique=True)
    practice_name: str = Field(max_length=200)
    certification_status: str = Field(default=CertificationStatus.PENDING.value, max_length=20)
    certified_on: date | None = None
    certification_expires_on: date | None = None


class PatientProfile(SQLModel, table=True):
    """A patient enrolled by a prescriber, known to pharmacies by `program_patient_id`."""

    __tablename__ = "patient"
    __table_args__ = (Index("ix_patient_prescriber_family_name", "prescriber_id", "family_name"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", unique=True)
    prescriber_id: int = Field(foreign_key="prescriber.id")
    program_patient_id: str = Field(max_length=16, unique=True)
    program: str = Field(default="ipledge", max_length=40)
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    date_of_birth: date
    category: str = Field(max_length=40)
    category_reason: str = Field(default="", max_length=500)
    phone: str = Field(default="", max_length=30)
    weight_kg: float | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class PharmacistProfile(SQLModel, table=True):
    """Links a pharmacist's account to the one pharmacy they work for."""

    __tablename__ = "pharmacist"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", unique=True)
    pharmacy_id: int = Field(foreign_key="pharmacy.id", index=True)


