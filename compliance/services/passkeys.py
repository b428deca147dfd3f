"""Passkeys (WebAuthn, with the `webauthn` library): added while signed in, then used to
sign in without a password or a code.

A passkey proves possession of the device and, as user verification is required, the
person's PIN, fingerprint or face on it: two factors in one step, so it stands in for the
password and the authenticator code, for staff too. Each ceremony carries a fresh
challenge that the caller keeps (in the signed session cookie) and spends once. The
relying party is the service's public address (`PUBLIC_URL`): a passkey answers only the
origin it was made for, so a look-alike site gets nothing usable.
"""

from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from compliance import audit
from compliance.models import Passkey, User

from .errors import Refused

RP_NAME = "REMS compliance"
NOT_ADDED = "Your device did not make a passkey that this site can use. Try again."
NOT_RECOGNISED = ("This passkey is not recognised. Sign in with your email and password "
                  "instead.")
DEACTIVATED = "This account is deactivated, so it cannot sign in."


def relying_party() -> tuple[str, str]:
    """The relying party's id (the public host) and the one origin answers must come from."""
    url = urlsplit(current_app.config["PUBLIC_URL"])
    return url.hostname or "localhost", f"{url.scheme}://{url.netloc}"


def registration_options(db: Session, *, user: User) -> tuple[str, bytes]:
    """Options for the browser's `navigator.credentials.create`, as JSON, and their
    challenge. A passkey already on the account is excluded, so a device is added once."""
    rp_id, _origin = relying_party()
    existing = db.scalars(select(Passkey.credential_id).where(Passkey.user_id == user.id))
    options = generate_registration_options(
        rp_id=rp_id, rp_name=RP_NAME, user_name=user.email, user_display_name=user.name,
        user_id=_handle(user),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(credential))
                             for credential in existing])
    return options_to_json(options), options.challenge


def register(db: Session, *, user: User, credential: object, challenge: bytes, name: str,
             now: datetime) -> Passkey:
    """Keep the passkey the browser made for these options. Audited, not committed."""
    rp_id, origin = relying_party()
    if not isinstance(credential, dict):
        raise Refused(NOT_ADDED)
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id,
            expected_origin=origin, require_user_verification=True)
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise Refused(NOT_ADDED) from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if db.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)):
        raise Refused("This passkey is already added.")
    passkey = Passkey(user_id=user.id, credential_id=credential_id,
                      public_key=bytes_to_base64url(verified.credential_public_key),
                      sign_count=verified.sign_count, created_at=now,
                      name=(name or "").strip()[:100] or "Passkey")
    db.add(passkey)
    db.flush()
    audit.record(db, "passkey.added", "user", user.id,
                 summary={"passkey": passkey.id, "name": passkey.name})
    return passkey


def authentication_options() -> tuple[str, bytes]:
    """Options for `navigator.credentials.get`: any passkey of this site (the device
    offers the person their accounts), with user verification required."""
    rp_id, _origin = relying_party()
    options = generate_authentication_options(
        rp_id=rp_id, user_verification=UserVerificationRequirement.REQUIRED)
    return options_to_json(options), options.challenge


def owner_of(db: Session, credential: object) -> tuple[User, Passkey] | None:
    """The account a passkey answer claims to be for, before it is checked."""
    raw_id = credential.get("rawId") if isinstance(credential, dict) else None
    if not isinstance(raw_id, str) or len(raw_id) > 1400:
        return None
    passkey = db.scalar(select(Passkey).where(Passkey.credential_id == raw_id))
    return (db.get(User, passkey.user_id), passkey) if passkey else None


def authenticate(db: Session, *, user: User, passkey: Passkey, credential: object,
                 challenge: bytes, now: datetime) -> None:
    """Check the answer's signature, origin, challenge and user verification; the
    signature count must grow (a cloned authenticator's does not). Not committed."""
    rp_id, origin = relying_party()
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id,
            expected_origin=origin, credential_public_key=base64url_to_bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count, require_user_verification=True)
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise Refused(NOT_RECOGNISED) from None
    if _user_handle(credential) not in (None, _handle(user)):
        raise Refused(NOT_RECOGNISED)  # the device names another account than the key's
    if not user.is_active:
        raise Refused(DEACTIVATED)
    passkey.sign_count, passkey.last_used_at = verified.new_sign_count, now
    db.add(passkey)


def of_user(db: Session, user_id: int) -> list[Passkey]:
    return list(db.scalars(select(Passkey).where(Passkey.user_id == user_id)
                           .order_by(Passkey.created_at, Passkey.id)))


def remove(db: Session, *, user: User, passkey_id: int) -> Passkey:
    """Delete one of the account's own passkeys. Audited, not committed."""
    passkey = db.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != user.id:
        raise Refused("No such passkey on your account.")
    db.delete(passkey)
    audit.record(db, "passkey.removed", "user", user.id,
                 summary={"passkey": passkey.id, "name": passkey.name})
    return passkey


def _handle(user: User) -> bytes:
    """The WebAuthn user handle: the account number, no name or email."""
    return str(user.id).encode()


def _user_handle(credential: object) -> bytes | None:
    response = credential.get("response") if isinstance(credential, dict) else None
    handle = response.get("userHandle") if isinstance(response, dict) else None
    if not handle:
        return None
    try:
        return base64url_to_bytes(handle)
    except (ValueError, TypeError):
        return b"unreadable"
