"""Does POST /ncpdp/script answer CodeX's message shapes with the JSON API's decisions:
approvals with the RMA and its period in Eastern time, denials with every reason, fills
recorded once per MessageID, reversals, hostile XML refused, and every answer valid against
our XSD, telling a pharmacy nothing clinical?"""

import uuid
from pathlib import Path

import freezegun
import pytest
from lxml import etree
from sqlalchemy import func, select

from compliance.models import AuditEvent, Dispense, Rma
from compliance.ncpdp.messages import SCHEMA
from tests.api_helpers import issued_rma, pharmacy_system
from tests.course_helpers import (
    DOB,
    at,
    build_world,
    local,
    qualify,
    ready_for_first_fill,
)

pytestmark = pytest.mark.db

URL = "/ncpdp/script"
GOLDEN = Path(__file__).parent / "golden" / "ncpdp"
XML = "application/xml"
DAY = 20


def message(name: str, **values) -> str:
    defaults = {"message_id": uuid.uuid4().hex, "date_of_birth": DOB, "quantity": 30,
                "days_supply": 30, "fill_status": "<Dispensed><Note>Picked up</Note></Dispensed>",
                "guide": "true", "dispensed_on": local(DAY).isoformat()}
    return (GOLDEN / name).read_text().format(**{**defaults, **values})


def for_world(world, name: str, **values) -> str:
    return message(name, patient_id=world.patient.program_patient_id, npi=world.npi, **values)


def send(client, system, body: str, content_type: str = XML):
    return client.post(URL, data=body.encode(), headers={**system.headers,
                                                         "Content-Type": content_type})


def answered(response, status: int = 200) -> etree._Element:
    """The answer's Body element, after checking the whole answer against our XSD."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == XML
    root = etree.fromstring(response.get_data())
    SCHEMA.validate(root)
    return root.find("Body")[0]


@pytest.fixture
def ready(app, db, factory):
    with app.test_request_context():
        world = ready_for_first_fill(db, factory)
    system = pharmacy_system(db, factory)
    with freezegun.freeze_time(at(DAY)):
        yield world, system


def test_every_golden_request_is_valid_against_our_schema():
    for name in ("rems-initiation-request.xml", "rems-request.xml", "rx-fill.xml"):
        SCHEMA.validate(etree.fromstring(message(name, patient_id="DEM00-00010",
                                                 npi="1234567893",
                                                 rma_number="123456789012").encode()))


# --- REMSRequest ----------------------------------------------------------------------------

def test_an_approved_request_carries_the_rma_and_its_period_in_eastern_time(ready, client, db):
    world, system = ready
    body = answered(send(client, system, for_world(world, "rems-request.xml")))
    approved = body.find("Response/ResponseStatus/Approved")
    number = approved.findtext("REMSAuthorizationNumber")
    assert db.scalar(select(Rma.rma_number)) == number
    assert approved.findtext("REMSCaseID") == world.patient.program_patient_id
    assert approved.findtext("AuthorizationPeriod/EffectiveDate/Date") == "2026-10-21"
    assert approved.findtext("AuthorizationPeriod/ExpirationDate/Date") == "2026-10-27"
    assert approved.findtext("AuthorizationPeriod/ExpirationDateTime") == \
        "2026-10-27T23:59:59-04:00"


def test_the_period_across_the_november_clock_change_takes_standard_time(app, db, factory,
                                                                        client):
    """A window opened Oct 29 closes Nov 4, after the clocks go back: -05:00."""
    with app.test_request_context():
        world = build_world(db, factory)
        qualify(db, world, confirmation_day=28)
        from tests.course_helpers import complete_month
        complete_month(db, world, 28)
    system = pharmacy_system(db, factory)
    with freezegun.freeze_time(at(28)):
        body = answered(send(client, system, for_world(world, "rems-request.xml")))
    period = body.find("Response/ResponseStatus/Approved/AuthorizationPeriod")
    assert period.findtext("ExpirationDate/Date") == "2026-11-04"
    assert period.findtext("ExpirationDateTime") == "2026-11-04T23:59:59-05:00"


def test_a_denial_names_every_unmet_requirement(app, db, factory, client):
    """Month steps missing and too long a supply: every reason, each with who acts."""
    with app.test_request_context():
        world = build_world(db, factory)
        qualify(db, world)
    system = pharmacy_system(db, factory)
    with freezegun.freeze_time(at(DAY)):
        response = send(client, system, for_world(world, "rems-request.xml", days_supply=31))
        api = client.get(f"/api/v1/patients/{world.patient.program_patient_id}/eligibility"
                         f"?date_of_birth={DOB}", headers=system.headers).json
    denied = answered(response).find("Response/ResponseStatus/Denied")
    reasons = [(r.findtext("DeniedReasonCode"), r.findtext("Actor"))
               for r in denied.findall("DeniedReason")]
    assert set(reasons) >= {("PRESCRIBER_ACTION_NEEDED", "prescriber"),
                            ("PATIENT_ACTION_NEEDED", "patient"),
                            ("SUPPLY_TOO_LONG", "pharmacy")}
    assert denied.findtext("DeniedReasonCode") == reasons[0][0]
    assert {r["code"] for r in api["reasons"]} <= {code for code, _ in reasons}
    text = response.get_data(as_text=True).lower()
    for word in ("contracepti", "pregnan", "screening", "method", "category", "counsel"):
        assert word not in text


def test_an_unknown_patient_is_denied_telling_nothing(ready, client):
    world, system = ready
    denied = answered(send(client, system, for_world(world, "rems-request.xml",
                                                     date_of_birth="2004-05-18"))).find(
        "Response/ResponseStatus/Denied")
    assert denied.findtext("DeniedReasonCode") == "PATIENT_NOT_FOUND"
    assert denied.find("REMSCaseID") is None


# --- REMSInitiationRequest --------------------------------------------------------------------

def test_an_initiation_says_what_stands_in_the_way_and_issues_nothing(app, db, factory,
                                                                     client):
    with app.test_request_context():
        world = build_world(db, factory)
        qualify(db, world)
    system = pharmacy_system(db, factory)
    with freezegun.freeze_time(at(DAY)):
        body = answered(send(client, system, for_world(world,
                                                       "rems-initiation-request.xml")))
    opened = body.find("Response/ResponseStatus/Open")
    assert opened.findtext("Eligible") == "false"
    assert {u.findtext("DeniedReasonCode") for u in opened.findall("UnmetRequirement")} == \
        {"PRESCRIBER_ACTION_NEEDED", "PATIENT_ACTION_NEEDED"}
    assert db.scalar(select(func.count()).select_from(Rma)) == 0


def test_an_initiation_for_a_ready_patient_gives_the_period(ready, client):
    world, system = ready
    opened = answered(send(client, system, for_world(world, "rems-initiation-request.xml"))
                      ).find("Response/ResponseStatus/Open")
    assert opened.findtext("Eligible") == "true"
    assert opened.findtext("AuthorizationPeriod/ExpirationDate/Date") == "2026-10-27"


def test_a_wrong_birth_date_closes_the_initiation_and_counts_as_a_miss(ready, client, db):
    world, system = ready
    for _ in range(5):  # each a new message (a retried one would be answered from memory)
        wrong = for_world(world, "rems-initiation-request.xml", date_of_birth="1999-01-01")
        closed = answered(send(client, system, wrong)).find("Response/ResponseStatus/Closed")
        assert closed.findtext("ReasonCode") == "PATIENT_NOT_FOUND"
    response = send(client, system, for_world(world, "rems-initiation-request.xml"))
    assert answered(response, 429).findtext("Code") == "900"
    assert int(response.headers["Retry-After"]) > 0


# --- RxFill -----------------------------------------------------------------------------------

def test_a_fill_is_recorded_once_per_message_id(app, ready, client, db):
    world, system = ready
    with app.test_request_context():
        held = issued_rma(db, world, system.pharmacy, DAY)
    fill = for_world(world, "rx-fill.xml", rma_number=held.rma_number)
    first = answered(send(client, system, fill))
    assert (first.tag, first.findtext("Code")) == ("Status", "000")
    again = send(client, system, fill)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert answered(again).findtext("REMSAuthorizationNumber") == held.rma_number
    assert db.scalar(select(func.count()).select_from(Dispense)) == 1
    db.expire_all()
    assert db.get(Rma, held.id).status == "dispensed"


def test_a_used_message_id_with_another_body_is_refused(app, ready, client, db):
    world, system = ready
    with app.test_request_context():
        held = issued_rma(db, world, system.pharmacy, DAY)
    answered(send(client, system, for_world(world, "rx-fill.xml", rma_number=held.rma_number,
                                            message_id="fill-1")))
    other = for_world(world, "rx-fill.xml", rma_number=held.rma_number, message_id="fill-1",
                      dispensed_on=local(DAY + 1).isoformat())
    error = answered(send(client, system, other), 422)
    assert error.tag == "Error" and error.findtext("DescriptionCode") == \
        "idempotency-key-reused"


def test_a_second_fill_of_one_rma_is_refused_409(app, ready, client, db):
    world, system = ready
    with app.test_request_context():
        held = issued_rma(db, world, system.pharmacy, DAY)
    answered(send(client, system, for_world(world, "rx-fill.xml", rma_number=held.rma_number)))
    error = answered(send(client, system, for_world(world, "rx-fill.xml",
                                                    rma_number=held.rma_number)), 409)
    assert "already been dispensed" in error.findtext("Description")


def test_a_fill_without_the_medication_guide_is_refused(app, ready, client, db):
    world, system = ready
    with app.test_request_context():
        held = issued_rma(db, world, system.pharmacy, DAY)
    error = answered(send(client, system, for_world(world, "rx-fill.xml", guide="false",
                                                    rma_number=held.rma_number)), 409)
    assert "Medication Guide" in error.findtext("Description")
    assert db.scalar(select(func.count()).select_from(Dispense)) == 0


def test_a_fill_after_the_dndpa_is_refused(app, db, factory, client):
    with app.test_request_context():
        world = ready_for_first_fill(db, factory)
    system = pharmacy_system(db, factory)
    with app.test_request_context(), freezegun.freeze_time(at(DAY)):
        held = issued_rma(db, world, system.pharmacy, DAY)
    with freezegun.freeze_time(at(27)):
        error = answered(send(client, system, for_world(
            world, "rx-fill.xml", rma_number=held.rma_number,
            dispensed_on=local(27).isoformat())), 409)
    assert "expired" in error.findtext("Description")


def test_not_dispensed_reverses_the_rma(app, ready, client, db):
    world, system = ready
    with app.test_request_context():
        held = issued_rma(db, world, system.pharmacy, DAY)
    status = answered(send(client, system, for_world(
        world, "rx-fill.xml", rma_number=held.rma_number,
        fill_status="<NotDispensed><Note>Patient did not collect</Note></NotDispensed>")))
    assert status.findtext("DescriptionCode") == "reversed"
    db.expire_all()
    assert db.get(Rma, held.id).status == "reversed"


def test_another_pharmacys_rma_is_not_found(app, ready, db, factory, client):
    world, system = ready
    other = pharmacy_system(db, factory)
    with app.test_request_context():
        held = issued_rma(db, world, other.pharmacy, DAY)
    answered(send(client, system, for_world(world, "rx-fill.xml", rma_number=held.rma_number)),
             404)


# --- Keys, audit, hostile input ---------------------------------------------------------------

def test_without_a_key_the_answer_is_a_401_error_message(client):
    response = client.post(URL, data=b"<Message/>", headers={"Content-Type": XML})
    assert answered(response, 401).findtext("DescriptionCode") == "unauthenticated"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_uncertified_pharmacy_is_403(db, factory, client):
    system = pharmacy_system(db, factory, certified=False)
    with freezegun.freeze_time(at(DAY)):
        answered(send(client, system, "<Message/>"), 403)


def test_each_message_is_audited_as_an_api_call(ready, client, db):
    world, system = ready
    answered(send(client, system, for_world(world, "rems-request.xml")))
    actions = set(db.scalars(select(AuditEvent.action)))
    assert "api.script" in actions


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Message><Header>&lol3;</Header></Message>"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Message><Header><To>&xxe;</To></Header></Message>"""


@pytest.mark.parametrize("body,content_type,status", [
    (BILLION_LAUGHS, XML, 400),
    (XXE, XML, 400),
    ("<Message><Header>", XML, 400),
    ("", XML, 400),
    ("not xml at all", XML, 400),
    ("<Message><Header/><Body/></Message>", XML, 400),
    ("<Other/>", XML, 400),
    ('{"json": true}', "application/json", 415),
])
def test_hostile_or_malformed_bodies_are_refused_without_expansion(ready, client, body,
                                                                  content_type, status):
    _, system = ready
    response = send(client, system, body, content_type)
    error = answered(response, status)
    assert error.tag == "Error"
    assert "root:" not in response.get_data(as_text=True)  # /etc/passwd never read back
    assert "lollol" not in response.get_data(as_text=True)


def test_a_message_that_breaks_the_schema_names_the_element(ready, client):
    world, system = ready
    bad = for_world(world, "rems-request.xml").replace("<DaysSupply>30</DaysSupply>",
                                                       "<DaysSupply>thirty</DaysSupply>")
    error = answered(send(client, system, bad), 400)
    assert "DaysSupply" in error.findtext("Description")


def test_an_answer_sent_as_a_request_is_refused(ready, client):
    _, system = ready
    status = message("rx-fill.xml", patient_id="X", npi="1", rma_number="1")
    start, end = status.index("<RxFill>"), status.index("</RxFill>") + len("</RxFill>")
    status = status[:start] + "<Status><Code>000</Code></Status>" + status[end:]
    assert "REMSInitiationRequest" in answered(send(client, system, status), 400).findtext(
        "Description")


def test_unknown_paths_answer_in_ncpdp_form(client):
    answered(client.get("/ncpdp/nothing"), 404)
    answered(client.get(URL), 405)
