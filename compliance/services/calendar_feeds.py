"""A patient's subscribed calendar: a secret address their calendar app reads every hour.

The address is the only key to it (a calendar app cannot sign in), so it is long and random,
shown once, and only its hash is stored: a new address replaces the old one, and stopping
it ends it at once. Every read is audited like any other read of the patient's dates.
"""

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.auth import hash_token
from compliance.models import CalendarFeed, PatientProfile, User


def feed_of(db: Session, patient: PatientProfile) -> CalendarFeed | None:
    """The patient's current address, if one is on."""
    return db.get(CalendarFeed, patient.id)


def start(db: Session, *, patient: PatientProfile, now: datetime) -> str:
    """A new secret address for the patient's calendar; any earlier one stops working."""
    token = secrets.token_urlsafe(32)
    feed = feed_of(db, patient)
    replaced = feed is not None
    if feed is None:
        feed = CalendarFeed(patient_id=patient.id, token_hash=hash_token(token), created_at=now)
        db.add(feed)
    else:
        feed.token_hash, feed.created_at, feed.last_read_at = hash_token(token), now, None
    audit.record(db, "calendar_feed.replaced" if replaced else "calendar_feed.started",
                 "patient", patient.id)
    db.commit()
    return token


def stop(db: Session, *, patient: PatientProfile) -> bool:
    """End the patient's address; False when there was none."""
    feed = feed_of(db, patient)
    if feed is None:
        return False
    db.delete(feed)
    audit.record(db, "calendar_feed.stopped", "patient", patient.id)
    db.commit()
    return True


def read(db: Session, *, token: str, now: datetime) -> PatientProfile | None:
    """The patient behind `token`, the read audited and its time kept; None for an unknown
    or ended address, or a deactivated account (the caller answers 404 and says no more)."""
    row = db.execute(select(CalendarFeed, PatientProfile)
                     .join(PatientProfile, PatientProfile.id == CalendarFeed.patient_id)
                     .join(User, User.id == PatientProfile.user_id)
                     .where(CalendarFeed.token_hash == hash_token(token), User.is_active)).first()
    if row is None:
        return None
    feed, patient = row
    feed.last_read_at = now
    audit.record(db, "calendar_feed.read", "patient", patient.id, actor_id=patient.user_id,
                 actor_role="patient")
    db.commit()
    return patient
