"""CDS Hooks: the EHRs allowed to call us, the token ids they used, the EHR's identifier a
prescriber linked to a patient, and what prescribers did with our cards."""

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class CdsClient(SQLModel, table=True):
    """An EHR registered by an admin: its JWT issuer and the key (PEM or JWK) or JWKS URL
    its signatures are checked against."""

    __tablename__ = "cds_client"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    issuer: str = Field(max_length=500, unique=True)
    public_key: str = Field(default="", max_length=8000)
    jwks_url: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CdsTokenUse(SQLModel, table=True):
    """A `jti` already accepted from an issuer, kept until its token expires so that every
    worker refuses a replay; the unique index settles two workers racing."""

    __tablename__ = "cds_token_use"
    __table_args__ = (UniqueConstraint("issuer", "jti", name="uq_cds_token_use_issuer_jti"),)

    id: int | None = Field(default=None, primary_key=True)
    issuer: str = Field(max_length=500)
    jti: str = Field(max_length=200)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class EhrPatientLink(SQLModel, table=True):
    """The EHR's identifier for one of a prescriber's patients, recorded once by that
    prescriber, so a hook finds the patient without matching on names."""

    __tablename__ = "ehr_patient_link"
    __table_args__ = (UniqueConstraint("prescriber_id", "ehr_identifier",
                                       name="uq_ehr_patient_link_prescriber_identifier"),)

    id: int | None = Field(default=None, primary_key=True)
    prescriber_id: int = Field(foreign_key="prescriber.id")
    patient_id: int = Field(foreign_key="patient.id", index=True)
    ehr_identifier: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CdsCard(SQLModel, table=True):
    """A card we answered with, so feedback names only cards we issued."""

    __tablename__ = "cds_card"

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)
    service_id: str = Field(max_length=40)
    client_id: int = Field(foreign_key="cds_client.id")
    patient_id: int | None = Field(default=None, foreign_key="patient.id")
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CdsFeedback(SQLModel, table=True):
    """What the prescriber did with a card: accepted, or overridden with a reason."""

    __tablename__ = "cds_feedback"
    __table_args__ = (Index("ix_cds_feedback_card", "card_id"),)

    id: int | None = Field(default=None, primary_key=True)
    card_id: int = Field(foreign_key="cds_card.id")
    outcome: str = Field(max_length=20)
    override_reason: str = Field(default="", max_length=500)
    override_comment: str = Field(default="", max_length=1000)
    outcome_at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
