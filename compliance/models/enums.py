"""Closed vocabularies stored as plain strings, with check constraints built from them."""

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    PRESCRIBER = "prescriber"
    PHARMACIST = "pharmacist"
    PATIENT = "patient"


# Staff must pass a second step to sign in; a patient may choose to.
SECOND_FACTOR_ROLES = frozenset({Role.ADMIN, Role.PRESCRIBER, Role.PHARMACIST})


class CertificationStatus(StrEnum):
    """Where a prescriber or pharmacy stands with the program."""

    PENDING = "pending"
    CERTIFIED = "certified"
    SUSPENDED = "suspended"


class BankStatus(StrEnum):
    """A question bank version: written as a draft, then active, then retired."""

    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


def check_in(column: str, enum: type[StrEnum]) -> str:
    """SQL for a check constraint that keeps `column` inside `enum`'s values."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} IN ({values})"
