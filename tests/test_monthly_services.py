"""Does the patient's month hold: consent signed with name, time and meaning; questions that
must all be right, explained when wrong, and flagged to the prescriber after three misses;
an attestation that must match the prescriber's entry and follow their confirmation?

The helpers here (`walk`, `bank`) build real courses through the services; the page tests
reuse them.
"""

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from compliance.models import AuditEvent, Course, QuestionBank, Signature, User
from compliance.programs import method_choices
from compliance.services import courses, methods, monthly, patients, question_banks, signatures
from compliance.services.errors import Refused
from tests.conftest import MONDAY_NOON, PASSWORD

TWO_METHODS = ["intrauterine_device", "male_latex_condom"]
RIGHT = {q["id"]: q["answer"] for q in question_banks.DEFAULT_IPLEDGE_QUESTIONS}


def ago(days: int) -> datetime:
    return MONDAY_NOON - timedelta(days=days)


def bank(db):
    """The default iPLEDGE questions, version 1, in use."""
    version = question_banks.create_version(
        db, program="ipledge", category="can_get_pregnant", now=ago(60),
        questions=question_banks.DEFAULT_IPLEDGE_QUESTIONS)
    question_banks.activate(db, bank=version, now=ago(60))
    return version


def walk(db, prescriber, *, email="casey@example.com", category="can_get_pregnant",
         signed=True, tests=True, confirmed=True):
    """A patient registered 50 days before MONDAY_NOON, walked as far as asked: consent,
    counseling, two methods, screening 22 days ago and confirmation today, the
    prescriber's confirmation today. Returns (patient, user, course)."""
    doctor = db.get(User, prescriber.user_id)
    patient, _ = patients.register_patient(
        db, prescriber=prescriber, now=ago(50), today=ago(50).date(), invitation_days=7,
        data={"given_name": "Casey", "family_name": "Morgan", "date_of_birth": "2004-05-17",
              "email": email, "phone": "", "weight_kg": 60, "category": category,
              "category_reason": "Reproductive potential."})
    user = db.get(User, patient.user_id)
    from tests import conftest

    user.password_hash = conftest.PASSWORD_HASH
    db.commit()
    course = courses.course_of(db, patient)
    if signed:
        monthly.sign_enrollment(db, course=course, patient_user=user, password=PASSWORD,
                                now=ago(50))
    courses.record_counseling(db, course=course, counseled_on=ago(50).date(),
                              today=ago(50).date(), now=ago(50))
    if category == "can_get_pregnant":
        for method in TWO_METHODS:
            methods.add_method(db, course=course, today=ago(50).date(), entered_by=doctor.id,
                               now=ago(50), data={"method": method,
                                                  "started_on": ago(50).date()})
    if tests and category == "can_get_pregnant":
        for kind, when in (("screening", ago(22)), ("confirmation", ago(0))):
            courses.record_test(db, course=course, entered_by=doctor.id, now=when,
                                today=when.date(), data={"kind": kind,
                                                         "specimen_on": when.date(),
                                                         "result": "negative",
                                                         "setting": "laboratory"})
    if confirmed and tests and category == "can_get_pregnant":
        monthly.confirm_month(db, course=course, prescriber_user=doctor, password=PASSWORD,
                              now=ago(0))
    return patient, user, course


@pytest.fixture
def ctx(app, db, factory):
    """A certified prescriber, an active question bank, and a request context."""
    with app.test_request_context():
        bank(db)
        yield factory.prescriber()


def test_enrollment_signature_records_name_time_and_meaning(db, ctx):
    """Does signing the consent store the signer's name, the instant and what it means?"""
    _, user, course = walk(db, ctx, signed=False, tests=False)
    monthly.sign_enrollment(db, course=course, patient_user=user, password=PASSWORD,
                            now=MONDAY_NOON)
    signature = db.get(Signature, course.enrollment_signature_id)
    assert (signature.signer_name, signature.meaning) == ("Casey Morgan", signatures.ENROLLMENT)
    assert signature.signed_at.astimezone(UTC) == MONDAY_NOON
    with pytest.raises(Refused, match="already signed"):
        monthly.sign_enrollment(db, course=course, patient_user=user, password=PASSWORD,
                                now=MONDAY_NOON)


def test_enrollment_with_a_wrong_password_records_nothing(db, ctx):
    """Is a wrong password refused on the password field, with no signature kept?"""
    _, user, course = walk(db, ctx, signed=False, tests=False)
    with pytest.raises(Refused) as refused:
        monthly.sign_enrollment(db, course=course, patient_user=user, password="wrong",
                                now=MONDAY_NOON)
    assert "password" in refused.value.errors
    db.rollback()
    assert db.get(Course, course.id).enrollment_signature_id is None


def drawn(db, course) -> list[str]:
    """The ids of this month's questions, drawn as the patient's page draws them."""
    return [q["id"] for q in monthly.month_questions(db, course=course, now=MONDAY_NOON)]


@pytest.mark.parametrize(("wrong_count", "passed"), [(0, True), (1, False), (2, False)])
def test_all_answers_must_be_right(db, ctx, wrong_count, passed):
    """Does one wrong answer fail the try, naming it with its explanation?"""
    _, _, course = walk(db, ctx)
    wrong_ids = drawn(db, course)[:wrong_count]
    answers = {**RIGHT, **{qid: "__wrong__" for qid in wrong_ids}}
    outcome = monthly.answer_quiz(db, course=course, answers=answers, now=MONDAY_NOON)
    assert outcome.passed is passed
    assert [q["id"] for q in outcome.wrong] == wrong_ids
    assert all(q["explanation"] for q in outcome.wrong)


def test_a_missing_answer_counts_as_wrong(db, ctx):
    """Is an unanswered question a wrong one?"""
    _, _, course = walk(db, ctx)
    skipped = drawn(db, course)[-1]
    answers = {k: v for k, v in RIGHT.items() if k != skipped}
    outcome = monthly.answer_quiz(db, course=course, answers=answers, now=MONDAY_NOON)
    assert [q["id"] for q in outcome.wrong] == [skipped]


def test_a_wrong_answer_to_a_question_not_asked_this_month_does_not_count(db, ctx):
    """Are only the month's drawn questions checked, not the rest of the bank?"""
    _, _, course = walk(db, ctx)
    asked = set(drawn(db, course))
    answers = {**RIGHT, **{qid: "__wrong__" for qid in set(RIGHT) - asked}}
    assert monthly.answer_quiz(db, course=course, answers=answers, now=MONDAY_NOON).passed


def test_the_month_asks_the_programs_number_and_keeps_them_for_every_try(db, ctx):
    """Are five questions drawn, the same ones on every try of the month, and audited?"""
    _, _, course = walk(db, ctx)
    first = drawn(db, course)
    monthly.answer_quiz(db, course=course, answers={}, now=MONDAY_NOON)
    assert len(first) == 5 and drawn(db, course) == first
    [event] = [e for e in audit_events(db) if e.action == "quiz.drawn"]
    assert event.summary["questions"] == first


@pytest.mark.parametrize(("failures", "told"), [(1, False), (2, False), (3, True)])
def test_the_third_failure_tells_the_prescriber(db, ctx, failures, told):
    """Does the course's worklist show QUIZ_FAILED from the third failed try, not before?"""
    _, _, course = walk(db, ctx)
    for _ in range(failures):
        outcome = monthly.answer_quiz(db, course=course, answers={}, now=MONDAY_NOON)
    assert outcome.tries == failures
    assert outcome.prescriber_told is told
    assert (db.get(Course, course.id).next_action == "QUIZ_FAILED") is told


def test_after_three_failures_the_patient_must_talk_to_the_prescriber(db, ctx):
    """Is a fourth try refused until the prescriber records re-education, then allowed?"""
    _, _, course = walk(db, ctx)
    with pytest.raises(Refused, match="nothing to record"):
        monthly.record_reeducation(db, course=course, note="", now=MONDAY_NOON)
    for _ in range(3):
        monthly.answer_quiz(db, course=course, answers={}, now=MONDAY_NOON)
    with pytest.raises(Refused, match="talk to your prescriber"):
        monthly.answer_quiz(db, course=course, answers=RIGHT, now=MONDAY_NOON)
    monthly.record_reeducation(db, course=course, note=" Went over the two methods. ",
                               now=MONDAY_NOON)
    [event] = [e for e in audit_events(db) if e.action == "cycle.reeducated"]
    assert event.summary == {"failed_tries": 3, "note": "Went over the two methods."}
    assert db.get(Course, course.id).next_action != "QUIZ_FAILED"
    assert monthly.answer_quiz(db, course=course, answers=RIGHT, now=MONDAY_NOON).passed


def test_passing_after_failures_clears_the_prescribers_flag(db, ctx):
    """Once the answers are right, is the prescriber no longer asked to step in?"""
    _, _, course = walk(db, ctx)
    for _ in range(2):
        monthly.answer_quiz(db, course=course, answers={}, now=MONDAY_NOON)
    monthly.answer_quiz(db, course=course, answers=RIGHT, now=MONDAY_NOON)
    assert db.get(Course, course.id).next_action != "QUIZ_FAILED"


def audit_events(db):
    return db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()


def test_questions_before_the_prescribers_confirmation_are_refused(db, ctx):
    """Can the patient answer before the prescriber confirmed the month? No, and it says so."""
    _, user, course = walk(db, ctx, confirmed=False)
    with pytest.raises(Refused, match="prescriber has not confirmed"):
        monthly.answer_quiz(db, course=course, answers=RIGHT, now=MONDAY_NOON)
    with pytest.raises(Refused, match="prescriber has not confirmed"):
        monthly.attest(db, course=course, patient_user=user, methods=TWO_METHODS,
                       password=PASSWORD, now=MONDAY_NOON)


@pytest.mark.parametrize(("chosen", "says"), [
    (["intrauterine_device"], "You left out a method your prescriber entered."),
    (["male_latex_condom"], "You left out a method your prescriber entered."),
    ([], "You left out methods your prescriber entered."),
    ([*TWO_METHODS, "implant"], "You chose Implant, which does not match"),
    (["implant", "male_latex_condom"], "You chose Implant, which does not match"),
])
def test_an_attestation_that_differs_says_what_differs(db, ctx, chosen, says):
    """Is a mismatch refused, naming the patient's own wrong answers but never the method
    the prescriber entered?"""
    _, user, course = walk(db, ctx)
    monthly.answer_quiz(db, course=course, answers=RIGHT, now=MONDAY_NOON)
    with pytest.raises(Refused) as refused:
        monthly.attest(db, course=course, patient_user=user, methods=chosen,
                       password=PASSWORD, now=MONDAY_NOON)
    message = refused.value.errors["methods"]
    assert says in message
    labels = method_choices("ipledge")
    assert not [labels[m] for m in set(TWO_METHODS) - set(chosen)
                if labels[m].lower() in message.lower()]


def test_attestation_needs_the_questions_first_then_signs(db, ctx):
    """Is attesting refused before the quiz, then signed with the patient's meaning?"""
    _, user, course = walk(db, ctx)
    with pytest.raises(Refused, match="questions first"):
        monthly.attest(db, course=course, patient_user=user, methods=TWO_METHODS,
                       password=PASSWORD, now=MONDAY_NOON)
    monthly.answer_quiz(db, course=course, answers=RIGHT, now=MONDAY_NOON)
    monthly.attest(db, course=course, patient_user=user, methods=TWO_METHODS,
                   password=PASSWORD, now=MONDAY_NOON)
    [signed] = monthly.attestations(db, course)
    assert signed.signature.meaning == signatures.PATIENT_MONTHLY
    assert signed.cycle.patient_confirmed_methods == sorted(TWO_METHODS)
    assert db.get(Course, course.id).next_action == "READY"


@pytest.mark.parametrize("pool", [15, 16, 40])
def test_consecutive_months_never_share_a_question(pool):
    """Over two years of months, does each month's set avoid every question of the month
    before, for a bank at the smallest allowed size and larger?"""
    bank_row = QuestionBank(questions=[{"id": f"q{i}"} for i in range(pool)])
    previous: list[str] = []
    for month in range(24):
        ids = question_banks.draw(bank_row, 5, previous, random.Random(month))  # noqa: S311 (seeded)
        assert len(set(ids)) == 5 and not set(ids) & set(previous)
        previous = ids


def test_a_small_older_bank_repeats_as_few_questions_as_it_must():
    """A bank of six asked five after five of them: is only the sixth new, the rest kept?"""
    bank_row = QuestionBank(questions=[{"id": f"q{i}"} for i in range(6)])
    ids = question_banks.draw(bank_row, 5, ["q0", "q1", "q2", "q3", "q4"], random.Random(1))  # noqa: S311
    assert "q5" in ids and len(set(ids)) == 5
