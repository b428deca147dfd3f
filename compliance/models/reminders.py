"""What a person chose about reminders, and the secret address of a patient's calendar."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class ReminderOptOut(SQLModel, table=True):
    """A kind of reminder this person does not want by email. Only the exceptions are
    stored: everyone gets every reminder until they switch one off."""

    __tablename__ = "reminder_opt_out"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    kind: str = Field(max_length=40, primary_key=True)
    chosen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CalendarFeed(SQLModel, table=True):
    """A patient's subscribed calendar. Only the hash of the address's secret is stored, so
    a database leak cannot read anyone's calendar; a new address replaces the row, which is
    how the old one stops working."""

    __tablename__ = "calendar_feed"

    patient_id: int = Field(foreign_key="patient.id", primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
