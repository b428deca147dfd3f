"""Does FHIR `$rems-etasu` answer as the HL7 US Medication REMS IG shapes it, with the same
decision as the JSON API, in the pharmacy's words, every resource valid, and every error an
OperationOutcome with the right status?"""

import copy
import json
from pathlib import Path

import freezegun
import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.operationdefinition import OperationDefinition
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.structuredefinition import StructureDefinition
from sqlalchemy import func, select

from compliance.fhir import definitions
from compliance.models import AuditEvent, LookupMiss
from compliance.services import rma
from tests.api_helpers import issued_rma, pharmacy_system
from tests.course_helpers import (
    DOB,
    at,
    build_world,
    local,
    qualified_with_no_month_open,
    qualify,
    ready_for_first_fill,
)
from workflows.findings import ReasonCode
from workflows.pharmacy_reasons import PharmacyCode

pytestmark = pytest.mark.db

URL = "/fhir/r4/GuidanceResponse/$rems-etasu"
GOLDEN = Path(__file__).parent / "golden" / "fhir"
FHIR_JSON = "application/fhir+json"
DAY = 20


def golden(name: str) -> dict:
    return json.loads((GOLDEN / name).read_text())


def ours(body: dict, world, dob: str = DOB) -> dict:
    """An example input with the test patient's program ID and birth date."""
    body = copy.deepcopy(body)
    for parameter in body["parameter"]:
        if parameter["name"] == "patient":
            parameter["resource"]["identifier"] = [
                {"system": definitions.PATIENT_ID_SYSTEM,
                 "value": world.patient.program_patient_id}]
            parameter["resource"]["birthDate"] = dob
    body["parameter"] = [p for p in body["parameter"]
                         if p["name"] not in ("case_number", "caseNumber")]
    return body


def ask(client, system, body, content_type=FHIR_JSON):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(URL, data=data, headers={**system.headers, "Content-Type": content_type})


def guidance(response) -> dict:
    """The answer's GuidanceResponse, after checking the whole answer is a valid Parameters."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == FHIR_JSON
    Parameters.model_validate_json(response.get_data())
    [parameter] = response.json["parameter"]
    assert parameter["name"] == "rems-etasu"
    return parameter["resource"]


def nested(answer: dict) -> dict[str, dict]:
    """The contained output parameters by name."""
    [contained] = answer["contained"]
    assert contained["id"] == "etasuOutputParameters"
    assert answer["outputParameters"]["reference"] == "#etasuOutputParameters"
    return {p["name"]: p for p in contained["parameter"]}


def requirements(answer: dict) -> dict[str, dict]:
    return {p["resource"]["identifier"][0]["value"]: p["resource"]
            for p in nested(answer).values() if "resource" in p}


def issue(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == FHIR_JSON
    OperationOutcome.model_validate_json(response.get_data())
    return response.json["issue"][0]


@pytest.fixture
def ready(app, db, factory):
    with app.test_request_context():
        world = ready_for_first_fill(db, factory)
    system = pharmacy_system(db, factory)
    with freezegun.freeze_time(at(DAY)):
        yield world, system


# --- Published definitions ----------------------------------------------------------------

def test_metadata_is_a_valid_capability_statement_naming_the_operation(client):
    """Does GET metadata answer a CapabilityStatement, without a key and without a cookie?"""
    response = client.get("/fhir/r4/metadata")
    assert response.status_code == 200 and response.mimetype == FHIR_JSON
    assert "Set-Cookie" not in response.headers
    statement = CapabilityStatement.model_validate_json(response.get_data())
    assert statement.fhirVersion == "4.0.1"
    [guidance_type] = [r for r in statement.rest[0].resource if r.type == "GuidanceResponse"]
    assert guidance_type.operation[0].definition == definitions.ETASU_OPERATION


@pytest.mark.parametrize("path,model", [
    ("CodeSystem/rems-reason", CodeSystem), ("CodeSystem/rems-requirement", CodeSystem),
    ("CodeSystem/rems-actor", CodeSystem), ("StructureDefinition/possible-from",
                                            StructureDefinition),
    ("OperationDefinition/rems-etasu", OperationDefinition),
])
def test_each_published_definition_validates_at_its_canonical_url(client, path, model):
    """Is each definition served where its canonical URL says, and a valid resource?"""
    response = client.get(f"/fhir/r4/{path}")
    assert response.status_code == 200 and response.mimetype == FHIR_JSON
    resource = model.model_validate_json(response.get_data())
    assert resource.url == f"{definitions.CANONICAL}/{path}"


def test_the_operation_definition_takes_both_spellings_of_the_case_number(client):
    defined = client.get("/fhir/r4/OperationDefinition/rems-etasu").json
    names = {(p["name"], p["use"]) for p in defined["parameter"]}
    assert {("patient", "in"), ("medication", "in"), ("case_number", "in"),
            ("caseNumber", "in"), ("rems-etasu", "out")} <= names


def test_every_reason_code_is_published_with_its_audience(client):
    """Can no code be answered that the CodeSystem does not define?"""
    concepts = {c["code"]: c for c in client.get("/fhir/r4/CodeSystem/rems-reason").json[
        "concept"]}
    assert {str(code) for code in PharmacyCode} | {str(code) for code in ReasonCode} \
        == set(concepts)
    audience = {c["code"]: c["property"][0]["valueCode"] for c in concepts.values()}
    assert all(audience[str(code)] == "pharmacy" for code in PharmacyCode)
    assert audience["CONTRACEPTION_INSUFFICIENT"] == "prescriber"


def test_an_unknown_definition_is_a_404_operation_outcome(client):
    assert issue(client.get("/fhir/r4/CodeSystem/nope"), 404)["code"] == "not-found"
    assert issue(client.get("/fhir/r4/Patient"), 404)["code"] == "not-found"


# --- The operation --------------------------------------------------------------------------

def test_a_patient_ready_for_a_fill_is_success_with_the_window(ready, client):
    """The IG's example input, with our patient: success, every requirement met, the
    do-not-dispense-after instant with New York's offset."""
    world, system = ready
    answer = guidance(ask(client, system, ours(golden("ig-etasu-input.json"), world)))
    assert answer["status"] == "success"
    assert answer["occurrenceDateTime"] == "2026-10-21T11:00:00-04:00"
    assert answer["subject"]["reference"] == f"Patient/{world.patient.program_patient_id}"
    assert {r["status"] for r in requirements(answer).values()} == {"success"}
    assert nested(answer)["do_not_dispense_after"]["valueDateTime"] == \
        "2026-10-27T23:59:59-04:00"
    assert "rma_number" not in nested(answer)


def test_the_fhir_answer_agrees_with_the_json_api(ready, client):
    """Same patient, same instant: the same outcome and window as GET eligibility."""
    world, system = ready
    api = client.get(f"/api/v1/patients/{world.patient.program_patient_id}/eligibility"
                     f"?date_of_birth={DOB}", headers=system.headers).json
    answer = guidance(ask(client, system, ours(golden("ig-etasu-input.json"), world)))
    assert api["eligible"] is (answer["status"] == "success")
    assert nested(answer)["do_not_dispense_after"]["valueDateTime"] == api["window_closes_at"]


def test_missing_steps_are_data_required_naming_who_must_act(app, db, factory, client):
    """Before the month's steps: the prescriber's and the patient's requirements are
    data-required, each with our reason code, the pharmacy's sentence and its stakeholder."""
    with app.test_request_context():
        world = build_world(db, factory)
        qualify(db, world)
    system = pharmacy_system(db, factory)
    with freezegun.freeze_time(at(DAY)):
        answer = guidance(ask(client, system, ours(golden("ig-etasu-input.json"), world)))
        api = client.get(f"/api/v1/patients/{world.patient.program_patient_id}/eligibility"
                         f"?date_of_birth={DOB}", headers=system.headers).json
    assert answer["status"] == "data-required"
    listed = requirements(answer)
    prescriber, patient = listed["prescriber-confirmation"], listed["patient-attestation"]
    assert prescriber["status"] == patient["status"] == "data-required"
    assert prescriber["subject"]["type"] == "Practitioner"
    assert patient["subject"]["reference"] == f"Patient/{world.patient.program_patient_id}"
    assert prescriber["reasonCode"][0]["coding"][0] == {
        "system": definitions.REASON_SYSTEM, "code": "PRESCRIBER_ACTION_NEEDED"}
    assert listed["certifications"]["status"] == "success"
    told = {c["coding"][0]["code"] for r in listed.values() for c in r.get("reasonCode", [])}
    assert told == {r["code"] for r in api["reasons"]}
    assert {n["text"] for r in listed.values() if r["status"] != "success"
            for n in r["note"]} == {r["message"] for r in api["reasons"]}


def test_a_pharmacy_is_never_told_clinical_requirements_or_codes(app, db, factory, client):
    """Minimum necessary: no contraception, test or counseling element, no clinical code."""
    with app.test_request_context():
        world = build_world(db, factory)  # nothing recorded: every clinical step is missing
    system = pharmacy_system(db, factory)
    with freezegun.freeze_time(at(DAY)):
        response = ask(client, system, ours(golden("ig-etasu-input.json"), world))
    answer = guidance(response)
    assert set(requirements(answer)) == {"enrollment", "prescriber-confirmation",
                                         "patient-attestation", "certifications",
                                         "supply-timing"}
    text = response.get_data(as_text=True).lower()
    for word in ("contracepti", "pregnan", "screening", "counsel", "method", "category",
                 "can_get_pregnant"):
        assert word not in text
    assert not {str(code) for code in ReasonCode} - {str(c) for c in PharmacyCode} & \
        set(json.dumps(answer).split('"'))


def test_waiting_alone_carries_the_date_it_is_possible_from(app, db, factory, client):
    """Too early to refill: supply timing is data-required, possible from the day after."""
    with app.test_request_context():
        world = qualified_with_no_month_open(db, factory)
    system = pharmacy_system(db, factory)
    with app.test_request_context(), freezegun.freeze_time(at(DAY)):
        first = issued_rma(db, world, system.pharmacy, DAY)
        rma.record_dispense(db, pharmacy=system.pharmacy, now=at(DAY), data={
            "rma_number": first.rma_number, "quantity": 30, "days_supply": 30,
            "dispensed_on": local(DAY).isoformat(), "medication_guide_given": True})
    with freezegun.freeze_time(at(42)):
        answer = guidance(ask(client, system, ours(golden("ig-etasu-input.json"), world)))
    supply = requirements(answer)["supply-timing"]
    assert supply["status"] == "data-required"
    assert supply["reasonCode"][0]["coding"][0]["code"] == "TOO_EARLY_TO_REFILL"
    assert supply["extension"] == [{"url": definitions.POSSIBLE_FROM,
                                    "valueDate": local(43).isoformat()}]
    assert "extension" not in requirements(answer)["prescriber-confirmation"]


def test_an_open_rma_is_reported_with_its_number_and_dndpa(app, ready, db, client):
    """Once this pharmacy holds the month's RMA: its number (also the case number), its
    do-not-dispense-after instant, and the supply step saying to fill it."""
    world, system = ready
    with app.test_request_context():
        held = issued_rma(db, world, system.pharmacy, DAY)
    answer = guidance(ask(client, system, ours(golden("ig-etasu-input.json"), world)))
    out = nested(answer)
    assert out["case_number"]["valueString"] == held.rma_number
    assert out["rma_number"]["valueIdentifier"] == {"system": definitions.RMA_NUMBER_SYSTEM,
                                                    "value": held.rma_number}
    assert out["do_not_dispense_after"]["valueDateTime"] == "2026-10-27T23:59:59-04:00"
    assert requirements(answer)["supply-timing"]["reasonCode"][0]["coding"][0]["code"] == \
        "RMA_ALREADY_OPEN"


@pytest.mark.parametrize("spelling", ["case_number", "caseNumber"])
def test_a_case_number_alone_finds_the_course_of_this_pharmacys_rma(app, ready, db, client,
                                                                    spelling):
    world, system = ready
    with app.test_request_context():
        held = issued_rma(db, world, system.pharmacy, DAY)
    body = {"resourceType": "Parameters",
            "parameter": [{"name": spelling, "valueString": held.rma_number}]}
    answer = guidance(ask(client, system, body))
    assert answer["subject"]["reference"] == f"Patient/{world.patient.program_patient_id}"
    assert nested(answer)["case_number"]["valueString"] == held.rma_number


def test_codex_shape_with_a_contained_medication_and_its_case_number(app, ready, db, client):
    """CodeX's MedicationRequest with a contained Medication, and caseNumber: the case must
    be this patient's."""
    world, system = ready
    with app.test_request_context():
        held = issued_rma(db, world, system.pharmacy, DAY)
    body = ours(golden("codex-etasu-medicationrequest.json"), world)
    body["parameter"].append({"name": "caseNumber", "valueString": held.rma_number})
    assert guidance(ask(client, system, body))["status"] == "data-required"
    body = ours(golden("codex-etasu-medicationrequest.json"), world, dob="2004-05-18")
    body["parameter"].append({"name": "caseNumber", "valueString": held.rma_number})
    assert guidance(ask(client, system, body))["status"] == "failure"


def test_another_pharmacys_rma_is_no_case(app, ready, db, factory, client):
    world, system = ready
    other = pharmacy_system(db, factory)
    with app.test_request_context():
        held = issued_rma(db, world, other.pharmacy, DAY)
    body = {"resourceType": "Parameters",
            "parameter": [{"name": "case_number", "valueString": held.rma_number}]}
    answer = guidance(ask(client, system, body))
    assert answer["status"] == "failure" and "subject" not in answer
    assert answer["note"][0]["text"] == "No RMA with this number was issued to this pharmacy."


def test_a_wrong_birth_date_is_failure_counted_as_a_miss(ready, client, db):
    """No match is `failure`, telling nothing of whether the ID exists; the miss counts."""
    world, system = ready
    answer = guidance(ask(client, system, ours(golden("ig-etasu-input.json"), world,
                                               dob="2004-05-18")))
    assert answer["status"] == "failure" and "contained" not in answer
    assert answer["note"][0]["text"] == "No patient matches this patient ID and date of birth."
    assert db.scalar(select(func.count()).select_from(LookupMiss)) == 1


def test_too_many_misses_answer_429_with_retry_after(ready, client):
    world, system = ready
    wrong = ours(golden("ig-etasu-input.json"), world, dob="1999-01-01")
    for _ in range(5):  # the ID's misses from anyone (lookups.PATIENT_LIMIT), then slowed
        assert guidance(ask(client, system, wrong))["status"] == "failure"
    response = ask(client, system, ours(golden("ig-etasu-input.json"), world))
    assert issue(response, 429)["code"] == "throttled"
    assert int(response.headers["Retry-After"]) > 0


def test_another_programs_medication_is_no_case(ready, client):
    world, system = ready
    body = ours(golden("ig-etasu-input.json"), world)
    body["parameter"][1]["resource"]["code"]["coding"] = [
        {"system": definitions.RXNORM, "code": "342369", "display": "lenalidomide"}]
    answer = guidance(ask(client, system, body))
    assert answer["status"] == "failure"
    assert "does not cover this medication" in answer["note"][0]["text"]


def test_each_call_is_audited_with_the_read_of_the_patient(ready, client, db):
    world, system = ready
    guidance(ask(client, system, ours(golden("ig-etasu-input.json"), world)))
    actions = set(db.scalars(select(AuditEvent.action)))
    assert {"api.rems_etasu", "patient.eligibility_checked"} <= actions


# --- Errors ---------------------------------------------------------------------------------

def test_without_a_key_the_operation_is_401_with_a_bearer_challenge(client):
    response = client.post(URL, data="{}", headers={"Content-Type": FHIR_JSON})
    assert issue(response, 401)["code"] == "login"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_uncertified_pharmacy_is_403(db, factory, client):
    system = pharmacy_system(db, factory, certified=False)
    with freezegun.freeze_time(at(DAY)):
        assert issue(ask(client, system, {"resourceType": "Parameters"}), 403)["code"] == \
            "forbidden"


@pytest.mark.parametrize("body,content_type,status,where", [
    ("{not json", FHIR_JSON, 400, None),
    ("", FHIR_JSON, 400, None),
    ('{"resourceType": "Patient"}', FHIR_JSON, 400, None),
    ('{"resourceType": "Parameters", "surprise": 1}', FHIR_JSON, 400, "surprise"),
    ('{"resourceType": "Parameters", "parameter": [{"name": "patient", "resource": '
     '{"resourceType": "Patient", "birthDate": "12/03/1989"}}]}', FHIR_JSON, 400, None),
    ("<Parameters/>", "application/fhir+xml", 415, None),
    ('{"resourceType": "Parameters"}', FHIR_JSON, 422, "patient"),
    ('{"resourceType": "Parameters", "parameter": [{"name": "mystery", "valueString": "x"}]}',
     FHIR_JSON, 422, "mystery"),
    ('{"resourceType": "Parameters", "parameter": [{"name": "case_number", "valueString": "a"},'
     '{"name": "caseNumber", "valueString": "b"}]}', FHIR_JSON, 422, "case_number"),
    ('{"resourceType": "Parameters", "parameter": [{"name": "patient", "resource": '
     '{"resourceType": "Patient"}}]}', FHIR_JSON, 422, "patient.identifier"),
    ('{"resourceType": "Parameters", "parameter": [{"name": "medication", "resource": '
     '{"resourceType": "Medication"}}, {"name": "case_number", "valueString": "x"}]}',
     FHIR_JSON, 422, "medication"),
])
def test_bad_input_is_an_operation_outcome_naming_the_element(ready, client, body, content_type,
                                                            status, where):
    """Malformed, invalid or incomplete input: 400, 415 or 422, never a 500."""
    _, system = ready
    found = issue(ask(client, system, body, content_type), status)
    if where:
        response = ask(client, system, body, content_type)
        assert any(where in i.get("expression", [""])[0] for i in response.json["issue"])
    assert found["severity"] == "error"


def test_the_igs_own_example_patient_is_told_which_identifier_to_send(ready, client):
    """The IG example names its patient by Medicare number: 422 naming our system."""
    _, system = ready
    response = ask(client, system, golden("ig-etasu-input.json"))
    found = issue(response, 422)
    assert definitions.PATIENT_ID_SYSTEM in found["diagnostics"]


def test_a_get_on_the_operation_is_405_as_an_operation_outcome(client):
    assert issue(client.get(URL), 405)["code"] == "not-supported"
