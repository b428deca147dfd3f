"""One decision behind every surface: the same dated scenarios asked through the JSON API,
FHIR `$rems-etasu`, an NCPDP REMSInitiationRequest, the pharmacist's counter page and the
prescriber's CDS Hooks cards agree on whether a fill can be authorized, on the reasons, and
on the DNDPA."""

import html
import json
from dataclasses import dataclass
from datetime import date

import freezegun
import pytest
from lxml import etree

from compliance.services import rma
from tests.api_helpers import issued_rma, pharmacy_system
from tests.cds_helpers import bearer, hook_request, register_ehr, token
from tests.conftest import csrf_token
from tests.course_helpers import (
    DOB,
    at,
    build_world,
    local,
    qualified_with_no_month_open,
    qualify,
    ready_for_first_fill,
)
from tests.form_helpers import fast_sign_in
from tests.test_fhir import URL as ETASU
from tests.test_fhir import golden, guidance, nested, ours, requirements
from tests.test_ncpdp import for_world
from workflows.pharmacy_reasons import SENTENCES

pytestmark = pytest.mark.db
FIND = "/pharmacist/patients/find"


@dataclass(frozen=True)
class Answer:
    """What every surface must agree on."""

    authorized: bool
    reasons: frozenset[str]  # pharmacy codes (CDS: who must act, its vocabulary is clinical)
    dndpa: date | None


def ready(app, db, factory):
    return ready_for_first_fill(db, factory)


def steps_missing(app, db, factory):
    world = build_world(db, factory)
    qualify(db, world)
    return world


def filled_on_day_20(app, db, factory):
    world = qualified_with_no_month_open(db, factory)
    pharmacy = pharmacy_system(db, factory).pharmacy
    with freezegun.freeze_time(at(20)):
        first = issued_rma(db, world, pharmacy, 20)
        rma.record_dispense(db, pharmacy=pharmacy, now=at(20), data={
            "rma_number": first.rma_number, "quantity": 30, "days_supply": 30,
            "dispensed_on": local(20).isoformat(), "medication_guide_given": True})
    return world


SCENARIOS = {  # name: (how the course got here, the day it is asked on, what all must say)
    "ready_day_20": (ready, 20, Answer(True, frozenset(), date(2026, 10, 27))),
    "month_steps_missing_day_20": (steps_missing, 20, Answer(
        False, frozenset({"PRESCRIBER_ACTION_NEEDED", "PATIENT_ACTION_NEEDED"}), None)),
    "window_missed_day_28": (ready, 28, Answer(False, frozenset({"NEW_TEST_NEEDED"}), None)),
    "too_early_day_42": (filled_on_day_20, 42, Answer(
        False, frozenset({"TOO_EARLY_TO_REFILL"}), None)),
}


def through_json(client, system, world) -> Answer:
    body = client.get(f"/api/v1/patients/{world.patient.program_patient_id}/eligibility"
                      f"?date_of_birth={DOB}", headers=system.headers).json
    closes = body["do_not_dispense_after"]
    return Answer(body["eligible"], frozenset(r["code"] for r in body["reasons"]),
                  date.fromisoformat(closes) if closes else None)


def through_fhir(client, system, world) -> Answer:
    answer = guidance(client.post(ETASU, data=json.dumps(ours(golden("ig-etasu-input.json"),
                                                              world)),
                                  headers={**system.headers,
                                           "Content-Type": "application/fhir+json"}))
    codes = {c["coding"][0]["code"] for r in requirements(answer).values()
             for c in r.get("reasonCode", [])}
    closes = nested(answer).get("do_not_dispense_after")
    return Answer(answer["status"] == "success", frozenset(codes),
                  date.fromisoformat(closes["valueDateTime"][:10]) if closes else None)


def through_ncpdp(client, system, world) -> Answer:
    response = client.post("/ncpdp/script",
                           data=for_world(world, "rems-initiation-request.xml").encode(),
                           headers={**system.headers, "Content-Type": "application/xml"})
    assert response.status_code == 200
    opened = etree.fromstring(response.get_data()).find(
        "Body/REMSInitiationResponse/Response/ResponseStatus/Open")
    closes = opened.findtext("AuthorizationPeriod/ExpirationDate/Date")
    return Answer(opened.findtext("Eligible") == "true",
                  frozenset(u.findtext("DeniedReasonCode")
                            for u in opened.findall("UnmetRequirement")),
                  date.fromisoformat(closes) if closes else None)


def through_counter(client, pharmacist, world) -> frozenset[str]:
    """The pharmacy sentences the counter page shows for the patient."""
    page = client.post(FIND, data={"csrf_token": csrf_token(client, FIND),
                                   "patient_id": world.patient.program_patient_id,
                                   "date_of_birth": DOB})
    assert page.status_code == 200
    text = html.unescape(page.get_data(as_text=True))
    return frozenset(str(code) for code, sentence in SENTENCES.items() if sentence in text)


def through_cds(client, world) -> tuple[bool, frozenset[str], str | None]:
    """Whether the prescriber is shown steps before the next fill, who they are for, and the
    planner card's summary."""
    service = "rems-order-sign"
    cards = client.post(f"/cds-services/{service}", json=hook_request("order-sign",
                                                                      npi=world.npi),
                        headers=bearer(token(service))).get_json()["cards"]
    steps = [c for c in cards if "before the next fill" in c["summary"]]
    who = frozenset(line.strip("*") for c in steps for line in c["detail"].split("\n")
                    if line.startswith("**For "))
    planner = next((c["summary"] for c in cards if "do-not-dispense-after" in c["summary"]),
                   None)
    return bool(steps), who, planner


HEADING_OF = {"prescriber": "For you", "patient": "For the patient"}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_surface_gives_the_same_decision(app, db, factory, client, scenario):
    arrange, day, expected = SCENARIOS[scenario]
    with app.test_request_context():
        world = arrange(app, db, factory)
        system = pharmacy_system(db, factory)
        pharmacist = factory.pharmacist(system.pharmacy, name="Lee Lead")
        register_ehr(db)
    with freezegun.freeze_time(at(day)):
        api = through_json(client, system, world)
        assert api == expected
        assert through_fhir(client, system, world) == api
        assert through_ncpdp(client, system, world) == api
        fast_sign_in(client, db, pharmacist)
        assert through_counter(client, pharmacist, world) == api.reasons
        with app.test_request_context():
            shown_steps, who, planner = through_cds(client, world)
    # The prescriber is shown the steps people take; what only a pharmacy can do (and no
    # pharmacy is known when an order is signed) is the planner's "next fill from".
    people = {reason_actor(code) for code in api.reasons} - {"pharmacy"}
    assert shown_steps is bool(people)
    assert who == {HEADING_OF[actor] for actor in people}
    if api.dndpa:
        assert planner is not None and api.dndpa.strftime("%B %-d, %Y") in planner


def reason_actor(code: str) -> str:
    from workflows.pharmacy_reasons import PharmacyCode, reason

    return str(reason(PharmacyCode(code)).actor)
