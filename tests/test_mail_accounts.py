"""Do accounts recover themselves by email: a patient's activation that asks the date of
birth, a forgotten password reset from the sign-in page, a password changed while signed
in, an administrator's reset link, and warnings before a lockout?"""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from compliance.models import AuditEvent, Invitation, OutboxMessage, User, UserSession
from compliance.services import invitations
from tests.conftest import MONDAY_NOON, PASSWORD, post_form, sign_in
from tests.form_helpers import NEW_PASSWORD, emailed_path, fast_sign_in

pytestmark = pytest.mark.db

CHOICE = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}


@pytest.fixture
def invited_patient(db, factory, frozen):
    """A patient registered by their prescriber, whose activation email waits to be sent."""
    prescriber = factory.prescriber()
    patient = factory.patient(prescriber, password=False)
    account = db.get(User, patient.user_id)
    invitations.issue_invitation(db, user=account, issued_by=prescriber.user_id,
                                 now=MONDAY_NOON, valid_days=7)
    db.commit()
    return patient, account, prescriber


def actions(db, user_id: int) -> list[str]:
    db.rollback()
    return list(db.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "user", AuditEvent.object_id == str(user_id))
        .order_by(AuditEvent.id)))


def test_patient_activation_asks_the_date_of_birth(client, db, invited_patient):
    """Does a patient's link ask the date of birth, refuse a wrong one next to the field
    with the tries left, and activate with the right one?"""
    patient, account, _ = invited_patient
    link = emailed_path(db, account.email)
    page = client.get(link)
    assert "Your date of birth" in page.text
    wrong = post_form(client, link, {**CHOICE, "date_of_birth": "2000-01-02"})
    assert wrong.status_code == 422
    assert "This date of birth does not match our records. 4 tries left." in wrong.text
    assert 'value="2000-01-02"' in wrong.text  # the entry stays for correction
    right = post_form(client, link, {**CHOICE, "date_of_birth": patient.date_of_birth})
    assert right.status_code == 302
    assert sign_in(client, account.email, NEW_PASSWORD).status_code == 302
    assert [a for a in actions(db, account.id) if a.startswith("invitation.")] == [
        "invitation.issued", "invitation.wrong_birth_date", "invitation.accepted"]


def test_five_wrong_dates_of_birth_end_the_link(client, db, invited_patient):
    """After five wrong dates of birth is the link dead, even with the right date next?"""
    _, account, _ = invited_patient
    link = emailed_path(db, account.email)
    for day in range(2, 6):
        assert post_form(client, link, {**CHOICE, "date_of_birth": f"2000-01-0{day}"}
                         ).status_code == 422
    last = post_form(client, link, {**CHOICE, "date_of_birth": "2000-01-09"})
    assert last.status_code == 404
    assert "This link no longer works" in last.text
    assert client.get(link).status_code == 404
    assert db.scalar(select(User.password_hash).where(User.id == account.id)) is None


def test_a_staff_link_does_not_ask_a_date_of_birth(client, db, factory, frozen):
    """Is the date of birth asked of patients only?"""
    staff = factory.user("pharmacist", password=False)
    invitations.issue_invitation(db, user=staff, issued_by=None, now=MONDAY_NOON,
                                 valid_days=7)
    db.commit()
    link = emailed_path(db, staff.email)
    assert "date of birth" not in client.get(link).text
    assert post_form(client, link, CHOICE).status_code == 302


@pytest.mark.parametrize("who", ["active", "unknown", "deactivated"])
def test_forgot_password_answers_the_same_and_emails_only_an_active_account(
        client, db, factory, frozen, who):
    """Is the answer the same whether the address has an account or not, and does only an
    active account get an email?"""
    email = {"active": lambda: factory.user("prescriber").email,
             "unknown": lambda: "nobody@example.com",
             "deactivated": lambda: factory.user("prescriber", active=False).email}[who]()
    answer = post_form(client, "/password/forgot", {"email": email}, follow_redirects=True)
    assert answer.status_code == 200
    assert f"If an account uses {email}, we have emailed it a link" in answer.text
    sent = db.scalar(select(func.count()).select_from(OutboxMessage)
                     .where(OutboxMessage.to_address == email))
    assert sent == (1 if who == "active" else 0)


def test_reset_links_are_throttled_to_three_an_hour(client, db, factory, frozen):
    """Does a fourth request within the hour send nothing, while the answer stays the same?"""
    email = factory.user("prescriber").email
    for _ in range(4):
        post_form(client, "/password/forgot", {"email": email})
    counted = db.scalar(select(func.count()).select_from(OutboxMessage)
                        .where(OutboxMessage.to_address == email))
    assert counted == 3
    frozen.tick(timedelta(hours=1, seconds=1))
    post_form(client, "/password/forgot", {"email": email})
    assert db.scalar(select(func.count()).select_from(OutboxMessage)
                     .where(OutboxMessage.to_address == email)) == 4


@pytest.mark.parametrize("after,usable", [(timedelta(minutes=59, seconds=59), True),
                                          (timedelta(hours=1), False)])
def test_reset_link_works_for_one_hour(client, db, factory, frozen, after, usable):
    """Is the reset link good until, and not at, one hour after it was sent?"""
    email = factory.user("prescriber").email
    post_form(client, "/password/forgot", {"email": email})
    link = emailed_path(db, email, "reset")
    frozen.tick(after)
    assert client.get(link).status_code == (200 if usable else 404)


def test_reset_sets_the_password_ends_other_sessions_and_lifts_a_lockout(app, client, db,
                                                                        factory, frozen):
    """After a reset, is the new password the one that works, the old session gone, the
    link used up, and a locked-out sign-in possible again?"""
    person = factory.user("prescriber")
    elsewhere = app.test_client()
    assert sign_in(elsewhere, person.email).status_code == 302
    for _ in range(5):
        frozen.tick(timedelta(seconds=1))
        sign_in(client, person.email, "not the password")
    assert sign_in(client, person.email).status_code == 429  # locked from this address
    post_form(client, "/password/forgot", {"email": person.email})
    link = emailed_path(db, person.email, "reset")
    done = post_form(client, link, CHOICE, follow_redirects=True)
    assert "Your new password is set" in done.text
    assert client.get(link).status_code == 404
    assert sign_in(client, person.email, NEW_PASSWORD).status_code == 302
    assert elsewhere.get("/prescriber/").status_code == 302  # sent to sign in again
    assert "password.reset" in actions(db, person.id)


def test_the_last_try_before_a_lockout_is_announced(client, factory, frozen):
    """Does the fourth wrong password say that one more locks sign-in, and not earlier?"""
    email = factory.user("pharmacist").email
    answers = [sign_in(client, email, "not the password").text for _ in range(4)]
    assert all("One more wrong password locks" not in a for a in answers[:3])
    assert "One more wrong password locks sign-in from this device for 15 minutes" in answers[3]


def test_change_password_needs_the_current_one_and_ends_the_other_sessions(
        app, client, db, factory, frozen):
    """Is a wrong current password refused by its field (and audited), and does the right one
    change the password, keep this session and end the others?"""
    person = factory.user("pharmacist")
    elsewhere = app.test_client()
    assert sign_in(elsewhere, person.email).status_code == 302
    assert sign_in(client, person.email).status_code == 302
    wrong = post_form(client, "/account/password", {"current": "not it", **CHOICE})
    assert wrong.status_code == 422
    assert "This is not your current password." in wrong.text
    done = post_form(client, "/account/password", {"current": PASSWORD, **CHOICE},
                     follow_redirects=True)
    assert "Your password is changed" in done.text
    assert client.get("/account/password").status_code == 200
    assert elsewhere.get("/account/password").status_code == 302
    assert actions(db, person.id)[-2:] == ["password.change_failed", "password.changed"]
    ended = db.scalars(select(UserSession.ended_reason).where(
        UserSession.user_id == person.id, UserSession.ended_at.is_not(None))).all()
    assert ended == ["password changed"]


def test_admin_sends_a_reset_link_valid_for_a_day(client, db, factory, frozen):
    """Does the administrator's button email a reset link that works for 24 hours?"""
    admin = factory.user("admin")
    person = factory.user("prescriber")
    fast_sign_in(client, db, admin)
    done = post_form(client, f"/admin/users/{person.id}/reset", {}, token_from="/admin/users",
                     follow_redirects=True)
    assert f"A link to choose a new password was emailed to {person.email}" in done.text
    link = db.scalar(select(Invitation).where(Invitation.user_id == person.id))
    assert link.expires_at - MONDAY_NOON == timedelta(hours=24)
    assert emailed_path(db, person.email, "reset").startswith("/password/reset/")


def test_prescriber_sees_when_the_activation_link_went_and_if_it_was_used(
        app, client, db, invited_patient):
    """Does the patient's page say the link waits to be emailed, then when it was emailed,
    and a resend say the earlier link stopped working?"""
    from compliance import worker

    patient, _, prescriber = invited_patient
    fast_sign_in(client, db, db.get(User, prescriber.user_id))
    page = f"/prescriber/patients/{patient.id}"
    assert "waiting to be emailed" in client.get(page).text
    worker.one_pass(app)
    shown = client.get(page).text
    assert "Activation link emailed Nov 23, 2026 at 12:00 pm Eastern time" in shown
    assert "works until Nov 30, 2026" in shown
    again = post_form(client, f"{page}/invitation", {}, token_from=page, follow_redirects=True)
    assert "The earlier link no longer works." in again.text

