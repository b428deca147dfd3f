"""Can people get started in a real browser, each step through the pages themselves?

An administrator registers and certifies a prescriber and passes on the activation link;
the prescriber sets a password, signs in and registers a patient; the patient, on a phone,
activates the account and sees their program card. A screenshot is kept at every step.
"""

import re
from datetime import timedelta

from playwright.sync_api import Page, expect

from compliance.identifiers import npi_with_check_digit
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


def _activate(page: Page, link: str, password: str, step: str) -> None:
    """Open an activation link, choose a password; the site then asks to sign in."""
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    snapshot(page, f"{step}-set-password")
    page.get_by_label("New password").fill(password)
    page.get_by_label("Repeat the password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Set password").click()
    assert urlpath(page.url) == "/login", page.url
    expect(page.locator(".flashes")).to_contain_text("Your password is set")


def _activation_link(page: Page, base_url: str) -> str:
    link = page.get_by_label("Activation link").input_value()
    assert link.startswith(f"{base_url}/invitations/"), link
    return link


def test_admin_prescriber_and_patient_get_started(page, phone_page, live_server, factory):
    """Admin registers a prescriber; prescriber activates and enrolls a patient; patient
    activates on a phone and sees the program card."""
    admin = factory.user("admin", name="Ada Admin")
    today = program_today(live_server.app)
    base = live_server.url

    # The administrator registers a prescriber and copies the activation link.
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
    expect(page.get_by_role("heading", level=1)).to_contain_text("Prescriber Dana Derm registered")
    snapshot(page, "02-prescriber-link")
    prescriber_link = _activation_link(page, base)

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
    headline = page.get_by_role("heading", level=1)
    expect(headline).to_contain_text("is enrolled with patient ID")
    patient_id = re.search(r"patient ID (\S+)\.", headline.inner_text()).group(1)
    snapshot(page, "07-patient-link")
    patient_link = _activation_link(page, base)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My patients").click()
    expect(page.get_by_role("row", name=re.compile("Rivera, Robin"))).to_contain_text(patient_id)
    snapshot(page, "08-prescriber-patients")

    # The patient, on a phone, activates the account and sees the program card.
    _activate(phone_page, patient_link, PATIENT_PASSWORD, "09-patient")
    sign_in(phone_page, base, "robin.rivera@example.com", PATIENT_PASSWORD)
    card = phone_page.locator("section", has=phone_page.get_by_role(
        "heading", name="Your program card"))
    expect(card).to_contain_text(patient_id)
    expect(card).to_contain_text("Dana Derm, Riverside Dermatology")
    expect(card).to_contain_text("March 15, 2004")
    snapshot(phone_page, "10-patient-card")
    assert_accessible(phone_page, "patient program card after activation")
