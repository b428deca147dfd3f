"""Electronic signatures: the signer proves who they are again, and the meaning is stored."""

from datetime import datetime

from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import Signature, User
from compliance.security.passwords import verify_password
from compliance.services.errors import Refused

ENROLLMENT = ("I have read the program's information. I understand the risks of this "
              "medicine to an unborn baby. I know what the program asks of me, and I agree "
              "to take part.")
PRESCRIBER_MONTHLY = ("I counseled this patient this month, and the pregnancy tests and "
                      "contraception methods I entered are correct.")
PATIENT_MONTHLY = ("I answered this month's questions myself, and I use the contraception "
                   "methods I confirmed.")
PATIENT_MONTHLY_ANSWERS = ("I answered this month's questions myself, and I follow the "
                           "program's requirements.")  # where no methods are confirmed


def sign(db: Session, *, signer: User, password: str, meaning: str, now: datetime,
         field: str = "password") -> Signature:
    """Record a signature after the signer re-enters their password (not committed)."""
    if not verify_password(signer.password_hash, password or ""):
        raise Refused({field: "The password is not right; your signature was not recorded."})
    signature = Signature(signer_id=signer.id, signer_name=signer.name, meaning=meaning,
                          signed_at=now)
    db.add(signature)
    db.flush()
    audit.record(db, "signature.recorded", "signature", signature.id,
                 summary={"meaning": meaning}, actor_id=signer.id, actor_role=signer.role)
    return signature


def find(db: Session, signature_id: int | None) -> Signature | None:
    """A recorded signature by id (None when nothing was signed)."""
    return None if signature_id is None else db.get(Signature, signature_id)
