"""Finding a patient by program ID and date of birth, with guessing kept slow and seen.

A date of birth is guessable (about 36,500 values in a century, far fewer for a known
age), so every miss is audited and counted over `WINDOW`:

* per asker (a pharmacist, or a pharmacy's system by its key): `ASKER_LIMIT` misses and
  the asker's lookups are refused until the window has passed since the oldest counted;
* per patient ID, from anyone: past `PATIENT_LIMIT` misses, that ID may be tried once per
  `PATIENT_SLOWDOWN`, so a guesser spread over many accounts gets one try a minute while
  the patient's own pharmacy, typing the card right, still gets through.
"""

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.identifiers import normalise_program_patient_id
from compliance.models import LookupMiss, PatientProfile
from compliance.services import patients
from compliance.services.errors import Throttled, wait_words

WINDOW = timedelta(minutes=15)
ASKER_LIMIT = 10
PATIENT_LIMIT = 5
PATIENT_SLOWDOWN = timedelta(seconds=60)


def asker(*, pharmacy_id: int, user_id: int | None) -> str:
    """Who is counted: the pharmacist at the counter, or the pharmacy's system."""
    return f"user:{user_id}" if user_id is not None else f"pharmacy:{pharmacy_id}"


def find(db: Session, *, typed_id: str | None, born, asker: str, now: datetime,
         pharmacy_id: int | None = None) -> PatientProfile | None:
    """The patient on this card, or None (the miss is recorded and audited, not committed).
    Raises Throttled when this asker or this patient ID has missed too often."""
    patient_id = normalise_program_patient_id(typed_id or "")
    refuse_if_throttled(db, asker=asker, patient_id=patient_id, now=now)
    patient = patients.on_card(db, typed_id, born)
    if patient is None:
        record_miss(db, asker=asker, patient_id=patient_id, pharmacy_id=pharmacy_id, now=now)
    return patient


def refuse_if_throttled(db: Session, *, asker: str, patient_id: str | None,
                        now: datetime) -> None:
    since = now - WINDOW
    mine = _misses(db, since, LookupMiss.asker == asker, limit=ASKER_LIMIT)
    if len(mine) >= ASKER_LIMIT:
        _refuse(mine[-1] + WINDOW - now)
    if patient_id is None:
        return
    theirs = _misses(db, since, LookupMiss.program_patient_id == patient_id,
                     limit=PATIENT_LIMIT)
    if len(theirs) >= PATIENT_LIMIT and now - theirs[0] < PATIENT_SLOWDOWN:
        _refuse(theirs[0] + PATIENT_SLOWDOWN - now)


def record_miss(db: Session, *, asker: str, patient_id: str | None, now: datetime,
                pharmacy_id: int | None = None) -> None:
    """Count and audit a lookup that matched nobody (what was typed is not kept in the
    audit log beyond the normalised ID: a wrong date of birth is still someone's). The
    event is on the pharmacy that asked, or on the person (a prescriber's emergency
    access)."""
    db.add(LookupMiss(asker=asker, program_patient_id=patient_id or "", missed_at=now))
    where = ("pharmacy", pharmacy_id) if pharmacy_id is not None else \
        ("user", asker.partition(":")[2])
    audit.record(db, "patient.lookup_missed", *where,
                 summary={"asker": asker, "patient_id": patient_id})


def prune(db: Session, *, now: datetime) -> int:
    """Forget misses older than the window; returns how many went (not committed)."""
    return db.execute(delete(LookupMiss).where(LookupMiss.missed_at < now - WINDOW)).rowcount


def _misses(db: Session, since: datetime, condition, *, limit: int) -> list[datetime]:
    """Times of the newest misses matching `condition`, newest first, at most `limit`."""
    return list(db.scalars(select(LookupMiss.missed_at).where(
        condition, LookupMiss.missed_at > since).order_by(LookupMiss.missed_at.desc())
        .limit(limit)))


def _refuse(wait: timedelta) -> None:
    seconds = max(1, int(wait.total_seconds() + 0.999))
    raise Throttled({"patient_id": "Too many lookups matched no patient. Check the card and "
                                   f"try again in {wait_words(seconds)}."}, retry_after=seconds)
