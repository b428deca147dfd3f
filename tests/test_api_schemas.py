"""Does the API's strict body keep every rule of the input model it twins?"""

import json

import pytest
from pydantic import ValidationError, field_validator, model_validator
from sqlmodel import SQLModel

from compliance.api import schemas
from compliance.models.inputs import RmaAsk


class _FieldChecked(SQLModel):
    code: str

    @field_validator("code")
    @classmethod
    def _known(cls, value: str) -> str:
        if value != "known":
            raise ValueError("unknown code")
        return value


class _ModelChecked(SQLModel):
    low: int
    high: int

    @model_validator(mode="after")
    def _ordered(self):
        if self.low > self.high:
            raise ValueError("low above high")
        return self


@pytest.mark.parametrize("model", [_FieldChecked, _ModelChecked])
def test_a_model_with_class_validators_gets_no_twin(model):
    """Is a twin refused when it would drop a validator declared on the class, rather than
    built to accept what the model refuses?"""
    with pytest.raises(TypeError, match="class validators"):
        schemas._strict_twin(model, "Body", "")


@pytest.mark.parametrize("body", [
    {"patient_id": " P-1 ", "ndc": "0555-0101-02"},
    {"ndc": " 0555-0101-02 "},
    {"ndc": "0555 0101 02"},
    {"prescriber_npi": "1234567890"},
    {"strength_mg": 0},
    {"days_supply": 91},
])
def test_the_strict_body_refuses_or_normalises_as_the_input_model_does(body):
    """For the same JSON, does the strict body give what `RmaAsk` gives, or refuse when it
    refuses?"""
    sent = {"patient_id": "P-1", "patient_date_of_birth": "2000-01-01",
            "prescriber_npi": "1245319599", "ndc": "0555-0101-02", "strength_mg": 40.0,
            "quantity": 30, "days_supply": 30} | body
    as_json = json.dumps(sent)
    try:
        expected = RmaAsk.model_validate(sent).model_dump(mode="json")
    except ValidationError:
        with pytest.raises(ValidationError):
            schemas.RmaRequestBody.model_validate_json(as_json)
        return
    twin = schemas.as_input(schemas.RmaRequestBody.model_validate_json(as_json))
    assert twin.model_dump(mode="json") == expected
