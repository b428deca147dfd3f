"""Can people get started in a real browser, each step through the pages themselves?

An administrator registers and certifies a prescriber, who receives the activation link by
email, sets a password, signs in and registers a patient; the patient, on a phone, opens the
emailed link, gives the date of birth, sees their program card, later resets a forgotten
password by email, subscribes to the calendar and receives a reminder exactly once. Mail
goes through a real SMTP server on loopback. A screenshot is kept at every step.
"""

import re
from datetime import timedelta
from urllib.request import urlopen

from playwright.sync_api import Page, expect
from sqlalchemy import update

from compliance import worker
from compliance.identifiers import npi_with_check_digit
from compliance.models import ScheduledJob
from tests.browser.conftest import (
    assert_accessible,
    program_today,
    sign_in,
    sign_out,
    snapshot,
    urlpath,
)
from tests.conftest import PASSWORD

PRESCRIBER_PASSWORD = "a long walk along the river at dawn"
PATIENT_PASSWORD = "blue kettle singing on the stove"


def _activate(page: Page, link: str, password: str, step: str, born: str | None = None) -> None:
    """Open an activation link, choose a password; the site then asks to sign in."""
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    if born:
        page.get_by_label("Your date of birth").fill(born)
    snapshot(page, f"{step}-set-password")
    page.get_by_label("New password").fill(password)
    page.get_by_label("Repeat the password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Set password").click()
    assert urlpath(page.url) == "/login", page.url
    expect(page.locator(".flashes")).to_contain_text("Your password is set")


def test_admin_prescriber_and_patient_get_started(page, phone_page, live_server, mailbox,
                                                  factory, db):
    """Admin registers a prescriber; prescriber activates from the email and enrolls a
    patient; patient activates on a phone, sees the program card, resets a forgotten
    password from the sign-in page, subscribes to the calendar and gets a reminder once."""
    admin = factory.user("admin", name="Ada Admin")
    today = program_today(live_server.app)
    base = live_server.url

    # The administrator registers a prescriber, who is emailed the activation link.
    sign_in(page, base, admin.email, PASSWORD)
    snapshot(page, "01-admin-home")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Prescribers").click()
    page.get_by_role("link", name="Register a prescriber").click()
    page.get_by_label("Full name").fill("Dana Derm")
    page.get_by_label("Email").fill("dana.derm@example.com")
    page.get_by_label("NPI").fill(npi_with_check_digit("123456789"))
    page.get_by_label("Practice").fill("Riverside Dermatology")
    with page.expect_navigation():
        page.get_by_role("button", name="Register").click()
    expect(page.locator(".flashes")).to_contain_text("Prescriber Dana Derm registered")
    expect(page.locator(".flashes")).to_contain_text("emailed to dana.derm@example.com")
    snapshot(page, "02-prescriber-emailed")
    prescriber_link = mailbox.link_for("dana.derm@example.com")
    assert prescriber_link.startswith(f"{base}/invitations/"), prescriber_link

    # ... and certifies them, so that they may enroll patients.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Prescribers").click()
    page.get_by_role("link", name="Certification of Dana Derm").click()
    page.get_by_label("Status").select_option("certified")
    page.get_by_label("Certified on").fill(today.isoformat())
    page.get_by_label("Expires on").fill((today + timedelta(days=365)).isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    expect(page.locator(".flashes")).to_contain_text("Certification of Dana Derm")
    snapshot(page, "03-prescriber-certified")
    sign_out(page)

    # The prescriber sets a password through the link, signs in and registers a patient.
    _activate(page, prescriber_link, PRESCRIBER_PASSWORD, "04-prescriber")
    sign_in(page, base, "dana.derm@example.com", PRESCRIBER_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("My patients")
    snapshot(page, "05-prescriber-home")
    page.get_by_role("link", name="Register a patient").first.click()
    page.get_by_label("Given name").fill("Robin")
    page.get_by_label("Family name").fill("Rivera")
    page.get_by_label("Date of birth").fill("2004-03-15")
    page.get_by_label("Email").fill("robin.rivera@example.com")
    page.get_by_label("Phone").fill("518-555-0142")
    if page.get_by_label("Weight (kg)").count():  # being added to the form as this is written
        page.get_by_label("Weight (kg)").fill("60")
    page.get_by_label("Category", exact=True).select_option("can_get_pregnant")
    page.get_by_label("Reason for the category").fill("Reproductive potential.")
    snapshot(page, "06-patient-form")
    with page.expect_navigation():
        page.get_by_role("button", name="Register").click()
    flashed = page.locator(".flashes")
    expect(flashed).to_contain_text("is enrolled with patient ID")
    patient_id = re.search(r"patient ID (\S+)\.", flashed.inner_text()).group(1)
    expect(page.locator("#invitation-status")).to_contain_text("waiting to be emailed")
    snapshot(page, "07-patient-emailed")
    patient_link = mailbox.link_for("robin.rivera@example.com")
    page.reload()
    expect(page.locator("#invitation-status")).to_contain_text("Activation link emailed")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My patients").click()
    expect(page.get_by_role("row", name=re.compile("Rivera, Robin"))).to_contain_text(patient_id)
    snapshot(page, "08-prescriber-patients")

    # The patient, on a phone, activates the account and sees the program card.
    _activate(phone_page, patient_link, PATIENT_PASSWORD, "09-patient", born="2004-03-15")
    sign_in(phone_page, base, "robin.rivera@example.com", PATIENT_PASSWORD)
    card = phone_page.locator("section", has=phone_page.get_by_role(
        "heading", name="Your program card"))
    expect(card).to_contain_text(patient_id)
    expect(card).to_contain_text("Dana Derm, Riverside Dermatology")
    expect(card).to_contain_text("March 15, 2004")
    snapshot(phone_page, "10-patient-card")
    assert_accessible(phone_page, "patient program card after activation")

    # Weeks later the patient has forgotten the password: a reset by email, on the phone.
    sign_out(phone_page)
    phone_page.get_by_role("link", name="Forgot your password?").click()
    phone_page.get_by_label("Email").fill("robin.rivera@example.com")
    with phone_page.expect_navigation():
        phone_page.get_by_role("button", name="Email me a link").click()
    expect(phone_page.locator(".flashes")).to_contain_text("we have emailed it a link")
    snapshot(phone_page, "11-patient-reset-asked")
    reset_link = mailbox.link_for("robin.rivera@example.com")
    assert reset_link.startswith(f"{base}/password/reset/"), reset_link
    phone_page.goto(reset_link)
    expect(phone_page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    phone_page.get_by_label("New password").fill("green bicycle under the old bridge")
    phone_page.get_by_label("Repeat the password").fill("green bicycle under the old bridge")
    with phone_page.expect_navigation():
        phone_page.get_by_role("button", name="Set password").click()
    expect(phone_page.locator(".flashes")).to_contain_text("Your new password is set")
    sign_in(phone_page, base, "robin.rivera@example.com", "green bicycle under the old bridge")
    expect(phone_page.get_by_role("heading", level=1)).to_contain_text("Hello, Robin")
    snapshot(phone_page, "12-patient-signed-in-again")

    # The patient puts the program's dates in the phone's calendar: a private address the
    # calendar app reads again by itself, each date with two alarms.
    phone_page.get_by_role("link", name="Put these dates in your phone's calendar").click()
    with phone_page.expect_navigation():
        phone_page.get_by_role("button", name="Make my calendar address").click()
    expect(phone_page.get_by_role("link", name="Add to my calendar")).to_have_attribute(
        "href", re.compile(r"^webcal://"))
    address = phone_page.get_by_label(re.compile("Or copy this address")).input_value()
    snapshot(phone_page, "13-patient-calendar-address")
    with urlopen(address, timeout=10) as feed:  # noqa: S310 (the calendar app: no cookies)
        assert feed.headers["Content-Type"].startswith("text/calendar")
        events = feed.read().decode()
    assert "SUMMARY:Pregnancy test due" in events
    assert events.count("BEGIN:VALARM") >= 2

    # The worker's hourly reminder job emails the patient once: the test is due now. An
    # hour later the job runs again and writes nothing new.
    live_server.app.config["REMINDER_HOUR"] = 0  # whatever the hour the suite runs at
    reminders_seen = []
    for _ in range(2):
        _an_hour_passes(db)
        worker.one_pass(live_server.app)
        reminders_seen = [m for m in mailbox.sink.to("robin.rivera@example.com")
                          if m["Subject"].startswith("You have something to do")]
    assert len(reminders_seen) == 1, [m["Subject"] for m in reminders_seen]
    assert "Your next test for the program is due now." in \
        reminders_seen[0].get_body(preferencelist=("plain",)).get_content()
    phone_page.get_by_role("link", name="Emails").click()
    sent = phone_page.get_by_role("table")
    expect(sent).to_contain_text("You have something to do in the program now")
    expect(sent).to_contain_text("Sent ")
    snapshot(phone_page, "14-patient-emails-sent")
    assert_accessible(phone_page, "the patient's emails page after a reminder")


def _an_hour_passes(db) -> None:
    """The reminder job last ran an hour ago, so the next worker pass runs it."""
    db.execute(update(ScheduledJob).where(ScheduledJob.name == "send-reminders")
               .values(last_started_at=None))
    db.commit()
