"""Are the demo patients at the stages the README describes, made through the services,
loaded idempotently, and can each demo login reach its home?"""

import html
import re

import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel

from compliance import clock
from compliance.demo import DEMO_LOGINS, DEMO_PASSWORD, STAGED_PATIENTS, load_demo
from compliance.models import Course, PatientProfile, QuestionBank, User
from tests.conftest import sign_in

HOMES = {"admin": "/admin/", "prescriber": "/prescriber/", "pharmacist": "/pharmacist/",
         "patient": "/patient/"}
# What each staged patient reads first on their home page.
HOME_SAYS = {
    "stage.screening@example.com": "Take the screening pregnancy test.",
    "stage.confirmation@example.com": "Take the confirmation test from December 2, 2026.",
    "stage.ready@example.com": "You answered this month's questions on Nov 23",
    "stage.answers@example.com": "Answer this month's questions by Nov 28",
    "stage.expired@example.com": "The time to fill after your last pregnancy test has passed",
    "stage.suspended@example.com": "a pregnancy test was positive",
    "stage.cannot@example.com": "Your pharmacy must fill by Nov 29, 11:59 pm Eastern",
    "stage.midcourse@example.com": "Answer this month's questions by Nov 28",
    "stage.post@example.com": "Take your last pregnancy test on or after December 13",
}


@pytest.fixture
def loaded(app, db, frozen):
    with app.app_context():
        created = load_demo(db, today=clock.today(), now=clock.now())
    return created


def counts(db) -> dict[str, int]:
    db.rollback()
    return {t.name: db.scalar(select(func.count()).select_from(t))
            for t in SQLModel.metadata.sorted_tables}


def test_loading_twice_changes_nothing(app, db, loaded):
    """Does a second load create no row at all?"""
    assert loaded > 0
    before = counts(db)
    with app.app_context():
        assert load_demo(db, today=clock.today(), now=clock.now()) == 0
    assert counts(db) == before
    assert db.scalar(select(QuestionBank.version).where(QuestionBank.status == "active")) == 1


@pytest.mark.parametrize("spec", STAGED_PATIENTS, ids=lambda s: s.email.split("@")[0])
def test_each_staged_patient_is_at_their_stage(app, db, loaded, spec):
    """Is the course in the state and next action the README claims, and does the patient's
    home say so?"""
    course = db.scalar(select(Course).join(PatientProfile, PatientProfile.id == Course.patient_id)
                       .join(User, User.id == PatientProfile.user_id)
                       .where(User.email == spec.email))
    assert (course.state, course.next_action) == (spec.expected_state, spec.expected_action)
    assert course.enrollment_signature_id is not None
    browser = app.test_client()
    sign_in(browser, spec.email, DEMO_PASSWORD)
    home = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ",
                                                     browser.get("/patient/").text)))
    assert HOME_SAYS[spec.email] in home


def test_every_demo_login_reaches_its_home(app, loaded):
    """Can each listed demo account sign in with the demo password and open its home?"""
    for role, email in DEMO_LOGINS:
        browser = app.test_client()
        assert sign_in(browser, email, DEMO_PASSWORD).status_code == 302, email
        assert browser.get(HOMES[role]).status_code == 200, email
