"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile), a bounded
number at once per process (`security.overload`)."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from compliance.security.overload import hash_turn

_HASHER = PasswordHasher()

# Verified when the account is unknown, so a wrong email costs as long as a wrong password
# and response times do not reveal which accounts exist.
_DUMMY_HASH = _HASHER.hash("not a real password, only spends the same time")


def hash_password(password: str) -> str:
    with hash_turn():
        return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; an account without a password (not activated) never matches."""
    try:
        with hash_turn():
            return _HASHER.verify(password_hash or _DUMMY_HASH, password) \
                and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the stored hash uses weaker parameters than the current ones."""
    return _HASHER.check_needs_rehash(password_hash)
