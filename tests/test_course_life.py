"""Over a course's life (domain.md 3b), through the real services: a stop voids what was
issued, each fill rests on its own month, and a pharmacy is told only what it needs.

Each test names a finding of a dated scenario that the decision at one instant missed.
Timeline (course_helpers): screening day 1, confirmation day 20, first window days 20-26.
"""

import freezegun
import pytest
from sqlalchemy import select

from compliance.models import (
    AuditEvent,
    Cycle,
    PregnancyTest,
    PrescriberProfile,
    Rma,
    RmaRequest,
)
from compliance.services import (
    courses,
    monthly,
    organisations,
    pregnancy_case,
    rma,
    rma_requests,
    worklist,
)
from compliance.services.errors import Conflict, Refused
from tests import conftest
from tests.course_helpers import (
    at,
    certified_pharmacy,
    complete_month,
    local,
    ready_for_first_fill,
    rma_ask,
)
from tests.form_helpers import fast_sign_in

CLINICAL_WORDS = ("positive", "POSITIVE", "pregnan", "condom", "intrauterine", "2026")


@pytest.fixture
def ready(app, db, factory):
    """A patient ready for a first fill on day 20, and a certified pharmacy."""
    with app.test_request_context():
        world = ready_for_first_fill(db, factory)
        yield world, certified_pharmacy(factory)


def ask(db, world, pharmacy, day, **overrides):
    return rma_requests.request_rma(db, pharmacy=pharmacy, data=rma_ask(world, **overrides),
                                    now=at(day))


def dispense(db, pharmacy, number, day, days_supply=30):
    return rma.record_dispense(db, pharmacy=pharmacy, now=at(day), data={
        "rma_number": number, "quantity": days_supply, "days_supply": days_supply,
        "dispensed_on": local(day).isoformat(), "medication_guide_given": True})


def enter_test(db, world, day, result="negative", kind="monthly"):
    enter = courses.report_pregnancy if result == "positive" else courses.record_test
    enter(db, course=world.course, entered_by=world.prescriber_user.id, now=at(day),
          today=local(day), data={"kind": kind, "specimen_on": local(day), "result": result,
                                  "setting": "laboratory"})


def first_fill(db, world, pharmacy, day=20, days_supply=30):
    issued = ask(db, world, pharmacy, day, quantity=days_supply, days_supply=days_supply)
    assert issued.decision == "authorized", issued.reasons
    dispense(db, pharmacy, issued.rma.rma_number, day, days_supply)
    return issued


def rma_row(db, number) -> Rma:
    db.expire_all()
    return db.scalar(select(Rma).where(Rma.rma_number == number))


@pytest.mark.parametrize("stop", ["positive test", "end of treatment"])
def test_a_stop_voids_the_issued_rma_and_its_dispense_is_refused(ready, db, stop):
    """Is an RMA issued before a positive test (or the end of treatment) voided at once, and
    refused at the counter afterwards?"""
    world, pharmacy = ready
    first_fill(db, world, pharmacy)
    enter_test(db, world, 50)
    complete_month(db, world, 50)
    issued = ask(db, world, pharmacy, 50)
    assert issued.decision == "authorized", issued.reasons
    if stop == "positive test":
        enter_test(db, world, 51, result="positive")
    else:
        courses.end_treatment(db, course=world.course, last_dose_on=local(51), today=local(51),
                              now=at(51))
    assert rma_row(db, issued.rma.rma_number).status == "voided"
    with pytest.raises(Conflict, match="voided"):
        dispense(db, pharmacy, issued.rma.rma_number, 52)
    again = rma_requests.recorded_request(db, pharmacy_id=pharmacy.id, request_id=issued.id)
    assert again.rma.status == "voided"


def test_a_suspended_pharmacy_cannot_record_a_dispense(ready, db):
    """Does the dispense check the pharmacy's certification at that moment (the browser and
    the API share this service)?"""
    world, pharmacy = ready
    issued = ask(db, world, pharmacy, 20)
    organisations.certify(db, target=pharmacy, data={
        "status": "suspended", "certified_on": "2026-01-01", "expires_on": "2027-01-01"})
    with pytest.raises(Conflict, match="certification is not in force"):
        dispense(db, pharmacy, issued.rma.rma_number, 20)
    assert rma_row(db, issued.rma.rma_number).status == "issued"


def test_a_lapsed_prescriber_stops_the_dispense(ready, db):
    """Is the prescriber's certification checked again when the fill is recorded?"""
    world, pharmacy = ready
    issued = ask(db, world, pharmacy, 20)
    organisations.certify(db, target=db.get(PrescriberProfile, world.patient.prescriber_id), data={
        "status": "suspended", "certified_on": "2026-01-01", "expires_on": "2027-01-01"})
    with pytest.raises(Conflict, match="prescriber"):
        dispense(db, pharmacy, issued.rma.rma_number, 20)


def test_one_negative_test_backs_one_fill(ready, db):
    """After a short fill on a month's test, is the next month refused the same test?"""
    world, pharmacy = ready
    first_fill(db, world, pharmacy)
    enter_test(db, world, 44)
    complete_month(db, world, 44)
    first_fill(db, world, pharmacy, day=44, days_supply=5)
    with pytest.raises(Refused, match="pregnancy test"):
        monthly.confirm_month(db, course=world.course, prescriber_user=world.prescriber_user,
                              password=conftest.PASSWORD, now=at(46))
    denied = ask(db, world, pharmacy, 46)
    assert denied.decision == "denied"
    assert "PRESCRIBER_ACTION_NEEDED" in [r["code"] for r in denied.reasons]


def test_a_missed_window_starts_a_new_month(ready, db):
    """After the first window closes unused, does a new test open a new month that the
    prescriber confirms and the patient answers again, reusing nothing?"""
    world, pharmacy = ready
    old = db.scalar(select(Cycle).where(Cycle.course_id == world.course.id))
    enter_test(db, world, 30, kind="confirmation")
    db.expire_all()
    assert db.get(Cycle, old.id).state == "expired"
    monthly.confirm_month(db, course=world.course, prescriber_user=world.prescriber_user,
                          password=conftest.PASSWORD, now=at(30))
    waiting = ask(db, world, pharmacy, 30)
    assert [r["code"] for r in waiting.reasons] == ["PATIENT_ACTION_NEEDED"]
    answers = {q["id"]: q["answer"] for q in world.bank.questions}
    monthly.answer_quiz(db, course=world.course, answers=answers, now=at(30))
    monthly.attest(db, course=world.course, patient_user=world.patient_user,
                   methods=["intrauterine_device", "male_latex_condom"],
                   password=conftest.PASSWORD, now=at(30))
    granted = ask(db, world, pharmacy, 30)
    assert granted.decision == "authorized", granted.reasons
    assert granted.rma.do_not_dispense_after == local(36)


def test_a_new_test_inside_the_window_needs_a_new_confirmation(ready, db):
    """A test taken after the confirmation moves the window: does the old confirmation stop
    counting, and may the prescriber confirm again?"""
    world, pharmacy = ready
    enter_test(db, world, 22, kind="confirmation")
    denied = ask(db, world, pharmacy, 22)
    assert [r["code"] for r in denied.reasons] == ["PRESCRIBER_ACTION_NEEDED",
                                                   "PATIENT_ACTION_NEEDED"]
    complete_month(db, world, 22)
    assert ask(db, world, pharmacy, 22).rma.do_not_dispense_after == local(28)


def test_a_stopped_course_leads_with_the_stop_alone(ready, db):
    """After a positive test, is the denial the stop alone, in the pharmacy's words?"""
    world, pharmacy = ready
    enter_test(db, world, 21, result="positive", kind="confirmation")
    denied = ask(db, world, pharmacy, 21)
    assert [r["code"] for r in denied.reasons] == ["TREATMENT_STOPPED"]
    assert denied.reasons[0]["actor"] == "prescriber"


def test_a_pharmacy_is_never_told_clinical_detail(ready, db):
    """Do the reasons a pharmacy is given (and stores) avoid results, dates and methods?"""
    world, pharmacy = ready
    enter_test(db, world, 21, result="positive", kind="confirmation")
    for day in (21, 22):
        for reason in ask(db, world, pharmacy, day).reasons:
            assert not any(word in reason["message"] + reason["code"]
                           for word in CLINICAL_WORDS), reason
    for stored in db.scalars(select(RmaRequest)):
        assert "POSITIVE" not in str(stored.reasons)


def test_an_rma_held_by_another_pharmacy_says_so(ready, db, factory):
    """Is a second pharmacy told the month is held elsewhere, with that pharmacy to act?"""
    world, pharmacy = ready
    ask(db, world, pharmacy, 20)
    other = certified_pharmacy(factory)
    denied = ask(db, world, other, 20)
    assert [r["code"] for r in denied.reasons] == ["RMA_OPEN_ELSEWHERE"]
    mine = ask(db, world, pharmacy, 20)
    assert [r["code"] for r in mine.reasons] == ["RMA_ALREADY_OPEN"]


def test_a_positive_result_is_not_entered_through_the_ordinary_test_form(ready, db):
    """A slip of the result select must not suspend a course: is a positive result refused
    there and kept for "Report a pregnancy"?"""
    world, _pharmacy = ready
    with pytest.raises(Refused, match="Report a pregnancy"):
        courses.record_test(
            db, course=world.course, entered_by=world.prescriber_user.id, now=at(21),
            today=local(21), data={"kind": "confirmation", "specimen_on": local(21),
                                   "result": "positive", "setting": "laboratory"})
    db.expire_all()
    assert world.course.state == "qualifying"


def test_a_test_entered_in_error_is_kept_marked_and_no_longer_counts(ready, db):
    """Is a wrong test marked with a reason (not deleted), audited, the course decided again
    without it, and an RMA issued on it voided?"""
    world, pharmacy = ready
    issued = ask(db, world, pharmacy, 20)
    confirmation = db.scalar(select(PregnancyTest).where(
        PregnancyTest.course_id == world.course.id, PregnancyTest.kind == "confirmation"))
    courses.mark_in_error(db, course=world.course, kind="test", entry_id=confirmation.id,
                          reason="Another patient's result.", now=at(21))
    db.expire_all()
    kept = db.get(PregnancyTest, confirmation.id)
    assert (kept.in_error_reason, kept.in_error_at is not None) == (
        "Another patient's result.", True)
    assert rma_row(db, issued.rma.rma_number).status == "voided"
    denied = ask(db, world, pharmacy, 21)
    assert "PRESCRIBER_ACTION_NEEDED" in [r["code"] for r in denied.reasons]
    event = db.scalar(select(AuditEvent).where(
        AuditEvent.action == "pregnancy_test.marked_in_error"))
    assert event is not None and "Another patient" in str(event.summary)


@pytest.mark.parametrize(("reason", "kind", "message"), [
    ("", "test", "Say what was wrong"),
    ("Wrong.", "nothing", "No such entry"),
])
def test_marking_in_error_needs_a_reason_and_a_real_entry(ready, db, reason, kind, message):
    world, _pharmacy = ready
    with pytest.raises(Refused, match=message):
        courses.mark_in_error(db, course=world.course, kind=kind, entry_id=1, reason=reason,
                              now=at(21))


def test_a_positive_result_is_never_marked_in_error(ready, db):
    world, _pharmacy = ready
    positive = courses.report_pregnancy(
        db, course=world.course, entered_by=world.prescriber_user.id, now=at(21),
        today=local(21), data={"kind": "confirmation", "specimen_on": local(21),
                               "setting": "laboratory"})
    world.course.state = "qualifying"  # as if still open: the rule itself must refuse
    with pytest.raises(Refused, match="never marked in error"):
        courses.mark_in_error(db, course=world.course, kind="test", entry_id=positive.id,
                              reason="Typed by mistake.", now=at(21))


def test_a_registry_report_clears_the_worklists_report_it(ready, db):
    """After the positive test, does recording the report (date, reference) change the
    worklist's action, and refuse a report dated in the future next to its field?"""
    world, _pharmacy = ready
    enter_test(db, world, 21, result="positive", kind="confirmation")
    assert world.course.next_action == "SUSPENDED"
    with pytest.raises(Refused) as refused:
        pregnancy_case.record_registry_report(db, course=world.course, reported_on=local(23),
                                              reference="PR-2026-118", today=local(22),
                                              now=at(22))
    assert "reported_on" in refused.value.errors
    pregnancy_case.record_registry_report(db, course=world.course, reported_on=local(22),
                                          reference="PR-2026-118", today=local(22), now=at(22))
    db.expire_all()
    assert (world.course.next_action, world.course.registry_reference) == (
        "SUSPENDED_REPORTED", "PR-2026-118")


def test_a_suspended_course_resumes_on_a_later_negative_test_and_a_signature(ready, db):
    """Is a resume refused without a negative test after the positive one, then accepted
    with the prescriber's signed statement, and does the course need a new month?"""
    world, pharmacy = ready
    enter_test(db, world, 21, result="positive", kind="confirmation")

    def resume(day, password=conftest.PASSWORD):
        pregnancy_case.resume(db, course=world.course, prescriber_user=world.prescriber_user,
                              statement="The positive result was a laboratory mix-up.",
                              password=password, today=local(day), now=at(day))

    with pytest.raises(Refused, match="negative pregnancy test taken after"):
        resume(22)
    db.rollback()  # as every view does on a refusal
    enter_test(db, world, 24, kind="confirmation")
    with pytest.raises(Refused, match="password"):
        resume(24, password="wrong password here")
    db.rollback()
    assert world.course.state == "suspended"
    resume(24)
    db.expire_all()
    assert world.course.state == "qualifying" and world.course.resumed_on == local(24)
    denied = ask(db, world, pharmacy, 24)
    assert denied.decision == "denied"  # the month is confirmed and answered anew
    complete_month(db, world, 24)
    assert ask(db, world, pharmacy, 24).decision == "authorized"


def test_the_staff_training_record_is_its_own_date(ready, db):
    """Under iPLEDGE 2026, is a certified pharmacy with no training record refused until the
    administrator records the training (no longer read from the certification's date)?"""
    world, pharmacy = ready
    organisations.certify(db, target=pharmacy, data={
        "status": "certified", "certified_on": "2026-01-01", "expires_on": "2027-01-01"})
    assert pharmacy.staff_trained_on is None
    denied = ask(db, world, pharmacy, 20)
    assert [r["code"] for r in denied.reasons] == ["PHARMACY_TRAINING_MISSING"]
    organisations.certify(db, target=pharmacy, data={
        "status": "certified", "certified_on": "2026-01-01", "expires_on": "2027-01-01",
        "staff_trained_on": "2026-09-15"})
    assert ask(db, world, pharmacy, 20).decision == "authorized"


@pytest.mark.parametrize(("day", "code", "label"), [
    (21, "NEXT_TEST", "Next test from Nov 7"),        # the day after the fill
    (37, "PREGNANCY_TEST_MISSING", "Enter this month's test"),
])
def test_between_fills_the_worklist_dates_the_next_test(ready, db, day, code, label):
    """The day after a fill the worklist says from when a test is useful and by when it is
    due, not "Enter this month's test"; once the day comes, it asks for it."""
    world, pharmacy = ready
    first_fill(db, world, pharmacy)
    with freezegun.freeze_time(at(day)):
        action = worklist.refresh(db, world.course, at(day))
    assert action.code == code
    assert worklist.short_label(action.code, action.on, local(day)) == label
    if code == "NEXT_TEST":
        assert action.message == "Next test from Nov 7, by Nov 20."


def test_the_patients_history_marks_a_test_entered_in_error(app, db, factory, client):
    """Does the patient read a corrected test as not counted, and see the fill?"""
    with app.test_request_context():
        world = ready_for_first_fill(db, factory)
        first_fill(db, world, certified_pharmacy(factory))
        screening = db.scalar(select(PregnancyTest).where(
            PregnancyTest.course_id == world.course.id, PregnancyTest.kind == "screening"))
        courses.mark_in_error(db, course=world.course, kind="test", entry_id=screening.id,
                              reason="Dated wrongly.", now=at(21))
    with freezegun.freeze_time(at(21)):
        fast_sign_in(client, db, world.patient_user)
        page = client.get("/patient/history").text
    assert "Screening (entered in error: not counted)" in page
    assert 'id="fills"' in page and "30 days" in page
