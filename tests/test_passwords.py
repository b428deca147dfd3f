"""Are passwords stored the way the security bar says: argon2id, never in clear?"""

import pytest
from argon2 import extract_parameters, profiles

from compliance.security.passwords import hash_password, needs_rehash, verify_password

pytestmark = pytest.mark.real_password_hashing


def test_passwords_are_hashed_with_argon2id_at_the_rfc_9106_profile():
    """Is the stored form argon2id with at least the RFC 9106 low-memory parameters?"""
    stored = hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    parameters = extract_parameters(stored)
    floor = profiles.RFC_9106_LOW_MEMORY
    assert parameters.memory_cost >= floor.memory_cost
    assert parameters.time_cost >= floor.time_cost
    assert "correct horse" not in stored
    assert not needs_rehash(stored)


@pytest.mark.parametrize("stored,typed,accepted", [
    ("real", "correct horse battery staple", True),
    ("real", "correct horse battery stapl", False),
    ("real", "", False),
    (None, "correct horse battery staple", False),  # invited, no password yet
    ("$argon2id$garbage", "anything", False),
])
def test_verification(stored, typed, accepted):
    """Does only the right password match, and does a broken hash fail closed?"""
    if stored == "real":
        stored = hash_password("correct horse battery staple")
    assert verify_password(stored, typed) is accepted


def test_a_weaker_stored_hash_is_flagged_for_upgrade():
    """Will a hash made with weaker parameters be re-hashed at the next sign-in?"""
    from argon2 import PasswordHasher

    weak = PasswordHasher.from_parameters(profiles.CHEAPEST).hash("x" * 12)
    assert needs_rehash(weak)
