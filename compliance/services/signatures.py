"""Electronic signatures: the signer proves who they are again, and the meaning is stored."""

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import AuditEvent, Signature, User
from compliance.security.passwords import verify_password
from compliance.services import alerts, signed_records
from compliance.services.errors import Refused
from compliance.services.signed_records import SignedRecord

ENROLLMENT = ("I have read the program's information. I understand the risks of this "
              "medicine to an unborn baby. I know what the program asks of me, and I agree "
              "to take part.")
PRESCRIBER_MONTHLY = ("I counseled this patient this month, and the pregnancy tests and "
                      "contraception methods I entered are correct.")
PATIENT_MONTHLY = ("I answered this month's questions myself, and I use the contraception "
                   "methods I confirmed.")
FAILURE_LIMIT = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKED = ("Signing is locked for 15 minutes after five wrong passwords. The tries are "
          "recorded for the program administrator.")
PATIENT_MONTHLY_ANSWERS = ("I answered this month's questions myself, and I follow the "
                           "program's requirements.")  # where no methods are confirmed


def sign(db: Session, *, signer: User, password: str, meaning: str, now: datetime,
         kind: str, record: SignedRecord, field: str = "password") -> Signature:
    """Record a signature of `record` as `kind` (see `signed_records.KINDS`) after the
    signer re-enters their password, bound to a hash of what it signs (not committed).

    A wrong password is a failed signing (21 CFR 11.300(d)): the act being signed is
    rolled back, the failure is audited and committed, and the fifth within
    `FAILURE_WINDOW` locks signing for the account and writes a `security.alert`.
    """
    failures = recent_failures(db, signer.id, now)
    if failures >= FAILURE_LIMIT:
        raise Refused({field: LOCKED})
    if not verify_password(signer.password_hash, password or ""):
        db.rollback()  # nothing of the act happens; only the failure is kept
        audit.record(db, "signature.failed", "user", signer.id, summary={"meaning": meaning},
                     actor_id=signer.id, actor_role=signer.role)
        locked = failures + 1 >= FAILURE_LIMIT
        if locked:
            alerts.raise_alert(db, object_type="user", object_id=signer.id, now=now,
                               actor_id=signer.id, actor_role=signer.role,
                               reason=f"{FAILURE_LIMIT} wrong passwords at signing within "
                                      f"{FAILURE_WINDOW.seconds // 60} minutes on account "
                                      f"#{signer.id} ({signer.role}); its signing is locked "
                                      "for 15 minutes.")
        db.commit()
        raise Refused({field: "The password is not right; your signature was not recorded."
                              + (f" {LOCKED}" if locked else "")})
    signature = Signature(signer_id=signer.id, signer_name=signer.name, meaning=meaning,
                          signed_at=now, kind=kind,
                          record_type=signed_records.KINDS[kind].record_type,
                          record_id=record.id,
                          record_hash=signed_records.digest(db, kind, record, now))
    db.add(signature)
    db.flush()
    audit.record(db, "signature.recorded", "signature", signature.id,
                 summary={"meaning": meaning}, actor_id=signer.id, actor_role=signer.role)
    return signature


def recent_failures(db: Session, user_id: int, now: datetime) -> int:
    """Failed signings of this account within the window."""
    return db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.actor_user_id == user_id, AuditEvent.action == "signature.failed",
        AuditEvent.occurred_at > now - FAILURE_WINDOW))


def find(db: Session, signature_id: int | None) -> Signature | None:
    """A recorded signature by id (None when nothing was signed)."""
    return None if signature_id is None else db.get(Signature, signature_id)
