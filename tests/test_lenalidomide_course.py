"""The lenalidomide-class program end to end: registered through the prescriber's page (its six
categories offered from the definition), a first fill, weekly tests, a second fill, and the
second fill refused when the weekly tests were not taken.

Day 0 is DAY0 (Oct 1, 2026). Screening on day 8, the confirmation and the prescription on
day 20 (12 days after: inside 10 to 14), a 28-day first fill on day 20, the next fill from
day 41 (7 days of therapy left).
"""


import freezegun
import pytest
from sqlalchemy import select

from compliance.models import Course, PatientProfile, User
from compliance.services import courses, methods, monthly, question_banks, rma, rma_requests
from compliance.services.errors import Refused
from tests import conftest
from tests.conftest import PASSWORD, csrf_token
from tests.course_helpers import DOB, at, certified_pharmacy, local
from tests.form_helpers import assert_error_next_to, fast_sign_in

CATEGORY = "adult_can_get_pregnant"
METHODS = ("intrauterine_device", "male_latex_condom")


@pytest.fixture
def registered(app, db, factory, client):
    """A lenalidomide patient registered on the prescriber's page on day 0."""
    prescriber = factory.prescriber()
    with app.app_context():
        bank = question_banks.create_version(
            db, program="lenalidomide", category=CATEGORY, now=at(0),
            questions=question_banks.DEFAULT_IPLEDGE_QUESTIONS)
        question_banks.activate(db, bank=bank, now=at(0))
    with freezegun.freeze_time(at(0)):
        fast_sign_in(client, db, db.get(User, prescriber.user_id))
        page = client.get("/prescriber/patients/new").text
        for code in ("adult_can_get_pregnant", "child_can_get_pregnant",
                     "adult_female_cannot_get_pregnant", "child_female_cannot_get_pregnant",
                     "adult_male", "child_male"):
            assert f'value="{code}"' in page
        response = client.post("/prescriber/patients/new", data={
            "csrf_token": csrf_token(client, "/prescriber/patients/new"),
            "given_name": "Robin", "family_name": "Lane", "date_of_birth": DOB,
            "email": "robin@example.com", "phone": "", "weight_kg": "64",
            "program": "lenalidomide",
            "category": CATEGORY, "category_reason": "Reproductive potential."})
    assert response.status_code in (200, 302), response.text
    patient = db.scalar(select(PatientProfile).where(PatientProfile.family_name == "Lane"))
    user = db.get(User, patient.user_id)
    user.password_hash = conftest.PASSWORD_HASH
    db.commit()
    course = db.scalar(select(Course).where(Course.patient_id == patient.id))
    with app.test_request_context():
        yield {"prescriber": db.get(User, prescriber.user_id), "patient": patient,
               "user": user, "course": course, "bank": bank, "npi": prescriber.npi,
               "pharmacy": certified_pharmacy(factory)}


def test_an_ipledge_category_is_refused_for_a_lenalidomide_patient(app, db, factory, client):
    """Is a category from another program refused next to the field, the values kept?"""
    prescriber = factory.prescriber()
    with freezegun.freeze_time(at(0)):
        fast_sign_in(client, db, db.get(User, prescriber.user_id))
        response = client.post("/prescriber/patients/new", data={
            "csrf_token": csrf_token(client, "/prescriber/patients/new"),
            "given_name": "Robin", "family_name": "Lane", "date_of_birth": DOB,
            "email": "robin@example.com", "phone": "", "weight_kg": "64",
            "program": "lenalidomide",
            "category": "can_get_pregnant", "category_reason": "Reproductive potential."})
    assert response.status_code == 422
    assert_error_next_to(response.text, "category", "this program")


def qualify(db, cast) -> None:
    """Consent, counseling, two methods for 40 days, screening on day 8, confirmation day 20."""
    course, prescriber = cast["course"], cast["prescriber"]
    monthly.sign_enrollment(db, course=course, patient_user=cast["user"], password=PASSWORD,
                            now=at(0))
    courses.record_counseling(db, course=course, counseled_on=local(0), today=local(0),
                              now=at(0))
    for method in METHODS:
        methods.add_method(db, course=course, data={"method": method, "started_on": local(-40)},
                           today=local(0), entered_by=prescriber.id, now=at(0))
    test(db, cast, 8, "screening")
    test(db, cast, 20, "confirmation")


def test(db, cast, day, kind="monthly"):
    courses.record_test(db, course=cast["course"], entered_by=cast["prescriber"].id,
                        now=at(day), today=local(day),
                        data={"kind": kind, "specimen_on": local(day), "result": "negative",
                              "setting": "laboratory"})


test.__test__ = False  # a helper, not a pytest test


def month(db, cast, day) -> None:
    """The prescriber confirms; the patient passes the quiz and signs (no methods to confirm:
    the definition's `patient_confirms_methods` is false)."""
    monthly.confirm_month(db, course=cast["course"], prescriber_user=cast["prescriber"],
                          password=PASSWORD, now=at(day))
    answers = {q["id"]: q["answer"] for q in cast["bank"].questions}
    monthly.answer_quiz(db, course=cast["course"], answers=answers, now=at(day))
    monthly.attest(db, course=cast["course"], patient_user=cast["user"], methods=[],
                   password=PASSWORD, now=at(day))


def fill(db, cast, day):
    ask = {"patient_id": cast["patient"].program_patient_id, "patient_date_of_birth": DOB,
           "prescriber_npi": cast["npi"], "ndc": "59572-0410-28", "strength_mg": 10,
           "quantity": 28, "days_supply": 28}
    decided = rma_requests.request_rma(db, pharmacy=cast["pharmacy"], data=ask, now=at(day))
    if decided.decision != "authorized":
        return decided
    rma.record_dispense(db, pharmacy=cast["pharmacy"], now=at(day), data={
        "rma_number": decided.rma.rma_number, "quantity": 28, "days_supply": 28,
        "dispensed_on": local(day).isoformat(), "medication_guide_given": True})
    return decided


def test_a_first_and_a_second_fill_with_weekly_tests(registered, db):
    """Does the course run as the definition says: a 28-day fill, weekly tests, the next fill
    when 7 days remain?"""
    cast = registered
    assert (cast["patient"].program, cast["patient"].category) == ("lenalidomide", CATEGORY)
    qualify(db, cast)
    month(db, cast, 20)
    first = fill(db, cast, 20)
    assert first.decision == "authorized", first.reasons
    assert first.rule_version == "2023"
    for day in (27, 34, 41):
        test(db, cast, day)
    month(db, cast, 41)
    second = fill(db, cast, 41)
    assert second.decision == "authorized", second.reasons


def test_a_second_fill_without_the_weekly_tests_is_refused(registered, db):
    """The finding of the dated scenario: only the test before the second fill was taken."""
    cast = registered
    qualify(db, cast)
    month(db, cast, 20)
    assert fill(db, cast, 20).decision == "authorized"
    test(db, cast, 41)
    with pytest.raises(Refused, match="testing schedule"):
        monthly.confirm_month(db, course=cast["course"], prescriber_user=cast["prescriber"],
                              password=PASSWORD, now=at(41))
    db.rollback()
    denied = fill(db, cast, 41)
    assert denied.decision == "denied"
    assert "PRESCRIBER_ACTION_NEEDED" in [r["code"] for r in denied.reasons]
