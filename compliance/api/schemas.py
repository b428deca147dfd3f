"""The API's bodies as pydantic models: they validate requests, build answers, and are what
the OpenAPI document is generated from, so the description cannot drift from the code.

Requests are strict (a number sent as a string is refused, not guessed at) and refuse
unknown fields. Answers carry reasons only: never contraception methods, test results or
a patient's history.
"""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from compliance.models.inputs import DispenseEntry, RmaAsk

STRICT = ConfigDict(extra="forbid", strict=True)
_INPUT_OF: dict[type[BaseModel], type[BaseModel]] = {}  # each strict body's input model


def _strict_twin(model: type[BaseModel], name: str, doc: str) -> type[BaseModel]:
    """The input model's fields, with their constraints and validators, on a plain, strict
    pydantic model.

    The rules for each field stay in `compliance.models.inputs`; SQLModel classes cannot
    be strict about JSON (they refuse a date sent as a string), so the API body is a twin.
    Only what the fields carry is copied, so a model with validators declared on the class
    is refused here: its twin would accept what the model refuses.
    """
    declared = model.__pydantic_decorators__
    if declared.field_validators or declared.model_validators:
        raise TypeError(f"{model.__name__} has class validators, which its twin would lose; "
                        "put each rule in its field's annotation")
    fields = {name: (info.annotation, info) for name, info in model.model_fields.items()}
    twin = create_model(name, __config__=STRICT, __doc__=doc, **fields)
    _INPUT_OF[twin] = model
    return twin


def as_input(validated_body: BaseModel) -> BaseModel:
    """A validated strict body as the input model it twins, without validating it again:
    the twin checks and normalises every field as that model does, so the service takes it
    as it is (`services.errors.validated`)."""
    return _INPUT_OF[type(validated_body)].model_construct(**dict(validated_body))


RmaRequestBody = _strict_twin(RmaAsk, "RmaRequestBody",
                              "Ask for an authorization (RMA) for one fill.")
DispenseBody = _strict_twin(DispenseEntry, "DispenseBody",
                            "The fill made under an RMA; `medication_guide_given` must be true.")


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
