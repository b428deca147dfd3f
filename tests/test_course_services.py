"""Can a can-get-pregnant patient go from registration to a ready first fill through the
services, with each refusal saying what is missing?"""

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import freezegun
import pytest

from compliance.models import Course, User
from compliance.programs import program
from compliance.services import courses, monthly, patients, question_banks
from compliance.services.errors import Refused
from compliance.services.facts import load_rows
from tests.conftest import PASSWORD
from workflows.decision import evaluate_authorization
from workflows.facts import CertificationFact, RequestFacts

DAY0 = datetime(2026, 10, 1, 15, 0, tzinfo=UTC)  # 11:00 in New York, under iPLEDGE 2026
METHODS = ("intrauterine_device", "male_latex_condom")


def at(days: int) -> datetime:
    return DAY0 + timedelta(days=days)


def local(days: int) -> date:
    return at(days).date()


@pytest.fixture
def world(app, db, factory):
    """A certified prescriber, an active question bank, and a registered, activated patient."""
    with app.test_request_context():
        prescriber = factory.prescriber()
        bank = question_banks.create_version(
            db, program="ipledge", category="can_get_pregnant", now=at(0),
            questions_json=json.dumps(question_banks.DEFAULT_IPLEDGE_QUESTIONS))
        question_banks.activate(db, bank=bank, now=at(0))
        with freezegun.freeze_time(at(0)):
            patient, _ = patients.register_patient(
                db, prescriber=prescriber, now=at(0), today=local(0), invitation_days=7,
                data={"given_name": "Casey", "family_name": "Morgan",
                      "date_of_birth": "2004-05-17", "email": "casey@example.com",
                      "weight_kg": 60, "category": "can_get_pregnant",
                      "category_reason": "Reproductive potential."})
        patient_user = db.get(User, patient.user_id)
        from tests import conftest

        patient_user.password_hash = conftest.PASSWORD_HASH
        db.commit()
        course = db.query(Course).filter_by(patient_id=patient.id).one()
        yield db.get(User, prescriber.user_id), patient_user, course, bank


def qualify(db, prescriber_user, patient_user, course, confirmation_day: int) -> None:
    """Consent, counseling, two methods for 40 days, screening on day 1, confirmation later."""
    monthly.sign_enrollment(db, course=course, patient_user=patient_user, password=PASSWORD,
                            now=at(0))
    courses.record_counseling(db, course=course, counseled_on=local(0), today=local(0),
                              now=at(0))
    for method in METHODS:
        courses.add_method(db, course=course, data={"method": method,
                                                    "started_on": local(-40)},
                           today=local(0), entered_by=prescriber_user.id, now=at(0))
    for kind, day, setting in (("screening", 1, "office"),
                               ("confirmation", confirmation_day, "laboratory")):
        courses.record_test(db, course=course, entered_by=prescriber_user.id, now=at(day),
                            today=local(day), data={"kind": kind, "specimen_on": local(day),
                                                    "result": "negative", "setting": setting})


def test_first_fill_is_ready_after_every_step(world, db):
    """After consent, counseling, methods, tests 19 days apart, the prescriber's signed
    confirmation, a passed quiz and the patient's attestation, is an RMA authorized with
    the window ending on day 7?"""
    prescriber_user, patient_user, course, bank = world
    qualify(db, prescriber_user, patient_user, course, confirmation_day=20)
    assert course.state == "qualifying"
    monthly.confirm_month(db, course=course, prescriber_user=prescriber_user,
                          password=PASSWORD, now=at(20))
    answers = {q["id"]: q["answer"] for q in bank.questions}
    assert monthly.answer_quiz(db, course=course, answers=answers, now=at(20)).passed
    monthly.attest(db, course=course, patient_user=patient_user, methods=list(METHODS),
                   password=PASSWORD, now=at(20))
    facts = load_rows(db, [course])[0].facts()
    facts = replace(facts, request=RequestFacts(days_supply=30, quantity=60),
                    pharmacy=CertificationFact(activated_on=date(2026, 1, 1),
                                               staff_trained_on=date(2026, 1, 1)))
    decision = evaluate_authorization(facts, program("ipledge"), at(20))
    assert decision.unmet == ()
    assert decision.do_not_dispense_after == local(26)
    assert course.next_action == "READY"


@pytest.mark.parametrize("confirmation_day,refused", [(19, True), (20, False)])
def test_confirmation_eighteen_vs_nineteen_days_after_screening(world, db, confirmation_day,
                                                                refused):
    """Is the month confirmed only when the confirmation specimen is 19 days after the
    screening specimen (day 1 to day 19 is 18 days)?"""
    prescriber_user, patient_user, course, _ = world
    qualify(db, prescriber_user, patient_user, course, confirmation_day)
    if refused:
        with pytest.raises(Refused, match="19"):
            monthly.confirm_month(db, course=course, prescriber_user=prescriber_user,
                                  password=PASSWORD, now=at(confirmation_day))
    else:
        monthly.confirm_month(db, course=course, prescriber_user=prescriber_user,
                              password=PASSWORD, now=at(confirmation_day))


def test_the_confirmation_needs_the_prescribers_password(world, db):
    """Is a monthly confirmation with a wrong password refused, next to the password field?"""
    prescriber_user, patient_user, course, _ = world
    qualify(db, prescriber_user, patient_user, course, confirmation_day=20)
    with pytest.raises(Refused) as refusal:
        monthly.confirm_month(db, course=course, prescriber_user=prescriber_user,
                              password="wrong", now=at(20))
    assert "password" in refusal.value.errors


def test_question_bank_versions_are_never_edited(world, db):
    """Does activating a new version retire the old one, and refuse to re-activate it?"""
    *_, first = world
    second = question_banks.create_version(
        db, program="ipledge", category="can_get_pregnant", now=at(1),
        questions_json=json.dumps(question_banks.DEFAULT_IPLEDGE_QUESTIONS[:2]))
    question_banks.activate(db, bank=second, now=at(1))
    db.refresh(first)
    assert (first.status, second.status, second.version) == ("retired", "active", 2)
    with pytest.raises(Refused):
        question_banks.activate(db, bank=first, now=at(2))
