"""Does every page pass axe-core with no serious or critical violation, fit a 390 px phone
screen, and show a focus ring of 3:1 on everything that takes focus?

`PAGES` lists one visit per GET endpoint; `test_every_page_is_in_the_table` walks the URL
map and fails when an endpoint is neither visited nor in `SKIP`, so a page added later
must be added here. Each visit signs in as the role that uses the page, keeps a screenshot
(desktop, and phone width for the pages patients and prescribers use) and runs the scan.
Pages that only answer a form (errors next to fields, the activation link) are scanned too;
after an empty submission the keyboard must be on the first field to fix, and every invalid
field (number fields included) must wear the error border.
Sign-in posts the login form without rendering it, to keep the run short (the journeys
drive the real form).
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
import pytest
from playwright.sync_api import expect

from compliance.models import User
from compliance.services import courses, invitations, organisations, question_banks, worklist
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    assert_accessible,
    certify_from_today,
    describe_violations,
    overflow,
    program_today,
    serious_violations,
    sign_in,
    sign_in_quickly,
    snapshot,
    urlpath,
    weak_focus_rings,
)
from tests.conftest import PASSWORD
from tests.form_helpers import emailed_path
from tests.security_helpers import ROLES, Cast, make_cast

# GET endpoints that are not HTML pages a person reads, each with the reason.
SKIP = {
    "static": "stylesheets and other files, not pages",
    "auth.index": "only redirects: to the sign-in page, or the role's home (both visited)",
    "emergency.record": "the record page (visited as prescriber-patient-record), opened under "
                        "emergency access",
}
# Pages that appeared while this table was written and still need a visit: each needs rows
# the world does not build yet (an RMA decision, an issued RMA). Visit them, then delete.
AWAITING_VISIT = {
    "pharmacist.rma_request": "needs an RMA request decided for the world's pharmacy",
    "pharmacist.rma": "needs an authorized RMA of the world's pharmacy",
}
# Whole blueprints that are not pages. (auth.logout is POST-only, so it never shows up.)
SKIP_BLUEPRINTS = {"api": "the JSON API for pharmacy systems",
                   "fhir": "FHIR resources for pharmacy systems",
                   "cds": "CDS Hooks discovery, JSON for the prescriber's EHR"}
# Calendar downloads (`.ics`) and record downloads (`.json`) are files, not pages.
SKIP_SUFFIXES = (".ics", ".json")
ERROR_BORDER = "rgb(179, 38, 30)"  # --error in app.css


@dataclass
class World:
    """The rows the visits need: one person of each role (the patient with an open course),
    a prescriber with no patient yet, an open activation link and a question bank in use."""

    cast: Cast
    emails: dict[str, str]
    invitation_token: str
    reset_token: str
    bank_id: int


@dataclass(frozen=True)
class Visit:
    """One page as one role sees it; `empty_form`: also send its form empty and scan the
    answer, which shows an error next to each field."""

    name: str
    endpoint: str | None  # None: no endpoint (the not-found page)
    role: str | None  # a key of World.emails (":password": only the password step); None:
    # signed out
    path: str  # formatted with the World: {cast.prescriber.id}, {invitation_token}, {bank_id}
    phone: bool = False
    status: int = 200
    empty_form: bool = False
    known_problem: str = ""  # a violation reported but not fixed yet: the case is xfail

    def url(self, world: World) -> str:
        return self.path.format(cast=world.cast, invitation_token=world.invitation_token,
                                reset_token=world.reset_token, bank_id=world.bank_id)


def cases(visits: list[Visit]) -> list:
    """Parameters for the visits; a known problem is a strict xfail, so the test says so
    as soon as the page is fixed (and only an accessibility failure counts as expected)."""
    return [pytest.param(visit, id=visit.name, marks=[pytest.mark.xfail(
        strict=True, raises=pytest.fail.Exception, reason=f"A11Y: {visit.known_problem}")]
        if visit.known_problem else []) for visit in visits]


PAGES = [
    Visit("login", "auth.login", None, "/login", empty_form=True),
    Visit("invitation", "auth.accept_invitation", None, "/invitations/{invitation_token}",
          phone=True, empty_form=True),
    Visit("invitation-invalid", "auth.accept_invitation", None, "/invitations/no-such-link",
          phone=True, status=404),
    Visit("forgot-password", "auth.forgot_password", None, "/password/forgot", phone=True,
          empty_form=True),
    Visit("reset-password", "auth.reset_password", None, "/password/reset/{reset_token}",
          phone=True, empty_form=True),
    Visit("change-password", "auth.change_password", "patient", "/account/password",
          phone=True, empty_form=True),
    Visit("email-choices", "account.emails", "patient", "/account/emails", phone=True),
    Visit("code-step", "two_step.code", "admin:password", "/login/code", empty_form=True),
    Visit("first-sign-in", "two_step.enroll", "first-sign-in:password", "/login/enroll",
          phone=True, empty_form=True),
    Visit("two-step-setup", "two_step.settings", "patient", "/account/two-step", phone=True,
          empty_form=True),
    Visit("two-step-settings", "two_step.settings", "admin", "/account/two-step",
          empty_form=True),
    Visit("passkeys", "passkeys.index", "patient", "/account/passkeys", phone=True),
    Visit("emergency-access", "emergency.access", "prescriber", "/prescriber/emergency/",
          empty_form=True),
    Visit("email-choices-prescriber", "account.emails", "prescriber", "/account/emails"),
    Visit("admin-home", "admin.home", "admin", "/admin/"),
    Visit("admin-prescribers", "admin.prescribers", "admin", "/admin/prescribers"),
    Visit("admin-prescriber-new", "admin.new_prescriber", "admin", "/admin/prescribers/new",
          empty_form=True),
    Visit("admin-prescriber-certification", "admin.prescriber_certification", "admin",
          "/admin/prescribers/{cast.prescriber.id}/certification"),
    Visit("admin-pharmacies", "admin.pharmacies", "admin", "/admin/pharmacies"),
    Visit("admin-pharmacy-new", "admin.new_pharmacy", "admin", "/admin/pharmacies/new",
          empty_form=True),
    Visit("admin-pharmacy", "admin.pharmacy", "admin", "/admin/pharmacies/{cast.pharmacy.id}",
          empty_form=True),
    Visit("admin-pharmacy-certification", "admin.pharmacy_certification", "admin",
          "/admin/pharmacies/{cast.pharmacy.id}/certification"),
    Visit("admin-users", "admin.users", "admin", "/admin/users"),
    Visit("admin-deactivate", "admin.deactivate_user", "admin",
          "/admin/users/{cast.patient_user.id}/deactivate", empty_form=True),
    Visit("admin-patient-record", "admin.patient_record", "admin",
          "/admin/users/{cast.patient_user.id}/record"),
    Visit("admin-question-banks", "question_banks.index", "admin", "/admin/question-banks/"),
    Visit("admin-cds-clients", "cds_admin.clients_page", "admin", "/admin/cds-clients",
          empty_form=True),
    Visit("admin-question-bank-new", "question_banks.new", "admin",
          "/admin/question-banks/new", empty_form=True),
    Visit("admin-question-bank", "question_banks.show", "admin",
          "/admin/question-banks/{bank_id}"),
    Visit("prescriber-home", "prescriber.home", "prescriber", "/prescriber/", phone=True),
    Visit("prescriber-home-empty", "prescriber.home", "new-prescriber", "/prescriber/",
          phone=True),
    Visit("prescriber-patient-new", "prescriber.new_patient", "prescriber",
          "/prescriber/patients/new", phone=True, empty_form=True),
    Visit("prescriber-patient", "prescriber.patient", "prescriber",
          "/prescriber/patients/{cast.patient.id}", phone=True),
    Visit("prescriber-patient-record", "prescriber.patient_record", "prescriber",
          "/prescriber/patients/{cast.patient.id}/record"),
    Visit("pharmacist-home", "pharmacist.home", "pharmacist", "/pharmacist/"),
    Visit("pharmacist-find-patient", "pharmacist.find_patient", "pharmacist",
          "/pharmacist/patients/find", empty_form=True),
    Visit("pharmacist-dispense", "pharmacist.record_dispense", "pharmacist",
          "/pharmacist/dispenses", empty_form=True),
    Visit("pharmacist-api-keys", "pharmacist.api_keys_list", "pharmacist",
          "/pharmacist/api-keys"),
    Visit("patient-home", "patient.home", "patient", "/patient/", phone=True),
    Visit("patient-card", "patient.card", "patient", "/patient/card", phone=True),
    Visit("patient-calendar", "patient.calendar_page", "patient", "/patient/calendar",
          phone=True),
    Visit("patient-enrollment", "patient.enrollment", "patient", "/patient/enrollment",
          phone=True, empty_form=True),
    Visit("patient-month", "patient.month", "patient", "/patient/month", phone=True),
    Visit("patient-history", "patient.history", "patient", "/patient/history", phone=True),
    Visit("patient-record", "patient.record", "patient", "/patient/record", phone=True),
    Visit("not-found", None, "patient", "/no-such-page", phone=True, status=404),
]


@pytest.fixture
def world(app, db, factory) -> World:
    cast = make_cast(factory)
    today, now = program_today(app), datetime.now(UTC)
    certify_from_today(db, cast.prescriber, today)
    newcomer = factory.prescriber()
    certify_from_today(db, newcomer, today)
    invitee = factory.patient(cast.prescriber, password=False, email="invitee@example.com")
    with app.app_context():  # the services audit, which needs the app's key
        token = organisations.reissue_account_invitation(
            db, user=db.get(User, invitee.user_id), now=now, invitation_days=7)
        worklist.refresh(db, courses.course_of(db, cast.patient), now)
        db.commit()
        bank = question_banks.create_version(
            db, program="ipledge", category="can_get_pregnant", now=now,
            questions=question_banks.DEFAULT_IPLEDGE_QUESTIONS)
        question_banks.activate(db, bank=bank, now=now)
    invitations.request_reset(db, email=cast.email("pharmacist"), now=now)
    reset = emailed_path(db, cast.email("pharmacist"), "reset").rsplit("/", 1)[1]
    emails = {role: cast.email(role) for role in ROLES}
    emails["new-prescriber"] = db.get(User, newcomer.user_id).email
    emails["first-sign-in"] = factory.user("admin", second_factor=False).email
    return World(cast=cast, emails=emails, invitation_token=token, reset_token=reset,
                 bank_id=bank.id)


def _submit_empty(tab, visit: Visit) -> None:
    """Clear the main form's text fields and send it (the forms use `novalidate`); the
    answer is the same page with an error next to each field."""
    form = tab.locator("main form").last
    for field in form.locator("input:not([type=hidden]):not([type=checkbox]):not([type=radio]), "
                              "textarea").all():
        field.fill("")
    with tab.expect_navigation() as navigation:
        form.locator("button[type=submit]").last.click()
    assert navigation.value.status == 422, f"{visit.name}: {navigation.value.status}"
    assert tab.locator(".field-error").count() > 0, f"{visit.name}: no error next to a field"


def _scan(tab, visit: Visit, state: str) -> list[str]:
    """Screenshot and scan on a desktop and, for phone pages, at phone width (the same
    page resized: the layout's media queries answer to the width). Every page, phone page
    or not, must fit a 390 px screen, and every focus ring must show at 3:1."""
    problems = [f"{visit.name} {state}focus: {ring}" for ring in weak_focus_rings(tab)]
    for width, viewport in [("desktop", DESKTOP), ("phone", PHONE)]:
        tab.set_viewport_size(viewport)
        if width == "phone" and (wider := overflow(tab)) > 0:
            problems.append(f"{visit.name} {state}is {wider} px wider than a "
                            f"{PHONE['width']} px screen")
        if width == "phone" and not visit.phone:
            continue
        snapshot(tab, f"{state}{width}")
        if violations := serious_violations(tab):
            problems.append(f"{visit.name} {state}at {width} width ({urlpath(tab.url)}):\n"
                            f"{describe_violations(violations)}")
    tab.set_viewport_size(DESKTOP)
    return problems


def _errors_shown(tab, visit: Visit) -> list[str]:
    """After a refused submission: the keyboard is on the first field to fix, and every
    field marked invalid (number fields too) wears the error border."""
    problems = []
    first = tab.locator("main [aria-invalid='true']").first
    if not first.evaluate("element => element === document.activeElement"):
        focused = tab.evaluate("document.activeElement.outerHTML.slice(0, 80)")
        problems.append(f"{visit.name}: focus is on {focused}, not on the first error")
    for field in tab.locator("main [aria-invalid='true']:not([type=checkbox]):not([type=radio])"
                             ).all():
        border = field.evaluate("e => getComputedStyle(e).borderTopColor")
        if border != ERROR_BORDER:
            kind = field.evaluate("e => e.type || e.tagName")
            problems.append(f"{visit.name}: an invalid {kind} field has border {border}")
    return problems


@pytest.mark.parametrize("visit", cases(PAGES))
def test_page_is_accessible(page, live_server, world, visit):
    """Does the page load for its role with no serious or critical axe violation, and
    does it stay accessible when its form comes back with errors?"""
    if visit.role is not None:
        who, _, step = visit.role.partition(":")
        sign_in_quickly(page, live_server.url, world.emails[who], PASSWORD,
                        password_only=step == "password")
    response = page.goto(live_server(visit.url(world)))
    assert response is not None and response.status == visit.status, \
        f"{visit.name}: {response and response.status} {page.url}"
    problems = _scan(page, visit, "")
    if visit.empty_form:
        _submit_empty(page, visit)
        problems += _errors_shown(page, visit) + _scan(page, visit, "errors-")
    if problems:
        pytest.fail("serious or critical accessibility violations:\n" + "\n".join(problems),
                    pytrace=False)


def test_the_worklist_shows_each_next_action_on_a_phone(phone_page, live_server, world):
    """At 390 px, without scrolling sideways, does the prescriber see each patient's name
    and next action (the other columns may scroll)?"""
    sign_in_quickly(phone_page, live_server.url, world.emails["prescriber"], PASSWORD)
    phone_page.goto(live_server("/prescriber/"))
    rows = phone_page.locator("table.worklist tbody tr")
    assert rows.count() >= 1
    for row in rows.all():
        for cell in (row.locator("td").first, row.locator("td.next-action")):
            box = cell.bounding_box()
            assert cell.inner_text().strip() and box is not None
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], \
                f"{cell.inner_text()!r} is off a {PHONE['width']} px screen: {box}"
    snapshot(phone_page, "worklist-phone")


def test_activation_link_sent_page_is_accessible(page, live_server, world):
    """Is the page that says a new activation link was emailed (it answers a POST)
    accessible, and does it keep the link to its owner's mailbox?"""
    sign_in(page, live_server.url, world.cast.email("admin"), PASSWORD)
    page.goto(live_server("/admin/users"))
    with page.expect_navigation():
        page.get_by_role("button", name="New activation link").first.click()
    expect(page.locator(".flashes")).to_contain_text("An activation link was emailed to")
    assert "/invitations/" not in page.content()
    snapshot(page, "desktop")
    assert_accessible(page, "activation link emailed")


def test_recovery_codes_page_is_accessible(page, live_server, world):
    """The recovery codes answer the first code of a new authenticator (a POST)."""
    sign_in_quickly(page, live_server.url, world.emails["first-sign-in"], PASSWORD,
                    password_only=True)
    page.goto(live_server("/login/enroll"))
    key = page.locator("#setup-key").inner_text().replace(" ", "")
    page.get_by_label("Code").fill(pyotp.TOTP(key).now())
    with page.expect_navigation():
        page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.locator("ol.recovery-codes li")).to_have_count(10)
    snapshot(page, "desktop")
    assert_accessible(page, "recovery codes")


def _page_endpoints(app) -> dict[str, str]:
    """GET endpoints that serve pages, with one of their rules, after the documented skips."""
    endpoints = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint in SKIP | AWAITING_VISIT:
            continue
        if rule.endpoint.split(".")[0] in SKIP_BLUEPRINTS or rule.rule.endswith(SKIP_SUFFIXES):
            continue
        endpoints[rule.endpoint] = rule.rule
    return endpoints


def test_every_page_is_in_the_table(app):
    """Does the table visit every page, so a page added later cannot go unscanned?"""
    pages = _page_endpoints(app)
    visited = {v.endpoint for v in PAGES if v.endpoint}
    missing = {endpoint: rule for endpoint, rule in pages.items() if endpoint not in visited}
    assert not missing, (
        "GET endpoints with no visit in tests/browser/test_accessibility.py PAGES (add one, "
        f"or add it to SKIP with the reason it is not a page): {missing}")
    known = {rule.endpoint for rule in app.url_map.iter_rules()}
    stale = (visited | set(SKIP) | set(AWAITING_VISIT)) - known
    assert not stale, f"the table names endpoints the app no longer has: {sorted(stale)}"


def test_the_scan_reports_known_violations(browser):
    """Does the scan catch what it should (so a clean page means something)?"""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content('<html><body><img src="chart.png"><input type="text"></body></html>')
        found = {v["id"] for v in serious_violations(page)}
        assert {"html-has-lang", "image-alt", "label"} <= found, found
    finally:
        context.close()
