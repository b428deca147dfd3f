"""Single-use links through which a person sets a password: activating a new account, or
resetting a forgotten password."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from .enums import check_in
from .types import UTCDateTime, utcnow


class LinkPurpose(StrEnum):
    ACTIVATION = "activation"
    RESET = "reset"


class Invitation(SQLModel, table=True):
    """Only the token's hash is stored: a database leak cannot activate anyone. A patient's
    link also asks the date of birth; `wrong_birth_dates` counts the wrong ones, and enough
    of them end the link."""

    __tablename__ = "invitation"
    __table_args__ = (CheckConstraint(check_in("purpose", LinkPurpose),
                                      name="ck_invitation_purpose"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    purpose: str = Field(default=LinkPurpose.ACTIVATION.value, max_length=12,
                         sa_column_kwargs={"server_default": "activation"})
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    wrong_birth_dates: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
