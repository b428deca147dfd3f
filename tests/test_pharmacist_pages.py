"""What does a pharmacist see and do at the counter: find a patient, ask for an RMA, record
the fill, reverse, the open RMAs, and the pharmacy's API keys?"""

import re

import freezegun
import pytest

from compliance.identifiers import PATIENT_ID_ALPHABET
from compliance.models import ApiKey, AuditEvent, Dispense, Rma, RmaRequest
from compliance.services import api_keys
from tests.conftest import csrf_token
from tests.course_helpers import DOB, at, local
from tests.form_helpers import assert_error_next_to, field_value, form_level_errors
from tests.pharmacy_helpers import issue, open_counter, patient_ready, signed_in

FIND, DISPENSE, KEYS = "/pharmacist/patients/find", "/pharmacist/dispenses", \
    "/pharmacist/api-keys"
FILL_BY = "Fill by Oct 27, 11:59 pm Eastern"  # day 26 = Oct 27, 23:59 EDT


@pytest.fixture
def day20():
    """Day 20 of the course (Oct 21, 11:00 Eastern): the first window is open."""
    with freezegun.freeze_time(at(20)) as clock:
        yield clock


@pytest.fixture
def counter(app, db, factory, day20):
    return open_counter(app, db, factory)


@pytest.fixture
def lead(client, db, counter):
    """The responsible pharmacist, signed in on day 20."""
    return signed_in(client, db, counter.lead)


def post(client, url: str, data: dict, token_from: str = FIND, **kwargs):
    return client.post(url, data={"csrf_token": csrf_token(client, token_from), **data},
                       **kwargs)


def audits(db, action: str) -> int:
    db.expire_all()
    return db.query(AuditEvent).filter_by(action=action).count()


def typo(patient_id: str) -> str:
    """The same ID with its first character replaced by another valid one."""
    first = "2" if patient_id[0] != "2" else "3"
    assert first in PATIENT_ID_ALPHABET
    return first + patient_id[1:]


def ask(counter, **overrides) -> dict:
    return {"patient_id": counter.world.patient.program_patient_id,
            "patient_date_of_birth": DOB, "prescriber_npi": counter.world.npi,
            "ndc": "0555-0101-02", "strength_mg": "40", "quantity": "30",
            "days_supply": "30", **overrides}


def fill(number: str, **overrides) -> dict:
    return {"rma_number": number, "quantity": "30", "days_supply": "30",
            "dispensed_on": local(20).isoformat(), "medication_guide_given": "y", **overrides}


# --- Find a patient ---------------------------------------------------------------------

def test_the_text_a_scanner_types_from_the_card_finds_the_patient(lead, counter):
    """Does the ID as a scanner types it from the card's QR code (then Enter) find them?"""
    patient = counter.world.patient
    page = post(lead, FIND, {"patient_id": f"{patient.program_patient_id}\r\n",
                             "date_of_birth": DOB})
    assert page.status_code == 200
    assert field_value(page.text, "patient_id") == patient.program_patient_id
    assert "Casey Morgan" in page.text


def test_both_identifiers_find_the_patient_and_the_read_is_audited(lead, db, counter):
    """Do ID and date of birth together show the patient and the RMA form, audited?"""
    patient = counter.world.patient
    page = post(lead, FIND, {"patient_id": patient.program_patient_id.replace("-", "").lower(),
                             "date_of_birth": DOB})
    assert page.status_code == 200
    assert "Casey Morgan" in page.text and patient.program_patient_id in page.text
    assert field_value(page.text, "patient_id") == patient.program_patient_id
    assert 'id="ready"' in page.text  # nothing blocks the fill on day 20
    assert audits(db, "patient.viewed_by_pharmacy") == 1


@pytest.mark.parametrize("change", ["wrong birth date", "another valid ID"])
def test_a_mismatch_shows_one_neutral_message_and_nothing_else(lead, db, counter, change):
    """Does a mismatch say only "no patient matches", keeping what was typed?"""
    patient_id = counter.world.patient.program_patient_id
    typed = {"wrong birth date": (patient_id, "2004-05-18"),
             "another valid ID": ("00000-00000", DOB)}[change]
    page = post(lead, FIND, {"patient_id": typed[0], "date_of_birth": typed[1]})
    assert page.status_code == 422
    assert form_level_errors(page.text) == "No patient matches this ID and date of birth."
    assert "Casey" not in page.text and "Morgan" not in page.text
    assert field_value(page.text, "patient_id") == typed[0]
    assert audits(db, "patient.viewed_by_pharmacy") == 0


def test_a_typo_in_the_id_is_caught_by_its_check_character(lead, counter):
    """Is one mistyped character named as such, next to the ID field?"""
    typed = typo(counter.world.patient.program_patient_id)
    page = post(lead, FIND, {"patient_id": typed, "date_of_birth": DOB})
    assert page.status_code == 422
    assert_error_next_to(page.text, "patient_id", "check character")


# --- Ask for an RMA ---------------------------------------------------------------------

def test_an_authorized_request_shows_the_grouped_number_and_when_to_fill_by(lead, db,
                                                                            counter):
    """After PRG, does the answer page show the RMA number in groups and the DNDPA?"""
    sent = post(lead, "/pharmacist/rma-requests", ask(counter))
    assert sent.status_code == 302
    page = lead.get(sent.headers["Location"])
    number = db.query(Rma).one().rma_number
    shown = re.search(r'id="rma-number">([^<]+)<', page.text).group(1)
    assert shown == f"{number[:4]} {number[4:8]} {number[8:]}"
    assert FILL_BY in page.text and "Oct 27" in page.text
    assert "RMA issued." in page.text  # the flash
    assert audits(db, "rma_request.viewed") == 1


@pytest.mark.parametrize("override,code,who", [
    ({"days_supply": "31"}, "SUPPLY_TOO_LONG", "Who must act:"),
    ({"prescriber_npi": "1234567893"}, "PRESCRIBER_MISMATCH", "Your pharmacy"),
])
def test_a_denial_lists_every_reason_with_who_must_act(lead, db, counter, override, code, who):
    """Is a denied request recorded and shown with its reasons and who acts?"""
    page = post(lead, "/pharmacist/rma-requests", ask(counter, **override),
                follow_redirects=True)
    assert "No RMA issued" in page.text
    reasons = re.search(r'<ul class="findings reasons" id="reasons">(.*?)</ul>', page.text,
                        re.S).group(1)
    assert f'data-code="{code}"' in reasons and who in reasons
    assert db.query(RmaRequest).count() == 1 and db.query(Rma).count() == 0
    # what was sent is kept, to be corrected and sent again
    for name, value in override.items():
        assert field_value(page.text, name) == value
    corrected = post(lead, "/pharmacist/rma-requests", ask(counter), follow_redirects=True)
    assert "RMA issued" in corrected.text


@pytest.mark.parametrize("field,value,fragment", [
    ("prescriber_npi", "1234567890", "NPI"),
    ("ndc", "not an ndc", "format"),
    ("quantity", "", "whole number"),
    ("strength_mg", "0", "greater than 0"),
])
def test_a_malformed_request_keeps_the_values_and_names_the_field(lead, db, counter, field,
                                                                  value, fragment):
    """Does a malformed request come back (422) with every value kept and one error?"""
    page = post(lead, "/pharmacist/rma-requests", ask(counter, **{field: value}))
    assert page.status_code == 422
    assert_error_next_to(page.text, field, fragment)
    assert field_value(page.text, "ndc") == ("not an ndc" if field == "ndc" else "0555-0101-02")
    assert "Casey Morgan" in page.text
    assert db.query(RmaRequest).count() == 0


# --- The RMA, the fill and the reversal -------------------------------------------------

def test_recording_the_fill_marks_the_rma_dispensed(app, lead, db, counter):
    """Does a complete fill redirect to the RMA, now dispensed, with a flash?"""
    number = issue(app, db, counter.world, counter.pharmacy).rma_number
    sent = post(lead, DISPENSE, fill(f"{number[:4]} {number[4:8]} {number[8:]}"),
                token_from=f"/pharmacist/rmas/{number}")
    assert sent.status_code == 302
    page = lead.get(sent.headers["Location"])
    assert re.search(r'id="rma-status">dispensed<', page.text)
    assert "Dispense recorded" in page.text
    assert db.query(Dispense).count() == 1


@pytest.mark.parametrize("case,status,field,fragment", [
    ("guide not ticked", 422, "medication_guide_given", "Medication Guide"),
    ("31 days", 422, "days_supply", "At most 30 days"),
    ("check digit", 422, "rma_number", "check its digits"),
    ("future date", 422, "dispensed_on", "future"),
    ("already dispensed", 409, None, "already been dispensed"),
    ("another pharmacy", 404, "rma_number", "No RMA with this number"),
])
def test_a_refused_fill_says_why_and_keeps_the_values(app, lead, db, factory, counter, case,
                                                      status, field, fragment):
    """Is each refused fill answered with its status, its message and the values kept?"""
    number = issue(app, db, counter.world, counter.pharmacy).rma_number
    data = {"guide not ticked": fill(number, medication_guide_given=""),
            "31 days": fill(number, days_supply="31"),
            "check digit": fill(number[:-1] + str((int(number[-1]) + 1) % 10)),
            "future date": fill(number, dispensed_on=local(22).isoformat()),
            "already dispensed": fill(number),
            "another pharmacy": fill(number)}[case]
    if case == "already dispensed":
        assert post(lead, DISPENSE, fill(number), token_from=DISPENSE).status_code == 302
    if case == "another pharmacy":
        world = patient_ready(app, db, factory, email="other@example.com")
        data = fill(issue(app, db, world, counter.other).rma_number)
    page = post(lead, DISPENSE, data, token_from=DISPENSE)
    assert page.status_code == status
    if field:
        assert_error_next_to(page.text, field, fragment)
    else:
        assert fragment in form_level_errors(page.text)
    assert field_value(page.text, "quantity") == "30"


def test_reversal_needs_a_confirmation_and_happens_once(app, lead, db, counter):
    """Is an unticked reversal refused, a ticked one done, and a second one a conflict?"""
    number = issue(app, db, counter.world, counter.pharmacy).rma_number
    url = f"/pharmacist/rmas/{number}"
    unticked = post(lead, f"{url}/reversal", {}, token_from=url)
    assert unticked.status_code == 422
    assert_error_next_to(unticked.text, "confirm", "Tick the box")
    done = post(lead, f"{url}/reversal", {"confirm": "y"}, token_from=url,
                follow_redirects=True)
    assert re.search(r'id="rma-status">reversed<', done.text) and "reversed." in done.text
    again = post(lead, f"{url}/reversal", {"confirm": "y"}, token_from=url)
    assert again.status_code == 409
    assert "only an unused RMA can be reversed" in form_level_errors(again.text)


def test_another_pharmacys_rma_and_decision_are_not_found(app, lead, db, factory, counter):
    """Does another pharmacy's RMA, its reversal and its decision page all answer 404?"""
    world = patient_ready(app, db, factory, email="other@example.com")
    theirs = issue(app, db, world, counter.other)
    record = db.query(RmaRequest).filter_by(authorization_id=theirs.id).one()
    assert lead.get(f"/pharmacist/rmas/{theirs.rma_number}").status_code == 404
    assert lead.get(f"/pharmacist/rma-requests/{record.id}").status_code == 404
    assert post(lead, f"/pharmacist/rmas/{theirs.rma_number}/reversal",
                {"confirm": "y"}).status_code == 404
    db.expire_all()
    assert db.get(Rma, theirs.id).status == "issued"


def test_the_rma_page_is_audited_and_offers_the_fill_with_today(app, lead, db, counter):
    """Does the RMA page prefill the fill form (number, today) and audit the read?"""
    number = issue(app, db, counter.world, counter.pharmacy).rma_number
    page = lead.get(f"/pharmacist/rmas/{number}")
    assert page.status_code == 200 and "Casey Morgan" in page.text
    assert field_value(page.text, "dispensed_on") == local(20).isoformat()
    assert field_value(page.text, "rma_number").replace(" ", "") == number
    assert audits(db, "rma.viewed") == 1
    assert "intrauterine" not in page.text.lower()  # never the contraception methods


# --- Home: open RMAs --------------------------------------------------------------------

def test_open_rmas_list_today_first_and_expire_the_overdue(app, client, db, factory):
    """On day 26, is the RMA due today listed first, and an overdue one expired, not shown?"""
    with freezegun.freeze_time(at(26)):
        counter = open_counter(app, db, factory)
        late = patient_ready(app, db, factory, email="late@example.com", confirmation_day=22)
        gone = patient_ready(app, db, factory, email="gone@example.com")
        for world in (late, counter.world, gone):
            issue(app, db, world, counter.pharmacy, day=22)
        db.query(Rma).filter_by(course_id=gone.course.id).update(
            {"do_not_dispense_after": local(25)})  # past: must not be listed
        db.commit()
        page = signed_in(client, db, counter.colleague).get("/pharmacist/")
    table = page.text[page.text.index('id="open-rmas"'):]
    table, history = table[:table.index("</table>")], table[table.index("</table>"):]
    today_row = table.index('<tr class="due-today">')
    assert today_row < table.index(counter.world.patient.program_patient_id) \
        < table.index(late.patient.program_patient_id)
    assert table.count('class="due-today"') == 1 and FILL_BY[8:] in table
    assert gone.patient.program_patient_id not in table
    db.expire_all()
    assert db.query(Rma).filter_by(course_id=gone.course.id).one().status == "expired"
    recent = history[history.index('id="recent-rmas"'):]
    assert gone.patient.program_patient_id in recent and "expired" in recent
    assert "Pharmacists" in page.text and "Lee Lead" in page.text


def test_open_rmas_are_paginated(app, lead, db, factory, counter, monkeypatch):
    """With one per page, does page 2 show the second RMA and a way back?"""
    from compliance.web.pharmacist import home

    monkeypatch.setattr(home, "OPEN_PER_PAGE", 1)
    other = patient_ready(app, db, factory, email="second@example.com", confirmation_day=21)
    issue(app, db, other, counter.pharmacy, day=21)
    issue(app, db, counter.world, counter.pharmacy)
    first, second = lead.get("/pharmacist/"), lead.get("/pharmacist/?page=2")
    assert counter.world.patient.program_patient_id in first.text  # DNDPA day 26 first
    assert other.patient.program_patient_id in second.text
    assert "Page 2 of 2" in second.text and 'rel="prev"' in second.text


# --- API keys ---------------------------------------------------------------------------

def test_the_responsible_pharmacist_sees_a_new_key_once(lead, db, counter):
    """Is the secret on the result page, with a warning, and never on the list?"""
    page = post(lead, KEYS, {"name": "Dispensing system"}, token_from=KEYS)
    assert page.status_code == 200
    secret = re.search(r'id="api-key-secret"[^>]*value="([^"]+)"', page.text).group(1)
    assert secret.startswith("rems_") and "shown only this once" in page.text
    listing = lead.get(KEYS)
    assert secret not in listing.text and "Dispensing system" in listing.text
    assert db.query(ApiKey).one().created_by_id == counter.lead.id


def test_a_nameless_key_is_refused_next_to_the_field(lead, db):
    page = post(lead, KEYS, {"name": ""}, token_from=KEYS)
    assert page.status_code == 422
    assert_error_next_to(page.text, "name", "required")
    assert db.query(ApiKey).count() == 0


def test_revoking_marks_the_key_revoked(app, lead, db, counter):
    with app.test_request_context():
        key = api_keys.create_key(db, pharmacy=counter.pharmacy, name="Old system",
                                  now=at(20)).row
    page = post(lead, f"{KEYS}/{key.id}/revoke", {}, token_from=KEYS, follow_redirects=True)
    assert "revoked" in page.text and "Old system" in page.text
    db.expire_all()
    assert db.get(ApiKey, key.id).revoked_at is not None


@pytest.mark.parametrize("who,url,status", [
    ("colleague", KEYS, 403),
    ("colleague", f"{KEYS}/{{own}}/revoke", 403),
    ("lead", f"{KEYS}/{{theirs}}/revoke", 404),
])
def test_only_the_responsible_pharmacist_changes_the_pharmacys_keys(
        app, client, db, counter, who, url, status):
    """Is a colleague's POST 403, and another pharmacy's key 404, with nothing changed?"""
    with app.test_request_context():
        own = api_keys.create_key(db, pharmacy=counter.pharmacy, name="Ours", now=at(20)).row
        theirs = api_keys.create_key(db, pharmacy=counter.other, name="Theirs",
                                     now=at(20)).row
    browser = signed_in(client, db, getattr(counter, who))
    answer = post(browser, url.format(own=own.id, theirs=theirs.id), {"name": "Mine"},
                  token_from=KEYS)
    assert answer.status_code == status
    db.expire_all()
    assert db.query(ApiKey).count() == 2
    assert db.query(ApiKey).filter(ApiKey.revoked_at.is_not(None)).count() == 0


def test_a_colleague_sees_the_keys_read_only(app, client, db, counter):
    """Does a colleague see the list but no form to create or revoke?"""
    with app.test_request_context():
        api_keys.create_key(db, pharmacy=counter.pharmacy, name="Ours", now=at(20))
    page = signed_in(client, db, counter.colleague).get(KEYS)
    assert page.status_code == 200 and "Ours" in page.text
    assert "Create the key" not in page.text and "Revoke" not in page.text
    assert "Only the responsible pharmacist, Lee Lead," in page.text
