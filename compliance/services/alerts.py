"""Security alerts: an audit event, and an email to every active administrator.

Raised when something looks like an attack rather than a mistake: five wrong passwords at
signing (21 CFR 11.300(d)), or an audit log that was tampered with. The email says what
happened in one sentence, with no patient data, and links to the site.
"""

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import Role, User
from compliance.services import outbox

DELIVER_WITHIN = timedelta(days=1)


def raise_alert(db: Session, *, reason: str, object_type: str, object_id, now: datetime,
                **attributed) -> None:
    """Record the alert and write one email per active administrator; not committed."""
    audit.record(db, "security.alert", object_type, object_id, summary={"reason": reason},
                 **attributed)
    admins = db.scalars(select(User).where(User.role == Role.ADMIN, User.is_active.is_(True),
                                           User.password_hash.is_not(None)))
    for admin in admins:
        outbox.enqueue(db, to=admin, kind="security_alert", deadline=now + DELIVER_WITHIN,
                       now=now, reason=reason)
