"""Can a new patient walk the whole pre-treatment and first month in a real browser?

A certified prescriber registers the patient and hands over the invitation link; the
patient, on a phone, activates the account and signs the enrollment; the prescriber records
the counseling, the two methods and the two pregnancy tests (can get pregnant) and signs the
month; the patient answers the questions (one wrong try first) and confirms the methods. In
the end the worklist, the patient page and the patient's home all say the course is ready
for the pharmacy, and until when. Each journey runs for both categories under both rule
versions: 2021 (the 2026 go-live date set in the future) and 2026 (set in the past).

A last journey shows refusals in plain words: the month confirmed before the confirmation
test exists, and a patient who confirms a method the prescriber did not enter.

The clock is real (see tests/browser/conftest.py): every date is relative to today in
America/New_York. A screenshot is kept at every step, and each kind of page is scanned.
"""

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from compliance import create_app
from compliance.db import get_engine
from compliance.models import PrescriberProfile, User
from compliance.services import courses, methods, monthly, question_banks
from tests.browser.conftest import (
    assert_accessible,
    certify_from_today,
    program_today,
    sign_in,
    sign_in_quickly,
    snapshot,
    urlpath,
)
from tests.conftest import PASSWORD, TEMPLATE_BYTECODE

PATIENT_PASSWORD = "blue kettle singing on the stove"
EASTERN_TODAY = datetime.now(ZoneInfo("America/New_York")).date()
# The go-live date of rule version 2026 that puts each version in force today.
GO_LIVE_2026 = {
    "2021": EASTERN_TODAY + timedelta(days=365),
    "2026": min(date(2026, 8, 8), EASTERN_TODAY - timedelta(days=1)),
}
QUESTIONS = {q["id"]: q for q in question_banks.DEFAULT_IPLEDGE_QUESTIONS}
METHODS = ("Combined oral pill", "Male latex condom")
LABORATORY = "Hudson Valley Labs, CLIA 33D1234567"


# --- an app per rule version ------------------------------------------------------------


@pytest.fixture
def rule_version() -> str:
    """The rule version in force; journeys parametrize it, the rest run under 2026."""
    return "2026"


@pytest.fixture
def app(database_url, rule_version, tmp_path):
    """tests/conftest.py's app, with the 2026 go-live date that puts `rule_version` in
    force today (the app reads it only at creation). `factory`, `db` and `live_server`
    take this app, so they share its database."""
    application = create_app({
        "ENV_NAME": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "SERVER_NAME": "localhost",
        "IPLEDGE_2026_EFFECTIVE": GO_LIVE_2026[rule_version],
        "AUDIT_ANCHOR": str(tmp_path / "audit-anchor.jsonl"),
    })
    application.jinja_env.bytecode_cache = TEMPLATE_BYTECODE
    yield application
    get_engine(application).dispose()


@pytest.fixture
def prescriber(app, db, factory) -> User:
    """A certified prescriber (password PASSWORD) and an active question bank."""
    profile = factory.prescriber(name="Dana Derm")
    certify_from_today(db, profile, program_today(app))
    now = datetime.now(UTC)
    with app.test_request_context():
        bank = question_banks.create_version(
            db, program="ipledge", category="can_get_pregnant", now=now,
            questions=question_banks.DEFAULT_IPLEDGE_QUESTIONS)
        question_banks.activate(db, bank=bank, now=now)
    return db.get(User, profile.user_id)


# --- steps ------------------------------------------------------------------------------


def _day(day: date, today: date) -> str:
    """ "Dec 3" as the prescriber's pages write it (with the year when not this year's)."""
    text = f"{day:%b} {day.day}"
    return text if day.year == today.year else f"{text}, {day.year}"


def _register_patient(page: Page, mailbox, category: str, email: str) -> str:
    """The prescriber registers a patient (weight included); returns the activation link
    from the email the patient receives."""
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Register a patient").click()
    page.get_by_label("Given name").fill("Robin")
    page.get_by_label("Family name").fill("Rivera")
    page.get_by_label("Date of birth").fill("2003-05-17")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Phone").fill("518-555-0142")
    page.get_by_label("Weight (kg)").fill("62.5")
    page.get_by_label("Category", exact=True).select_option(category)
    page.get_by_label("Reason for the category").fill(
        "Reproductive potential." if category == "can_get_pregnant" else "Post-menopausal.")
    snapshot(page, "02-prescriber-registers-patient")
    with page.expect_navigation():
        page.get_by_role("button", name="Register").click()
    expect(page.locator(".flashes")).to_contain_text("is enrolled with patient ID")
    expect(page.locator(".flashes")).to_contain_text(f"An activation link was emailed to {email}")
    snapshot(page, "03-invitation-emailed")
    link = mailbox.link_for(email)
    assert link.startswith(f"{mailbox.app.config['PUBLIC_URL']}/invitations/"), link
    assert link not in page.content()
    return link


def _activate_and_sign_in(phone: Page, link: str, email: str, born: str = "2003-05-17") -> None:
    phone.goto(link)
    phone.get_by_label("Your date of birth").fill(born)
    snapshot(phone, "04-patient-sets-password")
    phone.get_by_label("New password").fill(PATIENT_PASSWORD)
    phone.get_by_label("Repeat the password").fill(PATIENT_PASSWORD)
    with phone.expect_navigation():
        phone.get_by_role("button", name="Set password").click()
    expect(phone.locator(".flashes")).to_contain_text("Your password is set")
    assert urlpath(phone.url) == "/login", phone.url  # signs in on the page it lands on
    phone.get_by_label("Email").fill(email)
    phone.get_by_label("Password").fill(PATIENT_PASSWORD)
    with phone.expect_navigation():
        phone.get_by_role("button", name="Sign in", exact=True).click()
    assert urlpath(phone.url) == "/patient/", phone.url


def _sign_enrollment(phone: Page) -> None:
    phone.get_by_role("link", name="Sign your enrollment").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your enrollment")
    snapshot(phone, "06-enrollment-form")
    phone.get_by_label("I understand and agree").check()
    phone.get_by_label("Password").fill(PATIENT_PASSWORD)
    with phone.expect_navigation():
        phone.get_by_role("button", name="Sign my enrollment").click()
    expect(phone.locator(".flashes")).to_contain_text("Your enrollment is signed.")
    expect(phone.get_by_role("heading", name="Signed")).to_be_visible()
    snapshot(phone, "07-enrollment-signed")


def _submit(page: Page, form: Locator, button: str, flash: str) -> None:
    with page.expect_navigation():
        form.get_by_role("button", name=button).click()
    problems = page.locator(".form-errors, .field-error").all_inner_texts()
    assert not problems, f"'{button}' refused: {' / '.join(problems)}"
    expect(page.locator(".flashes")).to_contain_text(flash)


def _opened(page: Page, summary: str) -> Locator:
    """The <details> whose summary is `summary`, opened by a click."""
    details = page.locator("details", has=page.locator("summary", has_text=summary))
    details.locator("summary").click()
    return details


def _record_counseling(page: Page, today: date) -> None:
    section = page.locator("#enrollment")
    section.get_by_label("Counseled on").fill(today.isoformat())
    _submit(page, section, "Record the counseling", "Counseling recorded.")


def _add_method(page: Page, label: str, since: date) -> None:
    form = _opened(page, "Add a method")
    form.get_by_label("Method").select_option(label=label)
    form.get_by_label("Used since").fill(since.isoformat())
    _submit(page, form, "Add the method", "Method recorded.")


def _enter_test(page: Page, kind: str, specimen_on: date, setting: str) -> None:
    form = _opened(page, "Enter a test result")
    form.get_by_label("Kind of test").select_option(label=kind)
    form.get_by_label("Specimen collected on").fill(specimen_on.isoformat())
    form.get_by_label("Result").select_option(label="Negative")
    form.get_by_label("Where the specimen was taken").select_option(label=setting)
    if setting == "Laboratory":
        form.get_by_label("Laboratory (name, CLIA number)").fill(LABORATORY)
    _submit(page, form, "Save the result", "Test result saved.")


def _confirm_month(page: Page, *, accepted: bool = True) -> None:
    section = page.locator("#confirmation")
    section.get_by_label("Your password").fill(PASSWORD)
    if accepted:
        _submit(page, section, "Sign this month's confirmation",
                "This month is confirmed and signed.")
        expect(section).to_contain_text("Month 1 confirmed. Signed by Dana Derm")
    else:
        with page.expect_navigation():
            section.get_by_role("button", name="Sign this month's confirmation").click()


def _question(phone: Page, question_id: str) -> Locator:
    text = QUESTIONS[question_id]["text"]
    return phone.get_by_role("group", name=re.compile(re.escape(text)))


def _choose(phone: Page, question_id: str, choice_id: str) -> None:
    question = QUESTIONS[question_id]
    label = next(c["text"] for c in question["choices"] if c["id"] == choice_id)
    _question(phone, question_id).get_by_label(label, exact=True).check()


BY_TEXT = {q["text"]: q for q in question_banks.DEFAULT_IPLEDGE_QUESTIONS}


def _shown(phone: Page) -> list[dict]:
    """The month's questions as the page shows them (drawn from the bank, in its order)."""
    legends = phone.locator("fieldset.question legend").all_inner_texts()
    return [BY_TEXT[re.sub(r"^\d+\.\s*", "", legend).strip()] for legend in legends]


def _answer_questions(phone: Page, *, wrong_first: bool = False) -> dict | None:
    """Answer every shown question right, the first one wrongly if asked; returns the
    question answered wrongly."""
    shown = _shown(phone)
    assert len(shown) == 5, shown
    for number, question in enumerate(shown):
        choice = question["answer"]
        if wrong_first and number == 0:
            choice = next(c["id"] for c in question["choices"] if c["id"] != choice)
        _choose(phone, question["id"], choice)
    with phone.expect_navigation():
        phone.get_by_role("button", name="Check my answers").click()
    return shown[0] if wrong_first else None


def _attest(phone: Page, methods: tuple[str, ...]) -> None:
    _attest_with(phone, methods, PATIENT_PASSWORD)


def _attest_with(phone: Page, methods: tuple[str, ...], password: str) -> None:
    group = phone.get_by_role("group", name="The two birth control methods you use now")
    ticked = group.get_by_role("checkbox", checked=True)  # kept from a refused try
    while ticked.count():
        ticked.first.uncheck()
    for method in methods:
        group.get_by_label(method, exact=True).check()
    phone.locator("form.attestation").get_by_label("Password").fill(password)
    with phone.expect_navigation():
        phone.get_by_role("button", name="Sign for this month").click()


def _worklist_row(page: Page) -> Locator:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My patients").click()
    return page.get_by_role("row", name=re.compile("Rivera, Robin"))


def _open_patient_from_worklist(page: Page) -> None:
    row = _worklist_row(page)
    expect(row).to_contain_text("Record the counseling")
    row.get_by_role("link", name="Rivera, Robin").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Robin Rivera")


# --- the journeys -----------------------------------------------------------------------


@pytest.mark.parametrize(("category", "rule_version"), [
    ("can_get_pregnant", "2021"),
    ("can_get_pregnant", "2026"),
    ("cannot_get_pregnant", "2021"),
    ("cannot_get_pregnant", "2026"),
])
def test_new_patient_walks_pre_treatment_and_first_month(
        page, phone_page, live_server, mailbox, prescriber, category, rule_version):
    """Registration to "ready for the pharmacy", every step through the pages."""
    base, today = live_server.url, program_today(live_server.app)
    can_get_pregnant = category == "can_get_pregnant"
    email = f"robin.{category}.{rule_version}@example.com"

    # The prescriber signs in and registers the patient, who receives the link by email.
    sign_in(page, base, prescriber.email, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("My patients")
    snapshot(page, "01-prescriber-worklist")
    link = _register_patient(page, mailbox, category, email)

    # The patient activates the account on a phone, signs in and signs the enrollment.
    _activate_and_sign_in(phone_page, link, email)
    todo = phone_page.locator("section.todo")
    expect(todo).to_contain_text("Sign your enrollment")
    expect(todo).to_contain_text("Waiting for your prescriber to record your counseling")
    snapshot(phone_page, "05-patient-home")
    _sign_enrollment(phone_page)
    assert_accessible(phone_page, "enrollment (signed)")

    # The prescriber opens the patient from the worklist and records the counseling.
    _open_patient_from_worklist(page)
    expect(page.locator(".facts").first).to_contain_text("62.5 kg")
    expect(page.locator("#enrollment")).to_contain_text("Signed by Robin Rivera")
    snapshot(page, "08-patient-page")
    _record_counseling(page, today)
    snapshot(page, "09-counseling-recorded")

    confirmation = page.locator("#confirmation")
    window_of_30_days = not can_get_pregnant and rule_version == "2021"
    if can_get_pregnant:
        _add_method(page, METHODS[0], today - timedelta(days=40))
        _add_method(page, METHODS[1], today - timedelta(days=40))
        methods = page.get_by_role("table", name="Methods recorded for this course")
        for method in METHODS:
            expect(methods.get_by_role("row", name=re.compile(method))).to_contain_text("in use")
        snapshot(page, "10-two-methods")
        _enter_test(page, "Screening", today - timedelta(days=20), "Office")
        snapshot(page, "11-screening-test")
        setting = "Laboratory" if rule_version == "2021" else "Office"
        _enter_test(page, "Confirmation", today, setting)
        tests = page.get_by_role("table", name="Pregnancy tests of this course")
        expect(tests.get_by_role("row")).to_have_count(3)  # the header and two tests
        expect(tests.get_by_role("row", name=re.compile("confirmation"))).to_contain_text(
            setting.lower())
        snapshot(page, "12-confirmation-test")

    if can_get_pregnant or rule_version == "2021":
        expect(page.locator("#next-heading")).to_have_text("Next action: Confirm this month")
        _confirm_month(page)
        snapshot(page, "13-month-confirmed")
    else:  # 2026: counseling at enrollment only, no monthly confirmation
        expect(confirmation).to_contain_text(
            "No monthly confirmation is needed for this category under version 2026.")
        expect(confirmation.get_by_label("Your password")).to_have_count(0)
        snapshot(page, "13-no-monthly-confirmation")
    assert_accessible(page, "patient page")

    # The patient answers the questions, once with a wrong answer, then confirms the methods.
    phone_page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="This month").click()
    if can_get_pregnant:
        expect(phone_page.locator(".deadline")).to_contain_text("11:59 pm Eastern")
        snapshot(phone_page, "14-month-questions")
        missed = _answer_questions(phone_page, wrong_first=True)
        wrong = phone_page.locator(".quiz-wrong")
        expect(wrong).to_contain_text("Not quite: 1 answer is not right.")
        expect(wrong).to_contain_text(missed["explanation"])
        kept = next(c["text"] for c in missed["choices"] if c["id"] != missed["answer"])
        expect(_question(phone_page, missed["id"]).get_by_label(kept, exact=True)
               ).to_be_checked()  # the answers are kept for the retry
        snapshot(phone_page, "15-one-wrong-answer")
        assert_accessible(phone_page, "month page after a wrong answer")
        _answer_questions(phone_page)  # the retry: all answers right
        expect(phone_page.locator(".flashes")).to_contain_text("All your answers are right.")
        expect(phone_page.get_by_role("heading", name="Step 2 of 2: your birth control")
               ).to_be_visible()
        snapshot(phone_page, "16-methods-to-confirm")
        _attest(phone_page, METHODS)
        expect(phone_page.locator(".flashes")).to_contain_text("this month is signed")
        expect(phone_page.locator(".done")).to_contain_text("Nothing more to do this month.")
        snapshot(phone_page, "17-month-signed")
    else:
        expect(phone_page.locator("main")).to_contain_text(
            "You have nothing to answer each month.")
        snapshot(phone_page, "14-month-nothing-to-answer")
        assert_accessible(phone_page, "month page")

    # The worklist, the patient page and the patient's home agree: ready for the pharmacy,
    # until day 7 of the confirmation test (can get pregnant), day 30 of the prescriber's
    # confirmation (2021, cannot get pregnant) or 7 days from an RMA issued today (2026).
    closes = today + timedelta(days=29 if window_of_30_days else 6)
    row = _worklist_row(page)
    expect(row).to_contain_text(f"Window closes {_day(closes, today)}")
    expect(row.get_by_role("cell").nth(2)).to_have_text("pharmacy")  # who acts
    snapshot(page, "18-worklist-ready")
    assert_accessible(page, "worklist")
    row.get_by_role("link", name="Rivera, Robin").click()
    next_step = page.locator("section.next-step")
    expect(next_step.get_by_role("heading", level=2)).to_have_text(
        f"Next action: Window closes {_day(closes, today)}")
    expect(next_step).to_contain_text("Ready for the pharmacy")
    expect(next_step.locator(".window-closes")).to_have_text(
        f"The dispensing window closes {_day(closes, today)}, 11:59 pm Eastern.")
    expect(next_step.locator("#findings")).to_have_count(0)
    expect(next_step).to_contain_text(f"Rules: iPLEDGE REMS (isotretinoin) version {rule_version}.")
    if can_get_pregnant:
        expect(confirmation).to_contain_text("The patient answered on")
    confirmation_text = confirmation.inner_text()
    snapshot(page, "19-patient-page-ready")

    phone_page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="My program").click()
    todo = phone_page.locator("section.todo")
    expect(todo).to_contain_text(
        f"Your pharmacy must fill by {closes:%b} {closes.day}, 11:59 pm Eastern")
    if can_get_pregnant:
        expect(todo).to_contain_text("You answered this month's questions on")
    expect(todo).not_to_contain_text("Sign your enrollment")
    expect(todo).not_to_contain_text("Waiting for your prescriber")
    snapshot(phone_page, "20-patient-home-ready")
    assert_accessible(phone_page, "patient home")

    # Nothing waits on a patient who never answers monthly.
    if not can_get_pregnant:
        assert "Waiting for the patient's answers" not in confirmation_text


@pytest.fixture
def halfway(app, db, factory, prescriber):
    """A can-get-pregnant patient (password PASSWORD) enrolled two days ago, signed,
    counseled, on two methods for 40 days, with a screening test 20 days old: everything
    before the confirmation test (set up through the services; the journeys above walk it
    in the browser)."""
    today, now = program_today(app), datetime.now(UTC)
    profile = db.scalar(select(PrescriberProfile).where(
        PrescriberProfile.user_id == prescriber.id))
    patient = factory.patient(profile, email="casey.refused@example.com")
    with app.test_request_context():
        course = courses.course_of(db, patient)
        course.enrolled_at = now - timedelta(days=2)
        monthly.sign_enrollment(db, course=course, patient_user=db.get(User, patient.user_id),
                                password=PASSWORD, now=now)
        courses.record_counseling(db, course=course, counseled_on=today, today=today, now=now)
        for method in ("combined_oral_pill", "male_latex_condom"):
            methods.add_method(db, course=course, today=today, entered_by=prescriber.id,
                               now=now, data={"method": method,
                                              "started_on": today - timedelta(days=40)})
        courses.record_test(db, course=course, today=today, entered_by=prescriber.id, now=now,
                            data={"kind": "screening", "result": "negative",
                                  "specimen_on": today - timedelta(days=20),
                                  "setting": "office"})
    return patient


def test_refusals_say_what_is_missing_and_who_acts(page, phone_page, live_server, prescriber,
                                                   halfway):
    """The month confirmed before the confirmation test, and a patient confirming a method
    the prescriber did not enter: each is refused in plain words, then put right."""
    base, today = live_server.url, program_today(live_server.app)
    sign_in_quickly(page, base, prescriber.email, PASSWORD)
    page.goto(live_server(f"/prescriber/patients/{halfway.id}"))
    snapshot(page, "01-no-confirmation-test-yet")

    # Signing the month before the confirmation test: refused, with who must act.
    _confirm_month(page, accepted=False)
    confirmation = page.locator("#confirmation")
    missing = "No negative confirmation pregnancy test is on file for this fill."
    expect(confirmation.locator(".form-errors")).to_have_text(missing)
    expect(confirmation).not_to_contain_text("Month 1 confirmed")
    findings = page.locator("#findings").get_by_role("listitem")
    expect(findings.filter(has_text=missing)).to_contain_text(
        "Who must act: you (the prescriber).")
    expect(findings.filter(has_text="The patient has not answered this month's questions.")
           ).to_contain_text("Who must act: the patient.")
    snapshot(page, "02-confirmation-refused")
    assert_accessible(page, "patient page with a refused confirmation")

    # Once the confirmation test is in, the same signature is accepted.
    _enter_test(page, "Confirmation", today, "Office")
    _confirm_month(page)
    snapshot(page, "03-month-confirmed")

    # The patient answers right, then ticks a method the prescriber did not enter.
    sign_in_quickly(phone_page, base, "casey.refused@example.com", PASSWORD)
    phone_page.goto(live_server("/patient/month"))
    _answer_questions(phone_page)
    _attest_with(phone_page, ("Combined oral pill", "Diaphragm with spermicide"), PASSWORD)
    expect(phone_page.locator("#methods-error")).to_have_text(
        "You chose Diaphragm with spermicide, which does not match what your prescriber "
        "entered. You left out a method your prescriber entered. Choose the methods you use "
        "now. If your choices are right, ask your prescriber to correct their entry.")
    expect(phone_page.locator(".flashes")).to_have_count(0)
    snapshot(phone_page, "04-methods-refused")
    assert_accessible(phone_page, "month page with refused methods")

    # Choosing what the prescriber entered signs the month.
    _attest_with(phone_page, METHODS, PASSWORD)
    expect(phone_page.locator(".flashes")).to_contain_text("this month is signed")
    snapshot(phone_page, "05-month-signed")
