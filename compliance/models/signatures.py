"""Electronic signatures: who signed, when, and what the signature means.

The signer re-entered their password; name and meaning are copied onto the row so the
record reads the same even if the account's name changes later.
"""

from datetime import datetime

from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class Signature(SQLModel, table=True):
    __tablename__ = "signature"

    id: int | None = Field(default=None, primary_key=True)
    signer_id: int = Field(foreign_key="app_user.id", index=True)
    signer_name: str = Field(max_length=200)
    meaning: str = Field(max_length=500)
    signed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
