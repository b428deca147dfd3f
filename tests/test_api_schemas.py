"""Does the API's strict body keep every rule of the input model it extends, and refuse
what only a lax reading would accept?"""

import json

import pytest
from pydantic import ValidationError

from compliance.api import schemas
from compliance.models.inputs import RmaAsk

GOOD = {"patient_id": "P-1", "patient_date_of_birth": "2000-01-01",
        "prescriber_npi": "1245319599", "ndc": "0555-0101-02", "strength_mg": 40.0,
        "quantity": 30, "days_supply": 30}


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
    sent = GOOD | body
    as_json = json.dumps(sent)
    try:
        expected = RmaAsk.model_validate(sent).model_dump(mode="json")
    except ValidationError:
        with pytest.raises(ValidationError):
            schemas.RmaRequestBody.model_validate_json(as_json)
        return
    strict = schemas.RmaRequestBody.model_validate_json(as_json)
    assert isinstance(strict, RmaAsk)  # the service takes it without validating again
    assert strict.model_dump(mode="json") == expected


@pytest.mark.parametrize("body", [
    {"quantity": "30"},
    {"days_supply": 30.5},
    {"prescriber_npi": 1245319599},
    {"extra": "field"},
])
def test_the_strict_body_refuses_what_the_lax_model_would_guess_at(body):
    """Is a number sent as a string, a string sent as a number, or an unknown field refused
    by the API, though a form's lax reading may accept some of them?"""
    with pytest.raises(ValidationError):
        schemas.RmaRequestBody.model_validate_json(json.dumps(GOOD | body))
