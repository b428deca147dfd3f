"""What does a prescriber see and do in the browser: the worklist, the patient's course,
and one small form per clinical step?"""

import itertools
import re
from datetime import UTC, date, datetime

import freezegun
import pytest
from sqlalchemy import func

from compliance.models import AuditEvent, ContraceptionMethod, Course, PregnancyTest
from compliance.services import courses, patients
from tests.conftest import PASSWORD
from tests.form_helpers import assert_error_next_to, fast_sign_in, field_value

EMAILS = itertools.count()
NOV_23 = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # 12:00 Eastern, version 2026
MAR_2 = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # version 2021 still in force


@pytest.fixture
def frozen_now():
    with freezegun.freeze_time(NOV_23) as clock:
        yield clock


@pytest.fixture
def prescriber(factory):
    return factory.prescriber(name="Dr Rowan Reyes")


@pytest.fixture
def signed_in(client, db, prescriber, frozen_now):
    from compliance.models import User

    fast_sign_in(client, db, db.get(User, prescriber.user_id))
    return client


def enroll(app, db, prescriber, *, family="Morgan", category="can_get_pregnant"):
    """A patient registered through the service, so the course and worklist exist."""
    n = next(EMAILS)
    with app.test_request_context():
        patient, _ = patients.register_patient(
            db, prescriber=prescriber, now=datetime.now(UTC), today=date.today(),
            invitation_days=7,
            data={"given_name": "Casey", "family_name": family, "date_of_birth": "2004-05-17",
                  "email": f"{family.lower()}{n}@example.com", "weight_kg": 60,
                  "category": category, "category_reason": "Reproductive potential."})
    return patient


def course_of(db, patient) -> Course:
    db.expire_all()
    return db.query(Course).filter_by(patient_id=patient.id).one()


def page_url(patient) -> str:
    return f"/prescriber/patients/{patient.id}"


def post(client, patient, path, data):
    from tests.conftest import csrf_token

    token = csrf_token(client, page_url(patient))
    return client.post(f"{page_url(patient)}/{path}", data={"csrf_token": token, **data})


def other_prescribers_patient(app, db, factory):
    return enroll(app, db, factory.prescriber(), family="Elsewhere")


# --- the worklist ---------------------------------------------------------------------------

def test_the_worklist_shows_each_own_patient_with_the_live_next_action(app, db, signed_in,
                                                                      prescriber, factory):
    """Own patients only, each with its course status and one plain next action?"""
    first = enroll(app, db, prescriber, family="Adams")
    enroll(app, db, prescriber, family="Baker")
    other_prescribers_patient(app, db, factory)
    with app.test_request_context():
        courses.record_counseling(db, course=course_of(db, first), counseled_on=date.today(),
                                  today=date.today(), now=datetime.now(UTC))
    page = signed_in.get("/prescriber/?sort=name")
    assert page.status_code == 200
    names = re.findall(r'href="/prescriber/patients/\d+">([^<]+)</a>', page.text)
    assert names == ["Adams, Casey", "Baker, Casey"]
    assert "Elsewhere" not in page.text
    assert "Record the counseling" in page.text  # Baker
    assert "Enter two contraception methods" in page.text  # Adams, counseled
    filtered = signed_in.get("/prescriber/?action=COUNSELING_MISSING")
    assert re.findall(r'href="/prescriber/patients/\d+">([^<]+)</a>', filtered.text) == [
        "Baker, Casey"]
    assert '<option value="COUNSELING_MISSING" selected>' in filtered.text
    audit = (db.query(AuditEvent).filter_by(action="patient.list_viewed")
             .order_by(AuditEvent.id).all())
    assert [e.summary for e in audit][-1] == {"page": 1, "shown": 1,
                                              "action": "COUNSELING_MISSING"}


def test_the_worklist_pages_by_fifty(app, db, signed_in, prescriber):
    for n in range(51):
        enroll(app, db, prescriber, family=f"P{n:03d}")
    first = signed_in.get("/prescriber/?sort=name")
    second = signed_in.get("/prescriber/?sort=name&page=2")
    assert len(re.findall(r'href="/prescriber/patients/\d+"', first.text)) == 50
    assert "Page 1 of 2 (51 in all)" in first.text
    assert "sort=name" in re.search(r'<a href="([^"]+)" rel="next"', first.text).group(1)
    assert re.findall(r'>(P\d+), Casey<', second.text) == ["P050"]


# --- the patient page -----------------------------------------------------------------------

def test_the_patient_page_draws_the_course_and_lists_it_in_words(app, db, signed_in,
                                                                 prescriber):
    """An SVG picture with a title and description, the same events as a list, and the
    read written to the audit log?"""
    patient = enroll(app, db, prescriber)
    page = signed_in.get(page_url(patient))
    assert page.status_code == 200
    svg = re.search(r"<svg[^>]*>", page.text).group(0)
    assert 'role="img"' in svg and "viewBox=" in svg
    assert '<title id="timeline-title">Course timeline of Casey Morgan</title>' in page.text
    assert '<desc id="timeline-desc">' in page.text
    items = re.findall(r'<li class="tl-item[^"]*"><span class="tl-when">([^<]+)</span>: '
                       r'([^<]+)', page.text)
    assert ("Nov 23", "Enrolled") in items
    assert "Nov 23, 12:00 pm Eastern" in page.text
    assert "Who must act: you (the prescriber)." in page.text
    viewed = db.query(AuditEvent).filter_by(action="patient.viewed",
                                            object_id=str(patient.id)).count()
    assert viewed == 1


def test_text_typed_by_the_prescriber_is_escaped_in_the_picture(app, db, signed_in,
                                                                prescriber):
    patient = enroll(app, db, prescriber)
    response = post(signed_in, patient, "tests", {
        "test-kind": "screening", "test-specimen_on": "2026-11-23", "test-result": "negative",
        "test-setting": "laboratory", "test-laboratory": "<script>alert(1)</script>"})
    assert response.status_code == 302
    page = signed_in.get(page_url(patient)).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


SUCCESSES = [
    ("counseling", {"counseling-counseled_on": "2026-11-23"}, "Counseling recorded."),
    ("methods", {"method-method": "implant", "method-started_on": "2026-11-01"},
     "Method recorded."),
    ("tests", {"test-kind": "screening", "test-specimen_on": "2026-11-20",
               "test-result": "negative", "test-setting": "office"}, "Test result saved."),
    ("category", {"category-category": "cannot_get_pregnant",
                  "category-reason": "Hysterectomy in 2024."}, "Category changed."),
    ("home-testing", {"home-enabled": "1"}, "Home testing setting saved."),
]


@pytest.mark.parametrize(("path", "data", "flash"), SUCCESSES)
def test_each_step_redirects_with_a_message(app, db, signed_in, prescriber, path, data,
                                            flash):
    patient = enroll(app, db, prescriber)
    response = post(signed_in, patient, path, data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(page_url(patient))
    assert flash in signed_in.get(page_url(patient)).text


REFUSALS = [
    ("counseling", {"counseling-counseled_on": "2026-11-24"}, "counseling-counseled_on",
     "future"),
    ("counseling", {"counseling-counseled_on": "not a date"}, "counseling-counseled_on",
     "date"),
    ("methods", {"method-method": "implant", "method-started_on": "2026-12-01"},
     "method-started_on", "future"),
    ("methods", {"method-method": "", "method-started_on": "2026-11-01"}, "method-method",
     "choose"),
    ("tests", {"test-kind": "confirmation", "test-specimen_on": "2026-11-20",
               "test-result": "negative", "test-setting": "laboratory"}, "test-kind",
     "screening test before"),
    ("tests", {"test-kind": "screening", "test-specimen_on": "2026-11-24",
               "test-result": "negative", "test-setting": "office"}, "test-specimen_on",
     "future"),
    ("category", {"category-category": "can_get_pregnant", "category-reason": "Same."},
     "category-category", "already"),
    ("category", {"category-category": "cannot_get_pregnant", "category-reason": ""},
     "category-reason", "required"),
]


@pytest.mark.parametrize(("path", "data", "field", "fragment"), REFUSALS)
def test_a_refusal_shows_the_page_again_with_the_message_next_to_the_field(
        app, db, signed_in, prescriber, path, data, field, fragment):
    """422, the typed values kept, the message tied to the field, nothing recorded."""
    patient = enroll(app, db, prescriber)
    last = db.query(func.coalesce(func.max(AuditEvent.id), 0)).scalar()
    response = post(signed_in, patient, path, data)
    assert response.status_code == 422
    assert_error_next_to(response.text, field, fragment)
    for name, value in data.items():
        if "password" not in name:
            assert field_value(response.text, name) == value
    recorded = [e.action for e in db.query(AuditEvent).filter(AuditEvent.id > last)]
    assert set(recorded) <= {"patient.viewed"}


def test_the_rules_refusal_of_a_confirmation_says_what_is_missing(app, db, signed_in,
                                                                  prescriber):
    patient = enroll(app, db, prescriber)
    response = post(signed_in, patient, "confirmation", {"confirm-password": PASSWORD})
    assert response.status_code == 422
    assert "No negative screening pregnancy test is on file." in response.text
    assert 'class="form-errors" role="alert"' in response.text
    assert "Who must act: the patient." in response.text


def test_another_prescribers_patient_is_404_for_every_step(app, db, signed_in, factory):
    patient = other_prescribers_patient(app, db, factory)
    from tests.conftest import csrf_token

    token = csrf_token(signed_in, "/prescriber/patients/new")
    for path, data, _ in SUCCESSES:
        response = signed_in.post(f"{page_url(patient)}/{path}",
                                  data={"csrf_token": token, **data})
        assert response.status_code == 404, path
    assert signed_in.get(page_url(patient)).status_code == 404
    assert course_of(db, patient).counseled_on is None


def test_a_reported_pregnancy_suspends_the_course_with_a_banner(app, db, signed_in,
                                                                prescriber):
    patient = enroll(app, db, prescriber)
    refused = post(signed_in, patient, "pregnancy", {
        "pregnancy-kind": "screening", "pregnancy-specimen_on": "2026-11-22",
        "pregnancy-setting": "office"})
    assert refused.status_code == 422
    assert_error_next_to(refused.text, "pregnancy-confirm", "tick")
    response = post(signed_in, patient, "pregnancy", {
        "pregnancy-kind": "screening", "pregnancy-specimen_on": "2026-11-22",
        "pregnancy-setting": "office", "pregnancy-confirm": "y"})
    assert response.status_code == 302
    page = signed_in.get(page_url(patient)).text
    assert 'id="pregnancy-banner"' in page
    assert "Positive pregnancy test (specimen of Nov 22): the course is suspended." in page
    assert course_of(db, patient).state == "suspended"
    assert 'id="pregnancy-case"' in page  # the report, a later test and a resume
    assert f'action="/prescriber/patients/{patient.id}/registry-report"' in page
    assert f'action="/prescriber/patients/{patient.id}/pregnancy"' not in page
    again = post(signed_in, patient, "counseling", {"counseling-counseled_on": "2026-11-23"})
    assert again.status_code == 422 and "suspended" in again.text
    assert [t.result for t in db.query(PregnancyTest)] == ["positive"]


def test_the_registry_report_and_a_resume_from_the_page(app, db, signed_in, prescriber):
    """After a positive test: is the report recorded, a resume refused next to its field
    until a later negative test exists, and then signed?"""
    patient = enroll(app, db, prescriber)
    post(signed_in, patient, "pregnancy", {
        "pregnancy-kind": "screening", "pregnancy-specimen_on": "2026-11-20",
        "pregnancy-setting": "office", "pregnancy-confirm": "y"})
    missing = post(signed_in, patient, "registry-report", {"registry-reported_on": "2026-11-23",
                                                           "registry-reference": ""})
    assert missing.status_code == 422
    assert_error_next_to(missing.text, "registry-reference")
    assert post(signed_in, patient, "registry-report", {
        "registry-reported_on": "2026-11-23",
        "registry-reference": "PR-77"}).status_code == 302
    page = signed_in.get(page_url(patient)).text
    assert 'id="registry-reported"' in page and "PR-77" in page
    early = post(signed_in, patient, "resume", {"resume-statement": "Laboratory mix-up, "
                                                "confirmed by a repeat test.",
                                                "resume-password": PASSWORD})
    assert early.status_code == 422 and "negative pregnancy test taken after" in early.text
    assert field_value(early.text, "resume-statement").startswith("Laboratory mix-up")
    assert post(signed_in, patient, "tests", {
        "test-kind": "screening", "test-specimen_on": "2026-11-22", "test-result": "negative",
        "test-setting": "office"}).status_code == 302
    assert post(signed_in, patient, "resume", {
        "resume-statement": "Laboratory mix-up, confirmed by a repeat test.",
        "resume-password": PASSWORD}).status_code == 302
    resumed = course_of(db, patient)
    assert (resumed.state, resumed.resumed_on) == ("enrolled", date(2026, 11, 23))  # unsigned


def test_home_testing_is_offered_only_where_the_rules_allow_it(app, db, client, factory):
    """Under 2021 no button, and a forged POST is refused; under 2026 it can be enabled."""
    from compliance.models import User

    with freezegun.freeze_time(MAR_2):
        prescriber = factory.prescriber()
        patient = enroll(app, db, prescriber)
        fast_sign_in(client, db, db.get(User, prescriber.user_id))
        page = client.get(page_url(patient)).text
        assert "does not accept home tests" in page
        response = post(client, patient, "home-testing", {"home-enabled": "1"})
        assert response.status_code == 422
        assert "version 2021 does not accept home tests" in response.text
    with freezegun.freeze_time(NOV_23):
        fast_sign_in(client, db, db.get(User, prescriber.user_id))
        assert "Enable home testing" in client.get(page_url(patient)).text
        assert post(client, patient, "home-testing", {"home-enabled": "1"}).status_code == 302
        assert course_of(db, patient).home_testing_enabled
        assert "Disable home testing" in client.get(page_url(patient)).text


def test_ending_treatment_opens_the_post_treatment_test(app, db, signed_in, prescriber):
    patient = enroll(app, db, prescriber)
    course = course_of(db, patient)
    course.state = "active"  # the first fill (pharmacy side) is outside this suite
    db.commit()
    refused = post(signed_in, patient, "end", {"end-last_dose_on": "2026-11-24"})
    assert refused.status_code == 422
    assert_error_next_to(refused.text, "end-last_dose_on", "future")
    assert field_value(refused.text, "end-last_dose_on") == "2026-11-24"
    response = post(signed_in, patient, "end", {"end-last_dose_on": "2026-11-20"})
    assert response.status_code == 302
    page = signed_in.get(page_url(patient)).text
    assert course_of(db, patient).state == "post_treatment"
    assert "Last dose on Nov 20." in page
    assert field_value(page, "test-kind") == "post_treatment"
    assert "Post-treatment test due Dec 20" in signed_in.get("/prescriber/").text


def test_a_method_is_changed_and_stopped_from_the_page(app, db, signed_in, prescriber):
    patient = enroll(app, db, prescriber)
    post(signed_in, patient, "methods", {"method-method": "implant",
                                         "method-started_on": "2026-11-01"})
    method_id = db.query(ContraceptionMethod).one().id
    response = post(signed_in, patient, "methods/change", {
        "change-method_id": str(method_id), "change-stopped_on": "2026-11-20",
        "change-method": "intrauterine_device", "change-started_on": "2026-11-21"})
    assert response.status_code == 302
    methods = {m.method: m.stopped_on for m in db.query(ContraceptionMethod)}
    assert methods == {"implant": date(2026, 11, 20), "intrauterine_device": None}
    new_id = db.query(ContraceptionMethod).filter_by(method="intrauterine_device").one().id
    refused = post(signed_in, patient, "methods/stop", {
        "stop-method_id": str(new_id), "stop-stopped_on": "2026-11-01"})
    assert refused.status_code == 422
    assert_error_next_to(refused.text, "stop-stopped_on", "before the start")
    assert post(signed_in, patient, "methods/stop", {
        "stop-method_id": str(new_id), "stop-stopped_on": "2026-11-23"}).status_code == 302


def test_a_wrong_password_is_refused_next_to_the_password(app, db, client, factory):
    """2021, cannot get pregnant, everything else ready: only the signature is missing."""
    from compliance.models import User
    from compliance.services import monthly
    from tests import conftest

    with freezegun.freeze_time(MAR_2):
        prescriber = factory.prescriber()
        patient = enroll(app, db, prescriber, category="cannot_get_pregnant")
        course = course_of(db, patient)
        patient_user = db.get(User, patient.user_id)
        patient_user.password_hash = conftest.PASSWORD_HASH
        db.commit()
        with app.test_request_context():
            monthly.sign_enrollment(db, course=course, patient_user=patient_user,
                                    password=PASSWORD, now=MAR_2)
        fast_sign_in(client, db, db.get(User, prescriber.user_id))
        post(client, patient, "counseling", {"counseling-counseled_on": "2026-03-02"})
        refused = post(client, patient, "confirmation", {"confirm-password": "not it at all"})
        assert refused.status_code == 422
        assert_error_next_to(refused.text, "confirm-password", "not right")
        assert 'value="not it at all"' not in refused.text
        signed = post(client, patient, "confirmation", {"confirm-password": PASSWORD})
        assert signed.status_code == 302
        page = client.get(page_url(patient)).text
        assert "Month 1 confirmed. Signed by" in page
        assert "Mar 2, 12:00 pm Eastern" in page
        assert "Meaning of the signature" in page


def test_an_entry_is_marked_in_error_from_the_page(app, db, signed_in, prescriber):
    """Does the page mark a method in error with a reason, keep it on file with a badge and
    on the timeline, and refuse an empty reason next to the field, keeping the choice?"""
    patient = enroll(app, db, prescriber)
    post(signed_in, patient, "methods", {"method-method": "implant",
                                         "method-started_on": "2026-11-01"})
    method_id = db.query(ContraceptionMethod).one().id
    refused = post(signed_in, patient, "in-error", {"error-entry": f"method-{method_id}",
                                                    "error-reason": ""})
    assert refused.status_code == 422
    assert_error_next_to(refused.text, "error-reason")
    assert field_value(refused.text, "error-entry") == f"method-{method_id}"
    done = post(signed_in, patient, "in-error", {"error-entry": f"method-{method_id}",
                                                 "error-reason": "Typed for the wrong patient."})
    assert done.status_code == 302
    page = signed_in.get(page_url(patient)).text
    assert "entered in error" in page and "Typed for the wrong patient." in page
    assert "marked as entered in error" in page  # the timeline's list
    db.expire_all()
    assert db.query(ContraceptionMethod).one().in_error_at is not None


@pytest.mark.parametrize(("status", "expires_on", "notice"), [
    ("certified", date(2027, 1, 1), None),
    ("pending", None, "Your certification is pending."),
    ("suspended", date(2027, 1, 1), "Your certification is not in force."),
    ("certified", date(2026, 6, 1), "Your certification is not in force."),  # lapsed
])
def test_a_prescriber_not_certified_is_told_on_every_page(client, db, factory, frozen_now,
                                                          status, expires_on, notice):
    """Does a pending, suspended or lapsed prescriber read why before anything is refused,
    on the worklist and the registration form alike?"""
    from compliance.models import User

    profile = factory.prescriber()
    profile.certification_status, profile.certification_expires_on = status, expires_on
    db.commit()
    fast_sign_in(client, db, db.get(User, profile.user_id))
    for url in ("/prescriber/", "/prescriber/patients/new"):
        page = client.get(url).text
        assert ('id="certification-notice"' in page) is (notice is not None)
        if notice:
            assert notice in page
