"""CDS Hooks 2.0: discovery, the three hooks on the IG's and CodeX's request shapes, JWT
refusals, prefetch fetched from the EHR, patient matching, cards and feedback."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import freezegun
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fhir.resources.R4B.task import Task
from sqlalchemy import func, select

from compliance.models import AuditEvent, CdsFeedback, CdsTokenUse, EhrPatientLink
from tests.cds_helpers import (
    EC_KEY,
    RSA_KEY,
    FhirStub,
    bearer,
    hook_request,
    public_pem,
    register_ehr,
    token,
)
from tests.course_helpers import at, ready_for_first_fill

SIGN = "/cds-services/rems-order-sign"


@pytest.fixture(autouse=True)
def _context(app):
    """Courses and clients are built through the services, which read the app."""
    with app.test_request_context():
        yield


@pytest.fixture
def world(db, factory):
    world = ready_for_first_fill(db, factory)
    register_ehr(db)
    return world


@pytest.fixture
def stub():
    fake = FhirStub()
    server = fake.serve()
    yield fake
    server.shutdown()
    server.server_close()


def call(client, hook: str, body: dict, **claims):
    service = f"rems-{hook}"
    return client.post(f"/cds-services/{service}", json=body,
                       headers=bearer(token(service, **claims)))


def test_discovery_lists_the_three_hooks_with_prefetch(client):
    services = client.get("/cds-services").get_json()["services"]
    assert {s["hook"] for s in services} == {"order-sign", "order-select", "patient-view"}
    for service in services:
        assert set(service["prefetch"]) == {"patient", "practitioner", "medicationRequests"}
        assert service["prefetch"]["practitioner"] == "{{context.userId}}"


@pytest.mark.parametrize("hook", ["order-sign", "order-select", "patient-view"])
def test_each_hook_answers_the_golden_shape(client, world, hook):
    with freezegun.freeze_time(at(21)):
        answer = call(client, hook, hook_request(hook, npi=world.npi))
    assert answer.status_code == 200, answer.get_json()
    cards = answer.get_json()["cards"]
    assert cards
    for card in cards:
        assert card["indicator"] == "info"
        assert len(card["summary"]) < 140
        assert card["source"]["label"] == "iPLEDGE REMS (isotretinoin)"
        assert all(link["url"].startswith("http://localhost/prescriber/patients/")
                   and link["type"] == "absolute" for link in card["links"])
    assert "set-cookie" not in answer.headers


def test_the_window_planner_card_gives_the_window_and_the_dndpa(client, world):
    with freezegun.freeze_time(at(21)):
        cards = call(client, "order-sign", hook_request("order-sign", npi=world.npi)
                     ).get_json()["cards"]
    planner = next(c for c in cards if "do-not-dispense-after" in c["summary"])
    assert planner["summary"] == ("iPLEDGE REMS (isotretinoin): fill by October 27, 2026, "
                                  "the do-not-dispense-after date")
    assert "opens October 21, 2026 and closes October 27, 2026" in planner["detail"]


def test_unmet_steps_speak_in_the_findings_words_with_a_task_suggestion(client, db, factory):
    from tests.course_helpers import build_world

    world = build_world(db, factory)
    register_ehr(db)
    with freezegun.freeze_time(at(1)):
        cards = call(client, "order-sign", hook_request("order-sign", npi=world.npi)
                     ).get_json()["cards"]
    steps = next(c for c in cards if "before the next fill" in c["summary"])
    assert steps["indicator"] == "info"
    assert "**For the patient**" in steps["detail"]
    action = steps["suggestions"][0]["actions"][0]
    assert action["type"] == "create"
    task = Task.model_validate(action["resource"])
    assert task.intent == "proposal" and task.status == "requested"
    assert task.code.coding[0].code == "launch-app-ehr"
    assert task.for_fhir.reference == "Patient/pat017"
    assert task.reasonReference.reference == "MedicationRequest/pat017-mr-IPledge"
    assert task.input[0].valueUrl.startswith("http://localhost/prescriber/patients/")


def test_an_order_without_a_medication_has_nothing_to_say(client, world):
    body = hook_request("order-sign", npi=world.npi)
    body["context"]["draftOrders"] = {"resourceType": "Bundle", "entry": []}
    with freezegun.freeze_time(at(21)):
        assert call(client, "order-sign", body).get_json() == {"cards": []}


def test_the_read_is_audited_with_the_answer(client, db, world):
    with freezegun.freeze_time(at(21)):
        call(client, "patient-view", hook_request("patient-view", npi=world.npi))
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "cds.hook_answered"))
    assert event.object_type == "patient" and event.object_id == str(world.patient.id)


# --- who is calling -------------------------------------------------------------------


def _refused(client, world, headers, service="rems-order-sign"):
    with freezegun.freeze_time(at(21)):
        answer = client.post(f"/cds-services/{service}", headers=headers,
                             json=hook_request("order-sign", npi=world.npi))
    assert answer.status_code == 401
    body = answer.get_json()
    assert body["error"] == "unauthorized" and "Casey" not in answer.get_data(as_text=True)
    return body["message"]


def test_refusals(client, db, world):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with freezegun.freeze_time(at(21)):
        cases = {
            "no header": {},
            "wrong signature": bearer(token(key=stranger)),
            "unknown issuer": bearer(token(iss="https://other.example.org")),
            "wrong audience": bearer(token(aud="http://localhost/cds-services/other")),
            "expired": bearer(token(now=at(21) - timedelta(minutes=10))),
            "no iat": bearer(token(iat=None)),
            "no jti": bearer(token(jti=None)),
            "alg none": bearer(jwt.encode({"iss": "https://ehr.example.org"}, None,
                                          algorithm="none")),
            "not a jwt": bearer("garbage"),
            "registered issuer, other algorithm's key": bearer(token(key=EC_KEY,
                                                                      algorithm="ES384")),
        }
    for name, headers in cases.items():
        assert _refused(client, world, headers), name
    assert db.scalar(select(func.count()).select_from(AuditEvent)
                     .where(AuditEvent.action == "cds.refused")) == len(cases)


def test_hs256_with_the_public_key_as_secret_is_refused(client, world):
    """PyJWT refuses a PEM as an HMAC secret itself, so the forgery is signed by hand."""

    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    with freezegun.freeze_time(at(21)):
        good = jwt.decode(token(), options={"verify_signature": False})
    signing = part({"alg": "HS256", "typ": "JWT"}) + "." + part(good)
    mac = hmac.new(public_pem(RSA_KEY).encode(), signing.encode(), hashlib.sha256).digest()
    forged = signing + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    assert "RS384" in _refused(client, world, bearer(forged))


def test_a_replayed_jti_is_refused(client, db, world):
    with freezegun.freeze_time(at(21)):
        once = bearer(token())
        body = hook_request("order-sign", npi=world.npi)
        assert client.post(SIGN, json=body, headers=once).status_code == 200
        again = client.post(SIGN, json=body, headers=once)
    assert again.status_code == 401 and "already used" in again.get_json()["message"]
    assert db.scalar(select(func.count()).select_from(CdsTokenUse)) == 1


def test_an_es384_client_with_a_jwks_url(client, db, factory, stub):
    world = ready_for_first_fill(db, factory)
    jwk = jwt.PyJWK.from_json(jwt.algorithms.ECAlgorithm.to_jwk(EC_KEY.public_key()))
    stub.resources["jwks"] = {"keys": [{**jwk._jwk_data, "kid": "k1", "use": "sig"}]}
    register_ehr(db, jwks_url=stub.url + "/jwks")
    with freezegun.freeze_time(at(21)):
        answer = client.post(SIGN, json=hook_request("order-sign", npi=world.npi),
                             headers=bearer(token(key=EC_KEY, algorithm="ES384",
                                                  headers={"kid": "k1"})))
    assert answer.status_code == 200, answer.get_json()


# --- prefetch fetched from the EHR ------------------------------------------------------


def test_missing_prefetch_is_fetched_with_the_ehr_token(client, world, stub):
    body = hook_request("patient-view", npi=world.npi)
    stub.resources["Patient/pat017"] = body["prefetch"].pop("patient")
    stub.resources["Practitioner/pra-sstrange"] = body["prefetch"].pop("practitioner")
    body.update(fhirServer=stub.url, fhirAuthorization={"access_token": stub.token,
                                                        "token_type": "Bearer"})
    with freezegun.freeze_time(at(21)):
        answer = call(client, "patient-view", body)
    assert answer.status_code == 200 and answer.get_json()["cards"]
    assert sorted(stub.seen) == ["/r4/Patient/pat017", "/r4/Practitioner/pra-sstrange"]


def test_a_failing_fhir_server_gets_a_clear_answer(client, world, stub):
    body = hook_request("patient-view", npi=world.npi)
    del body["prefetch"]["patient"]
    body.update(fhirServer=stub.url, fhirAuthorization={"access_token": "wrong"})
    with freezegun.freeze_time(at(21)):
        answer = call(client, "patient-view", body)
    assert answer.status_code == 412
    assert "Patient/pat017" in answer.get_json()["message"]


@pytest.mark.parametrize("server", ["http://ehr.example.org/r4", "ftp://127.0.0.1/r4",
                                    "file:///etc/passwd"])
def test_the_ehr_token_is_never_sent_in_the_clear(client, world, stub, server):
    """A fhirServer that is not https (or this machine) is refused before any request."""
    body = hook_request("patient-view", npi=world.npi)
    del body["prefetch"]["patient"]
    body.update(fhirServer=server, fhirAuthorization={"access_token": stub.token})
    with freezegun.freeze_time(at(21)):
        answer = call(client, "patient-view", body)
    assert answer.status_code == 412 and "https" in answer.get_json()["message"]
    assert stub.seen == []


# --- matching ---------------------------------------------------------------------------


def _summaries(client, hook_body, hook="patient-view"):
    with freezegun.freeze_time(at(21)):
        answer = call(client, hook, hook_body)
    return [(c["indicator"], c["summary"]) for c in answer.get_json()["cards"]]


NEUTRAL = ("warning",
           "Enroll this patient in iPLEDGE REMS (isotretinoin), or link the EHR's patient ID")


def test_a_linked_ehr_identifier_matches_whatever_the_name(client, db, world):
    db.add(EhrPatientLink(prescriber_id=world.course.prescriber_id, patient_id=world.patient.id,
                          ehr_identifier="http://hl7.org/fhir/sid/us-medicare|0V843229061TB"))
    db.commit()
    body = hook_request("patient-view", npi=world.npi, given="Jon", family="Snow")
    assert NEUTRAL not in _summaries(client, body)


def test_name_and_birth_date_match_only_one_patient(client, db, factory, world):
    assert NEUTRAL not in _summaries(client, hook_request("patient-view", npi=world.npi))
    assert _summaries(client, hook_request("patient-view", npi=world.npi,
                                           born="2004-05-18")) == [NEUTRAL]
    twin = factory.patient(_prescriber(db, world))
    twin.given_name, twin.family_name = "Casey", "Morgan"
    twin.date_of_birth = world.patient.date_of_birth
    db.commit()
    assert _summaries(client, hook_request("patient-view", npi=world.npi)) == [NEUTRAL]


def _prescriber(db, world):
    from compliance.models import PrescriberProfile

    return db.get(PrescriberProfile, world.course.prescriber_id)


def test_another_prescribers_patient_is_never_matched(client, db, factory, world):
    other = factory.prescriber()
    db.add(EhrPatientLink(prescriber_id=other.id, patient_id=world.patient.id,
                          ehr_identifier="Patient/pat017"))
    db.commit()
    assert _summaries(client, hook_request("patient-view", npi=other.npi)) == [NEUTRAL]


def test_an_uncertified_or_unknown_prescriber_gets_a_warning(client, db, factory, world):
    pending = factory.prescriber(certified=False)
    expected = [("warning", "Complete your iPLEDGE REMS (isotretinoin) prescriber "
                            "certification before prescribing")]
    assert _summaries(client, hook_request("patient-view", npi=pending.npi)) == expected
    assert _summaries(client, hook_request("patient-view", npi="1234567893")) == expected


# --- feedback ---------------------------------------------------------------------------


def test_feedback_on_our_cards_is_recorded(client, db, world):
    with freezegun.freeze_time(at(21)):
        card = call(client, "order-sign", hook_request("order-sign", npi=world.npi)
                    ).get_json()["cards"][0]
        url = SIGN + "/feedback"
        feedback = {"feedback": [{
            "card": card["uuid"], "outcome": "overridden",
            "overrideReasons": [{"reason": {"code": "patient-declined", "display":
                                            "Patient declined"}, "userComment": "Next visit"}],
            "outcomeTimestamp": "2026-10-22T15:00:00Z"}]}
        signed = "rems-order-sign/feedback"
        answer = client.post(url, json=feedback, headers=bearer(token(signed)))
        unknown = client.post(url, headers=bearer(token(signed)), json={"feedback": [
            {**feedback["feedback"][0], "card": "b7a7c1d2-0000-4000-8000-000000000000"}]})
    assert answer.status_code == 200
    row = db.scalar(select(CdsFeedback))
    assert (row.outcome, row.override_reason, row.override_comment) == (
        "overridden", "Patient declined", "Next visit")
    assert unknown.status_code == 400
    assert db.scalar(select(func.count()).select_from(AuditEvent)
                     .where(AuditEvent.action == "cds.feedback")) == 1
