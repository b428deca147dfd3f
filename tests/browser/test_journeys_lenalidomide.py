"""Can a lenalidomide-class patient get a first and a second fill in a real browser?

A certified prescriber registers the patient under the lenalidomide-class program (its six
categories offered next to iPLEDGE's); the patient, on a phone, activates the account and
signs the enrollment; the prescriber records the counseling, two methods started 40 days
ago, a screening test 12 days ago and a confirmation test today (inside the definition's 10
to 14 days and 24 hours before the first prescription), and signs the month; the patient
answers the questions and signs (the program does not ask the patient to confirm methods);
the pharmacist finds the patient, gets an RMA for 28 days and records the fill.

The clock is real (see tests/browser/conftest.py), so the second fill cannot wait 21 days:
its journey starts from a first fill made through the services 21 days ago (first
prescription then, weekly tests 14 and 7 days ago), and walks today's weekly test, the
month's signatures and the second RMA in the browser. Without the weekly tests, the
prescriber's signature on today's test is refused for the testing schedule, and the pharmacy
is refused the second RMA with a reason that says only that the prescriber must act.
"""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from compliance.models import (
    Course,
    PatientProfile,
    Pharmacy,
    PregnancyTest,
    PrescriberProfile,
    Rma,
    User,
)
from compliance.programs import program
from compliance.services import (
    courses,
    methods,
    monthly,
    patients,
    question_banks,
    rma,
    rma_requests,
)
from tests import conftest
from tests.browser.conftest import (
    DESKTOP,
    _open_page,
    program_today,
    sign_in,
    sign_in_quickly,
    snapshot,
    urlpath,
)
from tests.browser.test_journeys_course import (
    PATIENT_PASSWORD,
    _activate_and_sign_in,
    _add_method,
    _answer_questions,
    _enter_test,
    _open_patient_from_worklist,
    _record_counseling,
    _sign_enrollment,
    _submit,
)
from tests.conftest import PASSWORD

PROGRAM, CATEGORY = "lenalidomide", "adult_can_get_pregnant"
CATEGORIES = ("adult_can_get_pregnant", "child_can_get_pregnant",
              "adult_female_cannot_get_pregnant", "child_female_cannot_get_pregnant",
              "adult_male", "child_male")
METHODS = {"intrauterine_device": "Intrauterine device",
           "male_latex_condom": "Male latex condom"}
DOB = "2003-05-17"
NDC, STRENGTH_MG, UNITS = "59572-0410-28", "10", "28"
PROGRAM_MINIMUM_MIU = 50
CLINICAL_WORDS = ("positive", "negative", "test of", "miu")


# --- the cast ---------------------------------------------------------------------------


def _certify(db, row, today: date) -> None:
    """Certification in force from 90 days ago, so that a month built 35 days back counts."""
    row.certification_status = "certified"
    row.certified_on = today - timedelta(days=90)
    row.certification_expires_on = today + timedelta(days=275)
    db.add(row)
    db.commit()


@pytest.fixture
def prescriber(app, db, factory) -> User:
    """A certified prescriber (password PASSWORD) and an active lenalidomide question bank
    for adults who can get pregnant."""
    profile = factory.prescriber(name="Dana Derm")
    today = program_today(app)
    _certify(db, profile, today)
    since = datetime.now(UTC) - timedelta(days=90)
    with app.test_request_context():
        bank = question_banks.create_version(
            db, program=PROGRAM, category=CATEGORY, now=since,
            questions=question_banks.DEFAULT_IPLEDGE_QUESTIONS)
        question_banks.activate(db, bank=bank, now=since)
    return db.get(User, profile.user_id)


def _npi_of(db, user: User) -> str:
    return db.scalar(select(PrescriberProfile.npi).where(PrescriberProfile.user_id == user.id))


@pytest.fixture
def pharmacist(app, db, factory) -> User:
    """The responsible pharmacist (password PASSWORD) of a certified pharmacy."""
    site, today = factory.pharmacy(), program_today(app)
    site.staff_trained_on = today - timedelta(days=90)
    _certify(db, site, today)
    lead = factory.pharmacist(site, name="Lee Lead")
    site.responsible_pharmacist_id = lead.id
    db.add(site)
    db.commit()
    return lead


@pytest.fixture
def counter_page(browser, live_server) -> Page:
    """The pharmacy's desktop, in a context of its own."""
    context, tab = _open_page(browser, viewport=DESKTOP)
    yield tab
    context.close()


# --- a first month through the services, dated in the past -----------------------------


class Past:
    """Instants `days` ago at the wall-clock time of now in the program's zone, so that each
    instant falls on the program day it is meant for."""

    def __init__(self, app):
        with app.app_context():
            self.zone = program(PROGRAM).zone
        self.now = datetime.now(UTC).astimezone(self.zone)
        self.today = self.now.date()

    def at(self, days_ago: int) -> datetime:
        day = self.today - timedelta(days=days_ago)
        return datetime.combine(day, self.now.timetz().replace(tzinfo=None),
                                tzinfo=self.zone).astimezone(UTC)

    def day(self, days_ago: int) -> date:
        return self.today - timedelta(days=days_ago)


def _first_fill_21_days_ago(app, db, prescriber: User, pharmacist: User, *,
                            weekly_tests: bool) -> PatientProfile:
    """Registered 35 days ago, methods since 61 days ago, screening 33 days ago, the first
    prescription (confirmation test, both signatures, RMA and a 28-day fill) 21 days ago,
    and, with `weekly_tests`, the weekly tests 14 and 7 days ago."""
    past = Past(app)
    profile = db.scalar(select(PrescriberProfile).where(
        PrescriberProfile.user_id == prescriber.id))
    site = db.scalar(select(Pharmacy).where(Pharmacy.responsible_pharmacist_id == pharmacist.id))
    with app.test_request_context():
        patient, _ = patients.register_patient(
            db, prescriber=profile, now=past.at(35), today=past.day(35), invitation_days=7,
            data={"given_name": "Robin", "family_name": "Rivera", "date_of_birth": DOB,
                  "email": "robin.second@example.com", "weight_kg": 62.5,
                  "program": PROGRAM, "category": CATEGORY,
                  "category_reason": "Reproductive potential."})
        user = db.get(User, patient.user_id)
        user.password_hash = conftest.PASSWORD_HASH
        db.commit()
        course = db.scalar(select(Course).where(Course.patient_id == patient.id))

        def test(days_ago: int, kind: str) -> None:
            courses.record_test(db, course=course, entered_by=prescriber.id,
                                now=past.at(days_ago), today=past.day(days_ago),
                                data={"kind": kind, "specimen_on": past.day(days_ago),
                                      "result": "negative", "setting": "office"})

        monthly.sign_enrollment(db, course=course, patient_user=user, password=PASSWORD,
                                now=past.at(35))
        courses.record_counseling(db, course=course, counseled_on=past.day(35),
                                  today=past.day(35), now=past.at(35))
        for method in METHODS:
            methods.add_method(db, course=course, today=past.day(35), entered_by=prescriber.id,
                               now=past.at(35),
                               data={"method": method, "started_on": past.day(61)})
        test(33, "screening")
        test(21, "confirmation")
        monthly.confirm_month(db, course=course, prescriber_user=prescriber,
                              password=PASSWORD, now=past.at(21))
        bank = question_banks.active_bank(db, program=PROGRAM, category=CATEGORY)
        monthly.answer_quiz(db, course=course, now=past.at(21),
                            answers={q["id"]: q["answer"] for q in bank.questions})
        monthly.attest(db, course=course, patient_user=user, methods=[], password=PASSWORD,
                       now=past.at(21))
        decided = rma_requests.request_rma(db, pharmacy=site, now=past.at(21), data={
            "patient_id": patient.program_patient_id, "patient_date_of_birth": DOB,
            "prescriber_npi": profile.npi, "ndc": NDC, "strength_mg": 10,
            "quantity": 28, "days_supply": 28})
        assert decided.decision == "authorized", decided.reasons
        rma.record_dispense(db, pharmacy=site, now=past.at(21), data={
            "rma_number": decided.rma.rma_number, "quantity": 28, "days_supply": 28,
            "dispensed_on": past.day(21).isoformat(), "medication_guide_given": True})
        if weekly_tests:
            test(14, "monthly")
            test(7, "monthly")
    return patient


@pytest.fixture
def second_fill_due(app, db, prescriber, pharmacist) -> PatientProfile:
    return _first_fill_21_days_ago(app, db, prescriber, pharmacist, weekly_tests=True)


@pytest.fixture
def weekly_tests_missed(app, db, prescriber, pharmacist) -> PatientProfile:
    return _first_fill_21_days_ago(app, db, prescriber, pharmacist, weekly_tests=False)


# --- steps ------------------------------------------------------------------------------


def _options(select_box) -> dict[str, str]:
    """{value: label} of a <select>'s options."""
    return dict(select_box.locator("option").evaluate_all(
        "options => options.map(o => [o.value, o.textContent.trim()])"))


def _register_lenalidomide_patient(page: Page, mailbox, email: str) -> str:
    """The prescriber registers the patient under the lenalidomide-class program; returns
    the activation link."""
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Register a patient").click()
    programs = _options(page.get_by_label("Program", exact=True))
    assert set(programs) == {"ipledge", "lenalidomide"}, programs
    assert programs["lenalidomide"] == "Lenalidomide-class REMS", programs
    assert programs["ipledge"] == "iPLEDGE REMS (isotretinoin)", programs
    categories = _options(page.get_by_label("Category", exact=True))
    for code in CATEGORIES:
        assert categories.get(code, "").startswith("Lenalidomide-class REMS: "), \
            (code, categories)
    offered = [c for c, label in categories.items() if label.startswith("Lenalidomide-class")]
    assert sorted(offered) == sorted(CATEGORIES), categories
    assert categories["adult_can_get_pregnant"] == \
        "Lenalidomide-class REMS: Adult who can get pregnant"
    assert categories.get("can_get_pregnant", "").startswith("iPLEDGE REMS (isotretinoin): ")
    page.get_by_label("Given name").fill("Robin")
    page.get_by_label("Family name").fill("Rivera")
    page.get_by_label("Date of birth").fill(DOB)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Phone").fill("518-555-0142")
    page.get_by_label("Weight (kg)").fill("62.5")
    page.get_by_label("Program", exact=True).select_option("lenalidomide")
    page.get_by_label("Category", exact=True).select_option(CATEGORY)
    page.get_by_label("Reason for the category").fill("Reproductive potential.")
    snapshot(page, "02-prescriber-registers-patient")
    with page.expect_navigation():
        page.get_by_role("button", name="Register").click()
    problems = page.locator(".form-errors, .field-error").all_inner_texts()
    assert not problems, f"registration refused: {' / '.join(problems)}"
    expect(page.locator(".flashes")).to_contain_text("is enrolled with patient ID")
    snapshot(page, "03-invitation-emailed")
    return mailbox.link_for(email)


def _confirm_month(page: Page, number: int) -> None:
    section = page.locator("#confirmation")
    section.get_by_label("Your password").fill(PASSWORD)
    _submit(page, section, "Sign this month's confirmation",
            "This month is confirmed and signed.")
    expect(section).to_contain_text(f"Month {number} confirmed. Signed by Dana Derm")


def _answer_and_sign(phone: Page, password: str, step: int) -> None:
    """The month's questions, then the signature alone: no methods to confirm."""
    phone.get_by_role("navigation", name="Main").get_by_role(
        "link", name="This month").click()
    snapshot(phone, f"{step:02}-month-questions")
    _answer_questions(phone)
    expect(phone.locator(".flashes")).to_contain_text(
        "All your answers are right. Now sign for this month.")
    form = phone.locator("form.attestation")
    expect(form.locator(".meaning")).not_to_contain_text("contraception methods")
    expect(form.get_by_role("heading", level=2)).to_have_text("Step 2 of 2: your signature")
    expect(form.locator("fieldset")).to_have_count(0)
    expect(form.get_by_role("checkbox")).to_have_count(0)
    expect(phone.get_by_role("group", name="The two birth control methods you use now")
           ).to_have_count(0)
    snapshot(phone, f"{step + 1:02}-month-signature-only")
    form.get_by_label("Password").fill(password)
    with phone.expect_navigation():
        form.get_by_role("button", name="Sign for this month").click()
    problems = phone.locator(".form-errors, .field-error").all_inner_texts()
    assert not problems, f"the patient's signature refused: {' / '.join(problems)}"
    expect(phone.locator(".flashes")).to_contain_text("this month is signed")
    expect(phone.locator(".done")).to_contain_text("Nothing more to do this month.")
    snapshot(phone, f"{step + 2:02}-month-signed")


def _find_patient(counter: Page, patient_id: str) -> None:
    counter.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Find a patient").click()
    counter.get_by_label("Program patient ID").fill(patient_id)
    counter.get_by_label("Date of birth").fill(DOB)
    with counter.expect_navigation():
        counter.get_by_role("button", name="Find the patient").click()
    expect(counter.get_by_role("heading", level=1)).to_have_text("Robin Rivera")
    expect(counter.locator("#patient-program-id")).to_have_text(patient_id)


def _ask_for_rma(counter: Page, npi: str) -> None:
    counter.get_by_label("Prescriber NPI").fill(npi)
    counter.get_by_label("NDC").fill(NDC)
    counter.get_by_label("Strength (mg)").fill(STRENGTH_MG)
    counter.get_by_label("Quantity (capsules)").fill(UNITS)
    counter.get_by_label("Days' supply").fill(UNITS)
    with counter.expect_navigation():
        counter.get_by_role("button", name="Ask for the RMA").click()
    problems = counter.locator(".form-errors, .field-error").all_inner_texts()
    assert not problems, f"the request was not taken: {' / '.join(problems)}"
    assert urlpath(counter.url).startswith("/pharmacist/rma-requests/"), counter.url


def _rma_issued(counter: Page) -> str:
    expect(counter.locator(".flashes")).to_contain_text("RMA issued.")
    expect(counter.get_by_role("heading", level=1)).to_have_text("RMA issued")
    expect(counter.locator(".decision")).to_contain_text(
        f"{UNITS} units, {UNITS} days, NDC {NDC}, {STRENGTH_MG} mg")
    return counter.locator("#rma-number").inner_text()


def _record_dispense(counter: Page, today: date, number: str, step: int) -> None:
    counter.get_by_role("link", name="Record the dispense or reverse").click()
    form = counter.locator("form", has=counter.get_by_role("button", name="Record the dispense"))
    expect(form.get_by_label("RMA number")).to_have_value(number)
    expect(form.get_by_label("Quantity dispensed")).to_have_value(UNITS)
    expect(form.get_by_label("Days' supply")).to_have_value(UNITS)
    expect(form.get_by_label("Dispensed on")).to_have_value(today.isoformat())
    snapshot(counter, f"{step:02}-rma-page")
    form.get_by_label("The Medication Guide was given to the patient with this fill").check()
    _submit(counter, form, "Record the dispense", f"Dispense recorded under RMA {number}.")
    expect(counter.locator("#rma-status")).to_have_text("dispensed")


def _patient_id(db, email: str) -> str:
    return db.scalar(select(PatientProfile.program_patient_id).join(
        User, User.id == PatientProfile.user_id).where(User.email == email))


# --- the journeys -----------------------------------------------------------------------


def test_new_lenalidomide_patient_walks_to_a_first_fill(
        page, phone_page, counter_page, live_server, mailbox, db, prescriber, pharmacist):
    """Registration to the first dispense, every step through the pages."""
    base, today = live_server.url, program_today(live_server.app)
    email = "robin.lenalidomide@example.com"

    # The prescriber registers the patient under the lenalidomide-class program.
    sign_in(page, base, prescriber.email, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("My patients")
    snapshot(page, "01-prescriber-worklist")
    link = _register_lenalidomide_patient(page, mailbox, email)
    patient = db.scalar(select(PatientProfile).join(User, User.id == PatientProfile.user_id)
                        .where(User.email == email))
    assert (patient.program, patient.category) == (PROGRAM, CATEGORY)

    # The patient activates the account on a phone and signs the enrollment.
    _activate_and_sign_in(phone_page, link, email, DOB)
    _sign_enrollment(phone_page)

    # The prescriber: counseling, two methods for 40 days, the two tests, the month.
    _open_patient_from_worklist(page)
    expect(page.locator("section.next-step")).to_contain_text(
        "Rules: Lenalidomide-class REMS version 2023.")
    snapshot(page, "08-patient-page")
    _record_counseling(page, today)
    for label in METHODS.values():
        _add_method(page, label, today - timedelta(days=40))
    methods = page.get_by_role("table", name="Methods recorded for this course")
    for label in METHODS.values():
        expect(methods.get_by_role("row", name=re.compile(label))).to_contain_text("in use")
    _enter_test(page, "Screening", today - timedelta(days=12), "Office")
    _enter_test(page, "Confirmation", today, "Office")
    tests = page.get_by_role("table", name="Pregnancy tests of this course")
    expect(tests.get_by_role("row")).to_have_count(3)  # the header and two tests
    snapshot(page, "10-tests-entered")
    db.expire_all()
    sensitivities = db.scalars(select(PregnancyTest.sensitivity_miu).join(
        Course, Course.id == PregnancyTest.course_id).where(
        Course.patient_id == patient.id)).all()
    assert sensitivities == [PROGRAM_MINIMUM_MIU] * 2  # the empty field: the program minimum
    expect(page.locator("#next-heading")).to_have_text("Next action: Confirm this month")
    _confirm_month(page, 1)
    snapshot(page, "11-month-confirmed")

    # The patient answers and signs; no methods to confirm under this program.
    _answer_and_sign(phone_page, PATIENT_PASSWORD, 12)

    # The pharmacist finds the patient, gets the RMA and records the first fill.
    sign_in(counter_page, base, pharmacist.email, PASSWORD)
    _find_patient(counter_page, patient.program_patient_id)
    expect(counter_page.locator("#ready")).to_be_visible()
    snapshot(counter_page, "20-pharmacist-patient")
    _ask_for_rma(counter_page, _npi_of(db, prescriber))
    number = _rma_issued(counter_page)
    snapshot(counter_page, "21-rma-issued")
    _record_dispense(counter_page, today, number, 22)
    snapshot(counter_page, "23-first-fill-recorded")

    db.expire_all()
    issued = db.scalars(select(Rma).join(
        Course, Course.id == Rma.course_id).where(
        Course.patient_id == patient.id)).all()
    assert [(a.status, a.days_supply) for a in issued] == [("dispensed", 28)]


def test_second_fill_after_weekly_tests(
        page, phone_page, counter_page, live_server, db, prescriber, pharmacist,
        second_fill_due):
    """The first fill 21 days ago (through the services), weekly tests 14 and 7 days ago:
    today's weekly test, both signatures and the second RMA through the pages."""
    base, today = live_server.url, program_today(live_server.app)
    patient = second_fill_due

    # The prescriber enters today's weekly test and signs month 2.
    sign_in_quickly(page, base, prescriber.email, PASSWORD)
    page.goto(live_server(f"/prescriber/patients/{patient.id}"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Robin Rivera")
    snapshot(page, "01-patient-page-before-weekly-test")
    _enter_test(page, "Monthly", today, "Office")
    tests = page.get_by_role("table", name="Pregnancy tests of this course")
    expect(tests.get_by_role("row")).to_have_count(6)  # the header and five tests
    expect(page.locator("#next-heading")).to_have_text("Next action: Confirm this month")
    _confirm_month(page, 2)
    snapshot(page, "02-month-2-confirmed")

    # The patient answers and signs month 2.
    sign_in_quickly(phone_page, base, "robin.second@example.com", PASSWORD)
    phone_page.goto(live_server("/patient/"))
    _answer_and_sign(phone_page, PASSWORD, 3)

    # The pharmacist asks for the second RMA and records the fill.
    sign_in_quickly(counter_page, base, pharmacist.email, PASSWORD)
    counter_page.goto(live_server("/pharmacist/"))
    _find_patient(counter_page, patient.program_patient_id)
    expect(counter_page.locator("#ready")).to_be_visible()
    snapshot(counter_page, "10-pharmacist-patient")
    _ask_for_rma(counter_page, _npi_of(db, prescriber))
    number = _rma_issued(counter_page)
    snapshot(counter_page, "11-second-rma-issued")
    _record_dispense(counter_page, today, number, 12)
    snapshot(counter_page, "13-second-fill-recorded")

    db.expire_all()
    issued = db.scalars(select(Rma).join(
        Course, Course.id == Rma.course_id).where(
        Course.patient_id == patient.id).order_by(Rma.id)).all()
    assert [a.status for a in issued] == ["dispensed", "dispensed"]


def test_second_fill_without_weekly_tests_is_refused_at_the_counter(
        page, counter_page, live_server, db, prescriber, pharmacist, weekly_tests_missed):
    """The first fill 21 days ago and no weekly test since: the prescriber's signature on
    today's test is refused for the testing schedule, and the pharmacy is told only that
    the prescriber must act, in words free of clinical detail."""
    base, today = live_server.url, program_today(live_server.app)
    patient = weekly_tests_missed

    # Today's test alone does not make up for the two weekly tests that were not taken.
    sign_in_quickly(page, base, prescriber.email, PASSWORD)
    page.goto(live_server(f"/prescriber/patients/{patient.id}"))
    _enter_test(page, "Monthly", today, "Office")
    section = page.locator("#confirmation")
    section.get_by_label("Your password").fill(PASSWORD)
    with page.expect_navigation():
        section.get_by_role("button", name="Sign this month's confirmation").click()
    refused = section.locator(".form-errors")
    expect(refused).to_contain_text("the program's testing schedule was not kept")
    expect(section).not_to_contain_text("Month 2 confirmed")
    schedule = page.locator("#findings").get_by_role("listitem").filter(
        has_text="testing schedule was not kept")
    expect(schedule).to_contain_text("Who must act: you (the prescriber).")
    snapshot(page, "01-confirmation-refused-for-the-schedule")

    # The pharmacy: blocked before it asks, refused when it asks, with who must act.
    sign_in_quickly(counter_page, base, pharmacist.email, PASSWORD)
    counter_page.goto(live_server("/pharmacist/"))
    _find_patient(counter_page, patient.program_patient_id)
    expect(counter_page.locator("#ready")).to_have_count(0)
    expect(counter_page.locator("#blocking li[data-code='PRESCRIBER_ACTION_NEEDED']")
           ).to_have_count(1)
    snapshot(counter_page, "02-pharmacist-patient-blocked")
    _ask_for_rma(counter_page, _npi_of(db, prescriber))
    expect(counter_page.get_by_role("heading", level=1)).to_have_text("No RMA issued")
    expect(counter_page.locator(".flashes")).to_contain_text("No RMA: see the reasons below.")
    codes = counter_page.locator("#reasons li").evaluate_all(
        "items => items.map(li => li.dataset.code)")
    assert "PRESCRIBER_ACTION_NEEDED" in codes, codes
    needed = counter_page.locator("#reasons li[data-code='PRESCRIBER_ACTION_NEEDED']")
    expect(needed).to_contain_text("Who must act: The prescriber.")
    text = counter_page.locator("#reasons").inner_text().lower()
    for word in CLINICAL_WORDS:
        assert word not in text, f"the pharmacy is told {word!r}: {text}"
    snapshot(counter_page, "03-second-rma-refused")

