"""Emergency access ("break-glass", HIPAA 164.312(a)(2)(ii)): a certified prescriber
covering for a colleague may read the whole record of a patient who is not theirs, for
`DURATION`, after naming the patient by card (ID and date of birth, looked up under the same
throttle as at a pharmacy counter) and giving a reason.

Nothing is hidden about it: the grant raises a security alert that emails every
administrator, each read is audited with the grant, and when the hour is over the record
answers 403. The access reads only; changes stay with the prescriber of record.
"""

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import EmergencyAccess, PatientProfile, PrescriberProfile, User
from compliance.services import alerts, lookups

from .errors import Refused

DURATION = timedelta(minutes=60)
MIN_REASON = 20
NO_MATCH = "No patient has this program ID and date of birth. Check both against the card."


def grant(db: Session, *, user: User, prescriber: PrescriberProfile, typed_id: str,
          born: date, reason: str, now: datetime) -> EmergencyAccess:
    """Open an hour's access to the patient on this card. Committed either way: a miss
    counts against the lookup throttle even though the request is refused."""
    reason = " ".join((reason or "").split())
    if len(reason) < MIN_REASON:
        raise Refused({"reason": "Say why you need this record now, in a sentence "
                                 f"(at least {MIN_REASON} characters)."})
    asker = lookups.asker(pharmacy_id=0, user_id=user.id)
    patient = lookups.find(db, typed_id=typed_id, born=born, asker=asker, now=now)
    if patient is None:
        db.commit()
        raise Refused({"patient_id": NO_MATCH})
    if patient.prescriber_id == prescriber.id:
        raise Refused({"patient_id": "This is your own patient: open them from your "
                                     "worklist."})
    access = EmergencyAccess(user_id=user.id, patient_id=patient.id, reason=reason[:500],
                             granted_at=now, expires_at=now + DURATION)
    db.add(access)
    db.flush()
    audit.record(db, "emergency_access.granted", "patient", patient.id,
                 summary={"grant": access.id, "reason": access.reason,
                          "expires_at": access.expires_at})
    alerts.raise_alert(db, object_type="patient", object_id=patient.id, now=now,
                       reason=f"Emergency access: prescriber account #{user.id} opened the "
                              f"record of patient #{patient.id} for "
                              f"{DURATION.seconds // 60} minutes. The reason given is in "
                              "the audit log.")
    db.commit()
    return access


def open_grant(db: Session, *, user_id: int, patient_id: int,
               now: datetime) -> EmergencyAccess | None:
    return db.scalar(select(EmergencyAccess).where(
        EmergencyAccess.user_id == user_id, EmergencyAccess.patient_id == patient_id,
        EmergencyAccess.granted_at <= now, EmergencyAccess.expires_at > now)
        .order_by(EmergencyAccess.expires_at.desc()).limit(1))


def ever_granted(db: Session, *, user_id: int, patient_id: int) -> bool:
    return db.scalar(select(EmergencyAccess.id).where(
        EmergencyAccess.user_id == user_id, EmergencyAccess.patient_id == patient_id
    ).limit(1)) is not None


def use(db: Session, *, access: EmergencyAccess) -> None:
    """Audit one read under the grant (not committed; the record's own read is audited
    beside it)."""
    audit.record(db, "emergency_access.used", "patient", access.patient_id,
                 summary={"grant": access.id})


def of_user(db: Session, *, user_id: int, now: datetime) -> list[tuple[EmergencyAccess,
                                                                        PatientProfile]]:
    """The user's open grants with their patients, soonest to end first."""
    return list(db.execute(select(EmergencyAccess, PatientProfile)
                           .join(PatientProfile, PatientProfile.id == EmergencyAccess.patient_id)
                           .where(EmergencyAccess.user_id == user_id,
                                  EmergencyAccess.expires_at > now)
                           .order_by(EmergencyAccess.expires_at)).all())
