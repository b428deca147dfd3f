"""Input models: every value a person or system sends is validated here before a row is built.

Table models skip validation (SQLModel), so these non-table models are the one place the
rules for names, NPIs, NCPDP IDs, dates and passwords live. Forms and, later, the API map
their errors back onto fields.
"""

import re
from datetime import date
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from sqlmodel import SQLModel
from zxcvbn import zxcvbn

from compliance.identifiers import is_valid_ncpdp_id, is_valid_npi
from workflows.facts import TestKind, TestResult, TestSetting

from .enums import CertificationStatus

# Control characters break storage (PostgreSQL refuses NUL) and bidirectional overrides
# can make a name display as somebody else's; neither belongs in a name or an address.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_INVISIBLE_EXCEPT_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
                                     "\u202a-\u202e\u2066-\u2069]")


def _printable(value: str) -> str:
    if _INVISIBLE.search(value):
        raise ValueError("Remove the invisible or control characters.")
    return value


def _printable_lines(value: str) -> str:
    if _INVISIBLE_EXCEPT_LINES.search(value):
        raise ValueError("Remove the invisible or control characters.")
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
                 AfterValidator(_printable)]
LongName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                     AfterValidator(_printable)]
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
# zxcvbn's 0-4 scale, estimated offline from common and breached passwords, names, words
# and keyboard patterns: 3 stands for about 10^8 guesses, beyond online guessing.
MIN_PASSWORD_SCORE = 3


def _npi(value: str) -> str:
    value = value.strip()
    if not is_valid_npi(value):
        raise ValueError("Enter a valid 10-digit NPI (its check digit did not match).")
    return value


def _ncpdp(value: str) -> str:
    value = value.strip()
    if not is_valid_ncpdp_id(value):
        raise ValueError("Enter the 7-digit NCPDP ID.")
    return value


def _lower(value: str) -> str:
    return value.strip().lower()


Npi = Annotated[str, AfterValidator(_npi)]
NcpdpId = Annotated[str, AfterValidator(_ncpdp)]
Email = Annotated[EmailStr, AfterValidator(_lower)]


class AccountCreate(SQLModel):
    """What every new account needs: a name and a unique email."""

    name: LongName
    email: Email


class PrescriberCreate(AccountCreate):
    npi: Npi
    practice_name: LongName


class PharmacyCreate(SQLModel):
    name: LongName
    address_line: LongName
    city: Name
    state: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True,
                                            pattern=r"^[A-Z]{2}$")]
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True,
                                                  pattern=r"^[0-9]{5}(-[0-9]{4})?$")]
    ncpdp_id: NcpdpId
    npi: Npi


class PharmacistCreate(AccountCreate):
    pharmacy_id: int
    responsible: bool = False
    move_responsible: bool = False  # confirms taking the role from the current holder


class Certification(SQLModel):
    """An admin's certification decision: dates of the period in force."""

    status: str
    certified_on: date | None = None
    expires_on: date | None = None
    staff_trained_on: date | None = None  # pharmacies only

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        if value not in set(CertificationStatus):
            raise ValueError("Choose a certification status.")
        return value

    @field_validator("certified_on")
    @classmethod
    def _start_when_certified(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is None and info.data.get("status") == CertificationStatus.CERTIFIED:
            raise ValueError("A certification needs the date it starts.")
        return value

    @field_validator("expires_on")
    @classmethod
    def _expiry_after_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is None and info.data.get("status") == CertificationStatus.CERTIFIED:
            raise ValueError("A certification needs the date it expires.")
        start = info.data.get("certified_on")
        if value is not None and start is not None and value <= start:
            raise ValueError("The expiry date must come after the certification date.")
        return value


class PatientCreate(SQLModel):
    """A prescriber's registration of a patient; the program and its category are checked
    against the program definitions by the service (they are data, not code)."""

    given_name: Name
    family_name: Name
    date_of_birth: date
    email: Email
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=30,
                                            pattern=r"^[0-9+() .-]*$")] = ""
    weight_kg: Annotated[float, Field(ge=20, le=300)]
    program: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] = "ipledge"
    category: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=40)]
    category_reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3,
                                                      max_length=500),
                               AfterValidator(_printable_lines)]


class PasswordSet(SQLModel):
    """A new password: long enough to resist guessing, short enough to hash quickly."""

    password: str
    confirm: str

    @field_validator("password")
    @classmethod
    def _strong_enough(cls, value: str) -> str:
        if len(value) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
        if len(value) > MAX_PASSWORD_LENGTH:
            raise ValueError(f"Use at most {MAX_PASSWORD_LENGTH} characters.")
        if len(set(value)) < 5:
            raise ValueError("Use a less repetitive password.")
        guess = zxcvbn(value, max_length=MAX_PASSWORD_LENGTH)
        if guess["score"] < MIN_PASSWORD_SCORE:  # common, breached or patterned passwords
            warning = guess["feedback"]["warning"] or "It is too easy to guess."
            raise ValueError(f"{warning.rstrip('.')}. Add a few words only you would choose "
                             "together.")
        return value

    @field_validator("confirm")
    @classmethod
    def _matches(cls, value: str, info) -> str:
        if info.data.get("password") not in (None, value):
            raise ValueError("The two passwords differ.")
        return value



class MethodEntry(SQLModel):
    """A contraception method the prescriber records, from the day it started."""

    method: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=60)]
    started_on: date


class TestEntry(SQLModel):
    """A pregnancy test result as the prescriber enters it."""

    __test__ = False  # not a pytest class

    kind: TestKind
    specimen_on: date
    result: TestResult
    setting: TestSetting
    laboratory: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200),
                          AfterValidator(_printable)] = ""
    sensitivity_miu: Annotated[int, Field(ge=1, le=1000)] | None = None


class RmaAsk(BaseModel):
    """What a pharmacy sends to ask for an RMA (docs/api.md: POST /api/v1/rma-requests); a plain
    pydantic model, so the API can validate it strictly (`api.schemas`)."""

    patient_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                 max_length=20)]
    patient_date_of_birth: date
    prescriber_npi: Npi
    ndc: Annotated[str, StringConstraints(strip_whitespace=True,
                                          pattern=r"^[0-9]{4,5}-?[0-9]{3,4}-?[0-9]{1,2}$")]
    strength_mg: Annotated[float, Field(gt=0, le=100)]
    quantity: Annotated[int, Field(ge=1, le=1000)]
    days_supply: Annotated[int, Field(ge=1, le=90)]


class DispenseEntry(BaseModel):
    """A fill recorded under an RMA (docs/api.md: POST /api/v1/dispenses)."""

    rma_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                 max_length=20)]
    quantity: Annotated[int, Field(ge=1, le=1000)]
    days_supply: Annotated[int, Field(ge=1, le=90)]
    dispensed_on: date
    medication_guide_given: bool
