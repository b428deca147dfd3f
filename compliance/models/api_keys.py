"""Bearer keys for pharmacy systems: stored hashed, shown once, revocable."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class ApiKey(SQLModel, table=True):
    """`prefix` finds the row; the secret after it is only ever compared by hash."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    pharmacy_id: int = Field(foreign_key="pharmacy.id", index=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16, unique=True)
    secret_hash: str = Field(max_length=64)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)  # refused from then on
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
