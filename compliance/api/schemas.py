"""The API's bodies as pydantic models: they validate requests, build answers, and are what
the OpenAPI document is generated from, so the description cannot drift from the code.

Requests are the service's input models (`compliance.models.inputs`), validated strictly (a
number sent as a string is refused, not guessed at) and refusing unknown fields. Answers
carry reasons only: never contraception methods, test results or a patient's history.
"""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from compliance.models.inputs import DispenseEntry, RmaAsk

STRICT = ConfigDict(extra="forbid", strict=True)


class RmaRequestBody(RmaAsk):
    """Ask for an authorization (RMA) for one fill."""

    model_config = STRICT


class DispenseBody(DispenseEntry):
    """The fill made under an RMA; `medication_guide_given` must be true."""

    model_config = STRICT


class EligibilityQuery(BaseModel):
    """The second identifier the eligibility read checks against the patient ID."""

    model_config = ConfigDict(extra="forbid")

    date_of_birth: date


class Reason(BaseModel):
    """One unmet requirement: a stable code, who must act, a sentence, and the date it becomes
    met by itself when only time stands in the way."""

    code: str
    actor: str | None
    message: str
    eligible_on: date | None


class RmaDecision(BaseModel):
    """The answer to a request for an RMA, authorized or not (recorded either way)."""

    id: str
    decision: Literal["authorized", "denied"]
    rma_number: str | None
    do_not_dispense_after: date | None = Field(
        description="The last day the RMA may be filled (program time zone).")
    window_closes_at: datetime | None = Field(
        description="The last second of that day, with the program zone's UTC offset.")
    patient_id: str | None
    program: str | None
    rule_version: str | None
    reasons: list[Reason]
    status: Literal["issued", "dispensed", "reversed", "expired", "voided"] | None = Field(
        description="Where the RMA stands now (null when none was issued).")
    status_reason: str | None = Field(
        description="Why a voided RMA may not be filled, in the pharmacy's words.")


class DispenseRecord(BaseModel):
    """A recorded fill."""

    id: int
    rma_number: str
    dispensed_on: date
    quantity: int
    days_supply: int
    medication_guide_given: bool
    recorded_at: datetime


class Reversal(BaseModel):
    """An RMA reversed before it was filled."""

    rma_number: str
    status: Literal["reversed"]
    reversed_at: datetime


class Eligibility(BaseModel):
    """What a request for an RMA made now would get, without asking for one."""

    patient_id: str
    program: str
    rule_version: str
    eligible: bool
    do_not_dispense_after: date | None
    window_closes_at: datetime | None
    reasons: list[Reason]
    checked_at: datetime


class FieldError(BaseModel):
    field: str = Field(description="The field at fault ('' for the body as a whole).")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document (`application/problem+json`)."""

    type: str
    title: str
    status: Annotated[int, Field(ge=400, le=599)]
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = Field(
        default=None, description="For validation errors: one entry per field at fault.")
