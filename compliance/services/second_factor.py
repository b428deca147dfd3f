"""The second step of signing in: a code from an authenticator app (TOTP, RFC 6238), or one
of ten single-use recovery codes.

Staff (admins, prescribers, pharmacists) must have one; a patient may turn it on. A code
is accepted once: the factor remembers the 30-second step of the last code it took, and a
code for that step or an earlier one is refused, so a code read over a shoulder or out of
a proxy's log opens nothing. The app's clock may drift a step either way.
"""

import hashlib
import hmac
import re
import secrets
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import RecoveryCode, TotpFactor, User
from compliance.models.enums import SECOND_FACTOR_ROLES

from .errors import Refused

ISSUER = "REMS compliance"
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
RECOVERY_LENGTH = 10  # about 49 bits each
WRONG_CODE = ("This code is not right, or it was already used. Enter the 6 digits your app "
              "shows now, or one of your recovery codes.")
CODE_ONCE = "Enter the 6 digits your authenticator app shows now."


def required_for(user: User) -> bool:
    return user.role in SECOND_FACTOR_ROLES


def factor_of(db: Session, user_id: int) -> TotpFactor | None:
    return db.scalar(select(TotpFactor).where(TotpFactor.user_id == user_id))


def is_enrolled(db: Session, user_id: int) -> bool:
    factor = factor_of(db, user_id)
    return factor is not None and factor.confirmed_at is not None


def next_step(db: Session, user: User) -> str | None:
    """What signing in still asks after the password: "code", "enroll" or nothing."""
    if is_enrolled(db, user.id):
        return "code"
    return "enroll" if required_for(user) else None


def enrolled_among(db: Session, user_ids: list[int]) -> set[int]:
    """Which of these accounts have an app set up (one query for a page of accounts)."""
    return set(db.scalars(select(TotpFactor.user_id).where(
        TotpFactor.user_id.in_(user_ids), TotpFactor.confirmed_at.is_not(None))))


def begin_enrollment(db: Session, *, user: User, now: datetime) -> TotpFactor:
    """The account's unconfirmed factor, made on first call: the same secret until its
    first code confirms it, so a QR code scanned earlier still works. Not committed."""
    factor = factor_of(db, user.id)
    if factor is not None and factor.confirmed_at is not None:
        raise Refused("Two-step sign-in is already on for this account.")
    if factor is None:
        factor = TotpFactor(user_id=user.id, secret=pyotp.random_base32(), created_at=now)
        db.add(factor)
        db.flush()
        audit.record(db, "second_factor.setup_started", "user", user.id, actor_id=user.id,
                     actor_role=user.role)
    return factor


def setup_uri(factor: TotpFactor, user: User) -> str:
    """The `otpauth://` address an authenticator app reads from the QR code."""
    return pyotp.TOTP(factor.secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_code(uri: str) -> str:
    return segno.make_qr(uri, error="m").svg_data_uri(scale=4, border=4)


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def confirm_enrollment(db: Session, *, user: User, code: str, now: datetime) -> list[str]:
    """Turn the factor on with its first code; returns the recovery codes, shown once.
    Not committed."""
    factor = begin_enrollment(db, user=user, now=now)
    if not _take_code(factor, code, now):
        raise Refused({"code": WRONG_CODE})
    factor.confirmed_at = now
    db.add(factor)
    codes = _issue_recovery_codes(db, user.id, now)
    audit.record(db, "second_factor.enrolled", "user", user.id,
                 summary={"recovery_codes": len(codes)})
    return codes


def prove(db: Session, *, user: User, code: str, now: datetime) -> str | None:
    """Check a code from the app or a recovery code; which one it was, or None when
    neither. A recovery code is spent. Not committed."""
    factor = factor_of(db, user.id)
    if factor is None or factor.confirmed_at is None:
        return None
    if _take_code(factor, code, now):
        db.add(factor)
        return "totp"
    if _spend_recovery_code(db, user.id, code, now):
        return "recovery"
    return None


def new_recovery_codes(db: Session, *, user: User, code: str, now: datetime) -> list[str]:
    """Replace the recovery codes, proving the factor with a current app code first; the
    old codes stop working. Not committed."""
    factor = factor_of(db, user.id)
    if factor is None or factor.confirmed_at is None or not _take_code(factor, code, now):
        raise Refused({"code": CODE_ONCE})
    db.add(factor)
    codes = _issue_recovery_codes(db, user.id, now)
    audit.record(db, "second_factor.recovery_codes_replaced", "user", user.id)
    return codes


def turn_off(db: Session, *, user: User, code: str, now: datetime) -> None:
    """A patient turns the second step off, proving it one last time. Staff cannot: the
    program requires it of them. Not committed."""
    if required_for(user):
        raise Refused("Staff accounts must keep two-step sign-in. If you lost your phone, "
                      "ask an administrator to reset it.")
    if prove(db, user=user, code=code, now=now) is None:
        raise Refused({"code": WRONG_CODE})
    remove(db, user=user, reason="turned off by its owner")


def recovery_codes_left(db: Session, user_id: int) -> int:
    return db.scalar(select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))) or 0


def remove(db: Session, *, user: User, reason: str) -> None:
    """Forget the account's app and recovery codes (a lost phone, or a patient turning it
    off); staff enroll again at their next sign-in. Audited, not committed."""
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.execute(delete(TotpFactor).where(TotpFactor.user_id == user.id))
    audit.record(db, "second_factor.removed", "user", user.id, summary={"reason": reason})


def _take_code(factor: TotpFactor, code: str, now: datetime) -> bool:
    """Accept a 6-digit code for the current step or one either side, once."""
    digits = re.sub(r"[\s-]", "", code or "")
    if not re.fullmatch(r"\d{6}", digits):
        return False
    totp = pyotp.TOTP(factor.secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if factor.last_step is not None and step <= factor.last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), digits):
            factor.last_step = step
            return True
    return False


def _issue_recovery_codes(db: Session, user_id: int, now: datetime) -> list[str]:
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.add(RecoveryCode(user_id=user_id, code_hash=_digest(raw), created_at=now))
    return codes


def _spend_recovery_code(db: Session, user_id: int, code: str, now: datetime) -> bool:
    raw = re.sub(r"[\s-]", "", (code or "").lower())
    if len(raw) != RECOVERY_LENGTH:
        return False
    row = db.scalar(select(RecoveryCode).where(
        RecoveryCode.user_id == user_id, RecoveryCode.code_hash == _digest(raw),
        RecoveryCode.used_at.is_(None)))
    if row is None:
        return False
    row.used_at = now
    db.add(row)
    db.flush()
    audit.record(db, "second_factor.recovery_code_used", "user", user_id,
                 summary={"left": recovery_codes_left(db, user_id)})
    return True


def _digest(raw: str) -> str:
    """Recovery codes are random with about 49 bits each and guessed only under the login
    throttle, so a plain SHA-256 suffices (a slow hash would cost every sign-in)."""
    return hashlib.sha256(raw.encode()).hexdigest()
