"""Can a can-get-pregnant patient go from registration to a ready first fill through the
services, with each refusal saying what is missing?"""

from dataclasses import replace
from datetime import date

import pytest

from compliance.models import PatientProfile
from compliance.programs import program
from compliance.services import monthly, question_banks
from compliance.services.errors import Refused
from compliance.services.facts import load_rows
from tests import course_helpers
from tests.conftest import PASSWORD
from tests.course_helpers import METHODS, World, at, build_world, local
from workflows.decision import evaluate_authorization
from workflows.facts import CertificationFact, RequestFacts


@pytest.fixture
def world(app, db, factory):
    """A certified prescriber, an active question bank, and a registered, activated patient."""
    with app.test_request_context():
        built = build_world(db, factory)
        yield built.prescriber_user, built.patient_user, built.course, built.bank


def qualify(db, prescriber_user, patient_user, course, confirmation_day: int) -> None:
    """The shared qualifying steps, for a course given by its parts."""
    world = World(prescriber_user, patient_user, db.get(PatientProfile, course.patient_id),
                  course, None, "")
    course_helpers.qualify(db, world, confirmation_day)


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


@pytest.mark.parametrize(("count", "accepted"), [(14, False), (15, True)])
def test_a_bank_holds_three_times_the_questions_asked(world, db, count, accepted):
    """Is a bank of fewer than 3 x 5 questions refused, saying how many are needed?"""
    questions = question_banks.DEFAULT_IPLEDGE_QUESTIONS[:count]
    if accepted:
        question_banks.create_version(db, program="ipledge", category="can_get_pregnant",
                                      now=at(1), questions=questions)
        return
    with pytest.raises(Refused, match="at least 15 questions") as refused:
        question_banks.create_version(db, program="ipledge", category="can_get_pregnant",
                                      now=at(1), questions=questions)
    assert "there are 14" in refused.value.errors["questions"]


def test_question_bank_versions_are_never_edited(world, db):
    """Does activating a new version retire the old one, and refuse to re-activate it?"""
    *_, first = world
    second = question_banks.create_version(
        db, program="ipledge", category="can_get_pregnant", now=at(1),
        questions=question_banks.DEFAULT_IPLEDGE_QUESTIONS[::-1])
    question_banks.activate(db, bank=second, now=at(1))
    db.refresh(first)
    assert (first.status, second.status, second.version) == ("retired", "active", 2)
    with pytest.raises(Refused):
        question_banks.activate(db, bank=first, now=at(2))


@pytest.mark.parametrize("enrolled_at_utc", [
    "2026-10-01T23:30:00+00:00",  # 19:30 EDT, already Oct 2 in UTC
    "2026-12-01T04:30:00+00:00",  # 23:30 EST on Nov 30, Dec 1 in UTC
])
def test_counseling_on_the_evening_of_enrollment_counts(app, db, factory, enrolled_at_utc):
    """Is counseling on the (Eastern) day of an evening enrollment accepted, whatever the
    UTC date says?"""
    from datetime import datetime

    from compliance.services import courses

    enrolled = datetime.fromisoformat(enrolled_at_utc)
    with app.test_request_context():
        eastern_day = enrolled.astimezone(program("ipledge").zone).date()
        built = build_world(db, factory)
        built.course.enrolled_at = enrolled
        db.commit()
        courses.record_counseling(db, course=built.course, counseled_on=eastern_day,
                                  today=eastern_day, now=enrolled)
    assert built.course.counseled_on == eastern_day
