"""Does each person see only their own records, with 404s that reveal nothing?"""

import re

import pytest
from sqlalchemy import func, select

from compliance.models import Invitation, User
from tests.conftest import sign_in
from tests.security_helpers import home_token, in_layout, snapshot

MISSING_ID = 999_999



def _body_without_reference(response) -> str:
    """The page minus what differs on every response: the request id and CSRF token."""
    text = re.sub(r"reference [0-9a-f]+", "reference …", response.text)
    return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token"', text)


@pytest.fixture
def two_practices(factory):
    """Prescribers A and B, each with a patient who has not yet activated the account."""
    a, b = factory.prescriber(), factory.prescriber()
    return {
        "a": a, "b": b,
        "a_user": factory.db.get(User, a.user_id), "b_user": factory.db.get(User, b.user_id),
        "a_patient": factory.patient(a, password=False),
        "b_patient": factory.patient(b, password=False),
    }


def test_prescriber_sees_own_patient(client, two_practices):
    """Does prescriber A see A's own patient (the control for the 404s below)?"""
    sign_in(client, two_practices["a_user"].email)
    page = client.get(f"/prescriber/patients/{two_practices['a_patient'].id}")
    assert page.status_code == 200
    assert two_practices["a_patient"].program_patient_id in page.text


@pytest.mark.parametrize("whose", ["other prescriber's", "nonexistent"])
def test_patient_page_of_someone_elses_patient_is_not_found(client, two_practices, whose):
    """Does prescriber B get a plain 404, in the layout, for A's patient or a missing id?"""
    patient_id = two_practices["a_patient"].id if whose != "nonexistent" else MISSING_ID
    sign_in(client, two_practices["b_user"].email)
    page = client.get(f"/prescriber/patients/{patient_id}")
    assert page.status_code == 404
    assert in_layout(page.text)
    assert two_practices["a_patient"].program_patient_id not in page.text
    assert two_practices["a_patient"].family_name not in page.text


def test_other_prescribers_patient_looks_exactly_like_a_missing_one(client, two_practices):
    """Can B tell A's patient id from an id that does not exist? (It must not.)"""
    sign_in(client, two_practices["b_user"].email)
    client.get("/prescriber/")  # shows (and uses up) the "Signed in" message
    theirs = client.get(f"/prescriber/patients/{two_practices['a_patient'].id}")
    missing = client.get(f"/prescriber/patients/{MISSING_ID}")
    assert (theirs.status_code, _body_without_reference(theirs)) == \
        (missing.status_code, _body_without_reference(missing))


@pytest.mark.parametrize("whose", ["other prescriber's", "nonexistent"])
def test_invitation_for_someone_elses_patient_is_not_found(client, engine, two_practices,
                                                           whose):
    """Can B issue a new invitation link for A's patient? (404, and no link is made.)"""
    patient_id = two_practices["a_patient"].id if whose != "nonexistent" else MISSING_ID
    sign_in(client, two_practices["b_user"].email)
    token = home_token(client, "prescriber")
    before = snapshot(engine)
    response = client.post(f"/prescriber/patients/{patient_id}/invitation",
                           data={"csrf_token": token})
    assert response.status_code == 404
    assert "/invitations/" not in response.text
    assert snapshot(engine) == before


def test_own_patient_invitation_is_issued(client, db, two_practices):
    """Does the same POST work for A's own patient (so the 404 above is about ownership)?"""
    sign_in(client, two_practices["a_user"].email)
    token = home_token(client, "prescriber")
    response = client.post(f"/prescriber/patients/{two_practices['a_patient'].id}/invitation",
                           data={"csrf_token": token})
    assert response.status_code == 302
    assert "/invitations/" not in client.get(response.headers["Location"]).text  # emailed
    issued = db.scalar(select(func.count()).select_from(Invitation)
                       .where(Invitation.user_id == two_practices["a_patient"].user_id))
    assert issued == 1


def test_prescriber_list_shows_only_own_patients(client, two_practices):
    """Does A's patient list leave out B's patients?"""
    sign_in(client, two_practices["a_user"].email)
    page = client.get("/prescriber/")
    assert page.status_code == 200
    assert two_practices["a_patient"].family_name in page.text
    assert two_practices["b_patient"].family_name not in page.text


def test_patient_sees_only_themself(client, factory):
    """Does a patient's page show their own card and nothing of another patient's?"""
    prescriber = factory.prescriber()
    me, other = factory.patient(prescriber), factory.patient(prescriber)
    sign_in(client, factory.db.get(User, me.user_id).email)
    page = client.get("/patient/")
    assert page.status_code == 200
    assert me.program_patient_id in page.text
    assert other.program_patient_id not in page.text
    assert other.family_name not in page.text


def test_pharmacist_sees_only_own_pharmacy(client, factory):
    """Does a pharmacist's page show their pharmacy and staff, not another pharmacy's?"""
    mine, theirs = factory.pharmacy(), factory.pharmacy()
    me = factory.pharmacist(mine, name="Mina Mine")
    factory.pharmacist(theirs, name="Theo Theirs")
    sign_in(client, me.email)
    page = client.get("/pharmacist/")
    assert page.status_code == 200
    assert mine.name in page.text and mine.ncpdp_id in page.text
    assert theirs.name not in page.text and theirs.ncpdp_id not in page.text
    assert "Theo Theirs" not in page.text
    assert client.get(f"/admin/pharmacies/{theirs.id}").status_code == 403
