"""Do activation links work exactly once, for exactly their lifetime, and only while the
account is active?"""

from datetime import timedelta

import pytest
from sqlalchemy import select

from compliance.models import Invitation, User
from compliance.services.invitations import issue_invitation
from tests.conftest import MONDAY_NOON, post_form
from tests.form_helpers import (
    NEW_PASSWORD,
    emailed_path,
    fast_sign_in,
)

CHOICE = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}



@pytest.fixture
def newcomer(factory):
    """An invited pharmacist who has not chosen a password yet (a patient's link asks the
    date of birth too: tests/test_mail_accounts.py)."""
    return factory.user("pharmacist", password=False, name="Nora Newcomer")


def invite(app, db, user, now=MONDAY_NOON) -> str:
    """Issue a link the way the services do, with the configured lifetime."""
    token = issue_invitation(db, user=user, issued_by=None, now=now,
                             valid_days=app.config["INVITATION_VALID_DAYS"])
    db.commit()
    return f"/invitations/{token}"


def password_hash(db, user) -> str | None:
    db.rollback()
    return db.scalar(select(User.password_hash).where(User.id == user.id))


def test_link_works_once_then_says_it_was_used(app, client, db, newcomer, frozen):
    """Does a link set the password once, and then explain it was already used?"""
    link = invite(app, db, newcomer)
    page = client.get(link)
    assert page.status_code == 200
    assert "Nora Newcomer" in page.text
    accepted = post_form(client, link, CHOICE)
    assert accepted.status_code == 302
    assert accepted.headers["Location"].endswith("/login")
    first_hash = password_hash(db, newcomer)
    assert first_hash
    again = client.get(link)
    assert again.status_code == 404
    assert "already been used" in again.text
    token = page.text.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    replay = client.post(link, data={"csrf_token": token, "password": "another passphrase!",
                                     "confirm": "another passphrase!"})
    assert replay.status_code == 404
    assert password_hash(db, newcomer) == first_hash


def test_a_refused_password_does_not_use_up_the_link(app, client, db, newcomer, frozen):
    """After a too-short password is refused, does the same link still work?"""
    link = invite(app, db, newcomer)
    refused = post_form(client, link, {"password": "short", "confirm": "short"})
    assert refused.status_code == 422
    assert password_hash(db, newcomer) is None
    assert post_form(client, link, CHOICE).status_code == 302


@pytest.mark.parametrize("after,usable", [
    (timedelta(0), True),
    (timedelta(days=6, hours=23, minutes=59, seconds=59), True),
    (timedelta(days=7), False),
    (timedelta(days=7, seconds=1), False),
    (timedelta(days=30), False),
])
def test_link_lifetime_boundary(app, client, db, newcomer, frozen, after, usable):
    """Is a link good until just before 7 days have passed, and expired at exactly 7 days?"""
    assert app.config["INVITATION_VALID_DAYS"] == 7
    link = invite(app, db, newcomer)
    frozen.move_to(MONDAY_NOON + after)
    page = client.get(link)
    if usable:
        assert page.status_code == 200
        assert post_form(client, link, CHOICE).status_code == 302
        assert password_hash(db, newcomer)
    else:
        assert page.status_code == 404
        assert "expired" in page.text
        assert "Ask whoever invited you for a new one" in page.text
        assert password_hash(db, newcomer) is None


def test_link_that_expires_while_the_form_is_open_is_refused(app, client, db, newcomer,
                                                             frozen):
    """If the form was opened in time but sent after expiry, is the password not set?"""
    link = invite(app, db, newcomer)
    frozen.move_to(MONDAY_NOON + timedelta(days=6, hours=23, minutes=59))
    page = client.get(link)
    assert page.status_code == 200
    token = page.text.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    frozen.move_to(MONDAY_NOON + timedelta(days=7))
    late = client.post(link, data={"csrf_token": token, **CHOICE})
    assert late.status_code == 404
    assert "expired" in late.text
    assert password_hash(db, newcomer) is None


@pytest.mark.parametrize("token", [
    "no-such-token", "A" * 43, "%3Cscript%3Ealert(1)%3C", "x" * 3000,
    "' OR 1=1 --",
])
def test_unknown_token_gets_a_404_page_with_a_message(client, token):
    """Does an unknown or garbled link get a 404 page that says what to do?"""
    page = client.get(f"/invitations/{token}")
    assert page.status_code == 404
    assert "This link is not valid" in page.text
    assert "<script>alert(1)" not in page.text


def test_deactivated_account_link_does_not_work(app, client, db, newcomer, frozen):
    """Once the account is deactivated, does its unused link stop working?"""
    link = invite(app, db, newcomer)
    newcomer.is_active = False
    db.add(newcomer)
    db.commit()
    page = client.get(link)
    assert page.status_code == 404
    assert "Ask whoever invited you for a new one" in page.text
    token = client.get("/login").text.split('name="csrf_token" type="hidden" value="')[1]
    late = client.post(link, data={"csrf_token": token.split('"')[0], **CHOICE})
    assert late.status_code == 404
    assert password_hash(db, newcomer) is None


def test_reissued_link_replaces_the_previous_one(app, client, db, newcomer, frozen):
    """Does issuing a new link cancel the earlier one while the new one works?"""
    earlier = invite(app, db, newcomer)
    frozen.tick(timedelta(hours=1))
    later = invite(app, db, newcomer)
    old_page = client.get(earlier)
    assert old_page.status_code == 404
    assert "expired" in old_page.text
    assert client.get(later).status_code == 200
    assert post_form(client, later, CHOICE).status_code == 302
    assert len(db.scalars(select(Invitation).where(Invitation.user_id == newcomer.id)).all()) == 2


def test_prescriber_reissues_a_patient_link_and_the_old_one_dies(app, client, db, factory,
                                                                 frozen):
    """Does the prescriber's "new invitation link" button cancel the patient's old link?"""
    prescriber = factory.prescriber()
    patient = factory.patient(prescriber, password=False)
    account = db.get(User, patient.user_id)
    earlier = invite(app, db, account)
    fast_sign_in(client, db, db.get(User, prescriber.user_id))
    page_url = f"/prescriber/patients/{patient.id}"
    response = post_form(client, f"{page_url}/invitation", {}, token_from=page_url,
                         follow_redirects=True)
    assert response.status_code == 200
    assert f"An activation link was emailed to {account.email}" in response.text
    later = emailed_path(db, account.email)
    assert client.get(earlier).status_code == 404
    assert client.get(later).status_code == 200


def test_no_new_link_for_an_account_that_is_already_active(app, client, db, factory, frozen):
    """Is a new link refused once the patient has set a password?"""
    prescriber = factory.prescriber()
    patient = factory.patient(prescriber)  # has a password already
    fast_sign_in(client, db, db.get(User, prescriber.user_id))
    page_url = f"/prescriber/patients/{patient.id}"
    response = post_form(client, f"{page_url}/invitation", {}, token_from=page_url,
                         follow_redirects=True)
    assert response.status_code == 200
    assert "already active" in response.text
    assert db.scalars(select(Invitation).where(Invitation.user_id == patient.user_id)).all() == []
