"""Does each prescriber use case accept what it should and refuse, in plain words and next to
the right field, what it should not: future dates, results out of order, a second signature
in one month, anything after a positive test, home tests where the rules forbid them?"""

import itertools
from datetime import UTC, date, datetime, timedelta

import freezegun
import pytest

from compliance.models import ContraceptionMethod, Course, Cycle, PregnancyTest, User
from compliance.services import courses, methods, monthly, patients, worklist
from compliance.services.errors import Refused
from tests import conftest
from tests.conftest import PASSWORD

V2026 = datetime(2026, 10, 1, 15, 0, tzinfo=UTC)  # 11:00 Eastern; iPLEDGE 2026 in force
V2021 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # before 2026-08-08: version 2021
LAST_2021_DAY = datetime(2026, 8, 8, 3, 59, tzinfo=UTC)  # Aug 7, 23:59 Eastern
FIRST_2026_DAY = datetime(2026, 8, 8, 4, 0, tzinfo=UTC)  # Aug 8, 00:00 Eastern


EMAILS = itertools.count()


def local(instant: datetime) -> date:
    return (instant - timedelta(hours=4)).date()


@pytest.fixture
def ctx(app, db, factory):
    with app.test_request_context():
        yield factory.prescriber()


def register(db, prescriber, at: datetime, category="can_get_pregnant"):
    """A patient enrolled at `at`, with an account able to sign."""
    with freezegun.freeze_time(at):
        patient, _ = patients.register_patient(
            db, prescriber=prescriber, now=at, today=local(at), invitation_days=7,
            data={"given_name": "Casey", "family_name": "Morgan",
                  "date_of_birth": "2004-05-17", "email": f"casey{next(EMAILS)}@example.com",
                  "weight_kg": 60, "category": category,
                  "category_reason": "Reproductive potential."})
    user = db.get(User, patient.user_id)
    user.password_hash = conftest.PASSWORD_HASH
    db.commit()
    return patient, user, db.query(Course).filter_by(patient_id=patient.id).one()


def entry(kind="screening", on=None, result="negative", setting="office"):
    return {"kind": kind, "specimen_on": on, "result": result, "setting": setting}


# --- future dates ---------------------------------------------------------------------------

FUTURE_CASES = [
    ("counseling", "counseled_on"),
    ("add_method", "started_on"),
    ("record_test", "specimen_on"),
    ("stop_method", "stopped_on"),
]


@pytest.mark.parametrize(("use_case", "field"), FUTURE_CASES)
@pytest.mark.parametrize("days_ahead", [1, 365])
def test_a_date_after_today_is_refused_next_to_its_field(db, ctx, use_case, field,
                                                         days_ahead):
    """Is tomorrow (the first day after today in New York) refused, and today accepted?"""
    user = db.get(User, ctx.user_id)
    _, _, course = register(db, ctx, V2026)
    today = local(V2026)
    future = today + timedelta(days=days_ahead)
    calls = {
        "counseling": lambda d: courses.record_counseling(
            db, course=course, counseled_on=d, today=today, now=V2026),
        "add_method": lambda d: methods.add_method(
            db, course=course, data={"method": "implant", "started_on": d}, today=today,
            entered_by=user.id, now=V2026),
        "record_test": lambda d: courses.record_test(
            db, course=course, data=entry(on=d), today=today, entered_by=user.id,
            now=V2026),
        "stop_method": lambda d: methods.stop_method(
            db, course=course, method_id=_method(db, course, user, today).id, stopped_on=d,
            today=today, now=V2026),
    }
    with pytest.raises(Refused) as refused:
        calls[use_case](future)
    assert field in refused.value.errors and "future" in refused.value.errors[field]
    db.rollback()
    calls[use_case](today)  # the boundary itself is fine


def _method(db, course, user, today):
    existing = db.query(ContraceptionMethod).filter_by(course_id=course.id).first()
    return existing or methods.add_method(
        db, course=course, data={"method": "implant", "started_on": today}, today=today,
        entered_by=user.id, now=V2026)


def test_end_of_treatment_in_the_future_is_refused(db, ctx):
    """Is a last dose tomorrow refused on an active course, and today accepted?"""
    _, _, course = register(db, ctx, V2026, category="cannot_get_pregnant")
    course.state = "active"
    db.commit()
    with pytest.raises(Refused) as refused:
        courses.end_treatment(db, course=course, last_dose_on=local(V2026) + timedelta(1),
                              today=local(V2026), now=V2026)
    assert "last_dose_on" in refused.value.errors
    db.rollback()


def test_only_an_active_course_can_end(db, ctx):
    """Is the end of treatment refused before the first fill, with a reason?"""
    _, _, course = register(db, ctx, V2026)
    with pytest.raises(Refused, match="active course"):
        courses.end_treatment(db, course=course, last_dose_on=local(V2026),
                              today=local(V2026), now=V2026)


# --- order of results -----------------------------------------------------------------------

def test_results_are_entered_in_specimen_order(db, ctx):
    """Is a test older than one on file refused, and a confirmation before any screening?"""
    user = db.get(User, ctx.user_id)
    _, _, course = register(db, ctx, V2026)
    today = local(V2026)
    with pytest.raises(Refused) as refused:
        courses.record_test(db, course=course, today=today, entered_by=user.id, now=V2026,
                            data=entry("confirmation", today))
    assert "screening" in refused.value.errors["kind"]
    courses.record_test(db, course=course, today=today, entered_by=user.id, now=V2026,
                        data=entry(on=today))
    with pytest.raises(Refused) as refused:
        courses.record_test(db, course=course, today=today, entered_by=user.id, now=V2026,
                            data=entry("screening", today - timedelta(days=1)))
    assert "later test" in refused.value.errors["specimen_on"]
    assert db.query(PregnancyTest).filter_by(course_id=course.id).count() == 1


def test_the_post_treatment_test_needs_the_end_of_treatment(db, ctx):
    user = db.get(User, ctx.user_id)
    _, _, course = register(db, ctx, V2026)
    with pytest.raises(Refused) as refused:
        courses.record_test(db, course=course, today=local(V2026), entered_by=user.id,
                            now=V2026, data=entry("post_treatment", local(V2026)))
    assert "end of treatment" in refused.value.errors["kind"]


# --- a positive test ------------------------------------------------------------------------

def test_a_positive_test_suspends_at_once_and_is_never_overwritten(db, ctx):
    """Does a positive result suspend the course, stop every later entry but the negative
    test a resume needs, and stay on file?"""
    user = db.get(User, ctx.user_id)
    _, _, course = register(db, ctx, V2026)
    today = local(V2026)
    courses.report_pregnancy(db, course=course, today=today, entered_by=user.id, now=V2026,
                             data=entry(on=today))
    assert (course.state, course.suspended_at, course.next_action) == (
        "suspended", V2026, "SUSPENDED")
    for attempt in (
        lambda: methods.add_method(db, course=course, today=today, entered_by=user.id,
                                   now=V2026, data={"method": "implant", "started_on": today}),
        lambda: courses.set_home_testing(db, course=course, enabled=True, today=today,
                                         now=V2026),
    ):
        with pytest.raises(Refused, match="suspended"):
            attempt()
        db.rollback()
    courses.record_test(db, course=course, today=today, entered_by=user.id, now=V2026,
                        data=entry(on=today))
    assert course.state == "suspended"
    results = [t.result for t in db.query(PregnancyTest).filter_by(course_id=course.id)
               .order_by(PregnancyTest.id)]
    assert results == ["positive", "negative"]


# --- the monthly confirmation ---------------------------------------------------------------

def test_a_second_confirmation_in_the_same_cycle_is_refused(db, ctx):
    """2021, cannot get pregnant: does the first signature count, and the second say when?"""
    prescriber_user = db.get(User, ctx.user_id)
    with freezegun.freeze_time(V2021):
        _, patient_user, course = register(db, ctx, V2021, category="cannot_get_pregnant")
        monthly.sign_enrollment(db, course=course, patient_user=patient_user,
                                password=PASSWORD, now=V2021)
        courses.record_counseling(db, course=course, counseled_on=local(V2021),
                                  today=local(V2021), now=V2021)
        cycle = monthly.confirm_month(db, course=course, prescriber_user=prescriber_user,
                                      password=PASSWORD, now=V2021)
        assert cycle.prescriber_confirmed_at == V2021
        later = V2021 + timedelta(hours=3)
        with pytest.raises(Refused, match="already confirmed this month on Mar 2"):
            monthly.confirm_month(db, course=course, prescriber_user=prescriber_user,
                                  password=PASSWORD, now=later)
    assert db.query(Cycle).filter_by(course_id=course.id).count() == 1


def test_a_wrong_password_signs_nothing(db, ctx):
    prescriber_user = db.get(User, ctx.user_id)
    with freezegun.freeze_time(V2021):
        _, patient_user, course = register(db, ctx, V2021, category="cannot_get_pregnant")
        monthly.sign_enrollment(db, course=course, patient_user=patient_user,
                                password=PASSWORD, now=V2021)
        courses.record_counseling(db, course=course, counseled_on=local(V2021),
                                  today=local(V2021), now=V2021)
        with pytest.raises(Refused) as refused:
            monthly.confirm_month(db, course=course, prescriber_user=prescriber_user,
                                  password="not my password", now=V2021)
        db.rollback()
    assert "password" in refused.value.errors
    assert db.query(Cycle).filter_by(course_id=course.id).count() == 0


def test_the_rules_refuse_a_confirmation_with_what_is_missing(db, ctx):
    """Can-get-pregnant with nothing entered: does the refusal name the missing steps?"""
    prescriber_user = db.get(User, ctx.user_id)
    _, _, course = register(db, ctx, V2026)
    with pytest.raises(Refused) as refused:
        monthly.confirm_month(db, course=course, prescriber_user=prescriber_user,
                              password=PASSWORD, now=V2026)
    message = refused.value.errors[""]
    assert "contraception" in message and "screening" in message


# --- home testing ---------------------------------------------------------------------------

@pytest.mark.parametrize(("instant", "allowed"), [
    (V2021, False), (LAST_2021_DAY, False), (FIRST_2026_DAY, True), (V2026, True)])
def test_home_testing_follows_the_rule_version_in_force(db, ctx, instant, allowed):
    """Refused under 2021 up to Aug 7 23:59 Eastern, allowed from Aug 8 under 2026?"""
    _, _, course = register(db, ctx, V2021)
    today = local(instant)
    if allowed:
        courses.set_home_testing(db, course=course, enabled=True, today=today, now=instant)
        assert course.home_testing_enabled
        courses.set_home_testing(db, course=course, enabled=False, today=today, now=instant)
        assert not course.home_testing_enabled
    else:
        with pytest.raises(Refused, match="version 2021 does not accept home tests"):
            courses.set_home_testing(db, course=course, enabled=True, today=today,
                                     now=instant)
        db.rollback()
        assert not course.home_testing_enabled


# --- methods and category -------------------------------------------------------------------

def test_changing_a_method_stops_the_old_and_adds_the_new_or_neither(db, ctx):
    user = db.get(User, ctx.user_id)
    _, _, course = register(db, ctx, V2026)
    today = local(V2026)
    old = methods.add_method(db, course=course, today=today, entered_by=user.id, now=V2026,
                             data={"method": "implant", "started_on": today})
    with pytest.raises(Refused) as refused:
        methods.change_method(db, course=course, method_id=old.id, stopped_on=today,
                              data={"method": "not_a_method", "started_on": today},
                              today=today, entered_by=user.id, now=V2026)
    assert "method" in refused.value.errors
    db.rollback()
    db.refresh(old)
    assert old.stopped_on is None
    new = methods.change_method(db, course=course, method_id=old.id, stopped_on=today,
                                data={"method": "intrauterine_device", "started_on": today},
                                today=today, entered_by=user.id, now=V2026)
    db.refresh(old)
    assert (old.stopped_on, new.method, new.stopped_on) == (today, "intrauterine_device", None)


@pytest.mark.parametrize(("category", "reason", "field"), [
    ("can_get_pregnant", "Same again.", "category"),
    ("cannot_get_pregnant", " ", "reason"),
    ("dragon", "Unknown.", "category"),
])
def test_a_category_change_needs_a_new_category_and_a_reason(db, ctx, category, reason,
                                                             field):
    user = db.get(User, ctx.user_id)
    patient, _, course = register(db, ctx, V2026)
    with pytest.raises(Refused) as refused:
        courses.change_category(db, patient=patient, course=course, category=category,
                                reason=reason, changed_by=user.id, now=V2026)
    assert field in refused.value.errors


def test_a_category_change_is_recorded_and_re_evaluates(db, ctx):
    user = db.get(User, ctx.user_id)
    patient, _, course = register(db, ctx, V2026)
    courses.change_category(db, patient=patient, course=course,
                            category="cannot_get_pregnant", reason="Hysterectomy in 2024.",
                            changed_by=user.id, now=V2026)
    assert patient.category == "cannot_get_pregnant"
    assert course.next_action != "CONTRACEPTION_INSUFFICIENT"


# --- the worklist ---------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "on", "expected"), [
    ("PREGNANCY_TEST_MISSING", None, "Enter this month's test"),
    ("PATIENT_ATTESTATION_MISSING", None, "Waiting for the patient's answers"),
    ("READY", date(2026, 12, 3), "Window closes Dec 3"),
    ("POST_TREATMENT_TEST", date(2027, 1, 12), "Post-treatment test due Jan 12, 2027"),
    ("SOMETHING_NEW", None, "Something new"),
])
def test_worklist_phrases(code, on, expected):
    assert worklist.short_label(code, on, date(2026, 11, 23)) == expected


def test_refresh_all_recomputes_in_batches(db, ctx):
    """Does the daily refresh rewrite every open course's action as time moves on?"""
    courses_made = [register(db, ctx, V2026 + timedelta(minutes=i))[2] for i in range(3)]
    db.query(Course).update({"next_action": "STALE"})
    db.commit()
    assert worklist.refresh_all(db, V2026, batch_size=2) == 3
    db.expire_all()
    assert {c.next_action for c in db.query(Course)} == {"COUNSELING_MISSING"}
    assert len(courses_made) == 3


def test_the_refresh_command_reports_what_it_did(app, db, ctx):
    register(db, ctx, V2026)
    db.query(Course).update({"next_action": "STALE"})
    db.commit()
    with freezegun.freeze_time(V2026):
        result = app.test_cli_runner().invoke(args=["maintenance", "refresh-worklist",
                                                    "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    assert "Refreshed the next action of 1 open courses." in result.output
    db.expire_all()
    assert db.query(Course).one().next_action == "COUNSELING_MISSING"
