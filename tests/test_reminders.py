"""Does each person get a reminder before each date they must act on, once, when they want
it, and never with clinical detail in the subject?

The course: confirmation test on day 20 (Oct 21), so the first window's last day is day 26
(Oct 27, 11:59 pm Eastern). Times are 11:00 am Eastern unless a test says otherwise.
"""

from datetime import date, timedelta
from html import unescape

import freezegun
import pytest
from sqlalchemy import select

from compliance.models import AuditEvent, OutboxMessage, ReminderOptOut, Rma
from compliance.services import monthly, outbox, reminders, rma, rma_requests
from compliance.worker import run_due_jobs
from tests.conftest import PASSWORD, sign_in
from tests.course_helpers import (
    at,
    build_world,
    certified_pharmacy,
    local,
    qualify,
    ready_for_first_fill,
    rma_ask,
)
from tests.form_helpers import elements, field_error, field_value

CLINICAL_WORDS = ("pregnan", "test", "positive", "negative", "contracept", "isotretinoin",
                  "birth control", "result")


@pytest.fixture
def context(app):
    with app.test_request_context():
        yield


def written(db, kind: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return list(db.scalars(query))


def kinds_written(db) -> list[str]:
    return [message.kind for message in written(db) if message.kind in reminders.KINDS]


@pytest.mark.parametrize(("day", "expected"), [
    (23, []),                       # 4 days left: nothing yet
    (24, ["window_closing"]),       # Oct 25: 2 days left
    (25, ["window_closing"]),       # 1 day left, first run since the window opened
    (26, ["window_last_day"]),      # Oct 27: the last day
    (27, ["test_due"]),             # closed unfilled: a new test is due, not the window
])
def test_the_patient_is_told_two_days_before_and_on_the_windows_last_day(
        context, db, factory, day, expected):
    world = ready_for_first_fill(db, factory)
    reminders.send_due(db, at(day))
    assert kinds_written(db) == expected
    for message in written(db):
        assert message.user_id == world.patient_user.id


def test_each_reminder_is_written_once_however_often_the_job_runs(context, db, factory):
    """Hourly runs on day 24, 25 and 26 write one "2 days left" and one "last day"."""
    ready_for_first_fill(db, factory)
    for day in (24, 25, 26):
        for hour in range(0, 12):
            reminders.send_due(db, at(day) + timedelta(hours=hour))
    assert kinds_written(db) == ["window_closing", "window_last_day"]


@pytest.mark.parametrize(("hours", "sent"), [(-3.01, 0), (-3, 1)])  # 11:00 - 3 h = 8:00 am
def test_nothing_is_sent_before_eight_in_the_morning_eastern(context, db, factory, hours, sent):
    ready_for_first_fill(db, factory)
    assert reminders.send_due(db, at(26) + timedelta(hours=hours)) == sent


def test_a_filled_window_sends_no_reminder(context, db, factory):
    world = ready_for_first_fill(db, factory)
    pharmacy = certified_pharmacy(factory)
    request = rma_requests.request_rma(db, pharmacy=pharmacy, data=rma_ask(world), now=at(20))
    number = db.get(Rma, request.authorization_id).rma_number
    rma.record_dispense(db, pharmacy=pharmacy, now=at(21), data={
        "rma_number": number, "dispensed_on": local(21).isoformat(), "quantity": 30,
        "days_supply": 30, "medication_guide_given": True})
    reminders.send_due(db, at(26))
    assert "window_last_day" not in kinds_written(db)


def test_a_switched_off_kind_is_not_sent_but_the_last_day_always_is(context, db, factory):
    world = ready_for_first_fill(db, factory)
    reminders.choose(db, user=world.patient_user, wanted=set(), now=at(0))
    db.commit()
    assert reminders.switched_off(db, world.patient_user.id) == {
        "test_due", "questions_open", "window_closing", "post_treatment_test"}
    reminders.send_due(db, at(24))
    reminders.send_due(db, at(26))
    assert kinds_written(db) == ["window_last_day"]


def test_questions_open_once_the_prescriber_confirmed(context, db, factory):
    world = build_world(db, factory)
    qualify(db, world)
    monthly.confirm_month(db, course=world.course, prescriber_user=world.prescriber_user,
                          password=PASSWORD, now=at(20))
    reminders.send_due(db, at(20))
    reminders.send_due(db, at(21))
    [message] = written(db, "questions_open")
    assert message.user_id == world.patient_user.id
    assert message.context["subject"] == "You have something to do in the program by " \
                                         "October 27, 2026"
    assert message.deadline.isoformat() == "2026-10-28T03:59:59+00:00"


def test_a_test_due_is_sent_once_per_test_to_take(context, db, factory):
    """Screening due at enrollment; after it, the confirmation test once it may be taken."""
    world = build_world(db, factory)
    monthly.sign_enrollment(db, course=world.course, patient_user=world.patient_user,
                            password=PASSWORD, now=at(0))
    reminders.send_due(db, at(0))
    reminders.send_due(db, at(1))
    assert kinds_written(db) == ["test_due"]


def test_the_prescriber_gets_one_daily_digest_of_windows_closing_with_their_step_undone(
        context, db, factory):
    """Qualified on day 20 but the month not confirmed: from day 24 the prescriber is told."""
    world = build_world(db, factory)
    qualify(db, world)
    reminders.send_due(db, at(23))
    assert written(db, "patients_due") == []
    reminders.send_due(db, at(24))
    reminders.send_due(db, at(24) + timedelta(hours=2))
    [digest] = written(db, "patients_due")
    assert digest.user_id == world.prescriber_user.id
    assert digest.context["sentence"].startswith("1 of your patients has a fill window that "
                                                 "closes by October 27, 2026")
    reminders.send_due(db, at(25))
    assert len(written(db, "patients_due")) == 2  # one a day


def test_no_digest_when_the_prescribers_steps_are_done(context, db, factory):
    ready_for_first_fill(db, factory)
    reminders.send_due(db, at(25))
    assert written(db, "patients_due") == []


@pytest.mark.parametrize(("days_left", "sent"), [(31, False), (30, True), (1, True), (0, False)])
def test_certifications_ending_within_30_days(context, db, factory, days_left, sent):
    """`days_left` to the first day not covered; the last covered day is the one before."""
    today = at(0).date()
    prescriber = factory.prescriber()
    prescriber.certification_expires_on = today + timedelta(days=days_left)
    pharmacy = certified_pharmacy(factory)
    responsible = factory.pharmacist(pharmacy)
    pharmacy.responsible_pharmacist_id = responsible.id
    pharmacy.certification_expires_on = today + timedelta(days=days_left)
    db.commit()
    reminders.send_due(db, at(0))
    assert bool(written(db, "prescriber_certification")) is sent
    assert bool(written(db, "pharmacy_certification")) is sent
    if sent:
        [message] = written(db, "pharmacy_certification")
        assert message.user_id == responsible.id
        last = today + timedelta(days=days_left - 1)
        assert message.context["subject"].endswith(f"{last:%B} {last.day}, {last.year}")


def test_an_rma_expiring_today_unfilled_goes_to_the_pharmacist_who_asked(context, db, factory):
    world = ready_for_first_fill(db, factory)
    pharmacy = certified_pharmacy(factory)
    pharmacist = factory.pharmacist(pharmacy)
    rma_requests.request_rma(db, pharmacy=pharmacy, data=rma_ask(world), now=at(20),
                             requested_by=pharmacist.id)
    reminders.send_due(db, at(25))
    assert written(db, "rma_expiring") == []
    reminders.send_due(db, at(26))
    [message] = written(db, "rma_expiring")
    assert message.user_id == pharmacist.id
    assert "Oct 27, 2026 at 11:59 pm Eastern time" in message.context["sentence"]


def test_deactivated_and_never_activated_accounts_get_nothing(context, db, factory):
    world = ready_for_first_fill(db, factory)
    world.patient_user.is_active = False
    db.commit()
    reminders.send_due(db, at(26))
    assert kinds_written(db) == []


def test_the_email_names_a_date_and_no_clinical_detail_in_its_subject(app, db, factory,
                                                                      tmp_path):
    """Delivered by the worker as a file: subject, link to the site, the day in words."""
    app.config["MAIL_FOLDER"] = str(tmp_path / "mail")
    with app.test_request_context(base_url=app.config["PUBLIC_URL"]):
        ready_for_first_fill(db, factory)
        assert run_due_jobs(db, at(24))["send-reminders"] == 1
        assert outbox.deliver_due(db, now=lambda: at(24)) == 1
    [message] = written(db, "window_closing")
    assert message.subject == "You have something to do in the program by October 27, 2026"
    assert not any(word in message.subject.lower() for word in CLINICAL_WORDS)
    [eml] = (tmp_path / "mail").glob("*.eml")
    text = eml.read_text()
    assert "Your pharmacy can fill your medicine until October 27, 2026." in text
    assert app.config["PUBLIC_URL"].rstrip("/") + "/patient" in text
    assert "/account/emails" in text


@pytest.mark.parametrize("role", ["patient", "prescriber", "pharmacist", "admin"])
def test_every_role_sees_its_choices_and_its_emails(app, db, factory, role):
    user = factory.user(role)
    client = app.test_client()
    sign_in(client, user.email)
    page = client.get("/account/emails")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for kind in reminders.kinds_for(role):
        assert kind.label in unescape(html)
    assert "No emails yet." in html
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "mail.history_viewed")
                       .order_by(AuditEvent.id.desc())).first()
    assert event.actor_user_id == user.id


def test_choices_are_saved_audited_and_the_required_one_stays_on(app, db, factory):
    user = factory.user("patient")
    client = app.test_client()
    sign_in(client, user.email)
    token = _token(client)
    response = client.post("/account/emails", data={"csrf_token": token,
                                                    "wanted": ["test_due"]})
    assert response.status_code == 302
    db.expire_all()
    off = set(db.scalars(select(ReminderOptOut.kind).where(ReminderOptOut.user_id == user.id)))
    assert off == {"questions_open", "window_closing", "post_treatment_test"}
    html = client.get("/account/emails").get_data(as_text=True)
    assert field_value(html, "wanted-0") == "on"  # test_due, the first choice
    assert field_value(html, "wanted-1") == ""
    assert "Always sent: Last day for your pharmacy to fill" in html
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "reminders.chosen"))


def test_an_unknown_choice_is_refused_next_to_the_field(app, db, factory):
    user = factory.user("prescriber")
    client = app.test_client()
    sign_in(client, user.email)
    response = client.post("/account/emails", data={"csrf_token": _token(client),
                                                    "wanted": ["window_last_day"]})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "not a valid choice" in field_error(html, "wanted")
    assert elements(html)["wanted"].attrs["aria-describedby"] == "wanted-error"


def test_the_history_shows_what_was_sent_in_words(app, db, factory, tmp_path):
    app.config["MAIL_FOLDER"] = str(tmp_path / "mail")
    with app.test_request_context(base_url=app.config["PUBLIC_URL"]):
        world = ready_for_first_fill(db, factory)
        reminders.send_due(db, at(26))
        outbox.deliver_due(db, now=lambda: at(26))
    client = app.test_client()
    sign_in(client, world.patient_user.email)
    html = client.get("/account/emails").get_data(as_text=True)
    assert "You have something to do in the program by October 27, 2026" in html
    assert "Sent Oct 27, 2026 at 11:00 am Eastern time" in html
    assert date(2026, 10, 27).isoformat() not in html


def _token(client) -> str:
    return field_value(client.get("/account/emails").get_data(as_text=True), "csrf_token")


def test_the_worker_schedule_sends_reminders_hourly(context, db, factory):
    ready_for_first_fill(db, factory)
    assert run_due_jobs(db, at(26))["send-reminders"] == 1
    assert "send-reminders" not in run_due_jobs(db, at(26) + timedelta(minutes=59))
    assert kinds_written(db) == ["window_last_day"]


def test_the_operators_command_writes_the_same_reminders_once(app, db, factory):
    """Does `flask maintenance send-reminders` write the day's reminder, and nothing the
    second time?"""
    with app.test_request_context():
        ready_for_first_fill(db, factory)
    runner = app.test_cli_runner()
    with freezegun.freeze_time(at(26)):
        first = runner.invoke(args=["maintenance", "send-reminders"])
        again = runner.invoke(args=["maintenance", "send-reminders"])
    assert first.exit_code == 0 and "Wrote 1 reminders" in first.output
    assert "Wrote 0 reminders" in again.output
    assert kinds_written(db) == ["window_last_day"]
