"""Are forms safe from cross-site posting, and does `next` only ever lead inside the site?"""

import re
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import pytest

from compliance.models import User
from compliance.services import invitations
from compliance.services.invitations import issue_invitation
from tests.conftest import PASSWORD, current_code, post_form, sign_in
from tests.form_helpers import emailed_path
from tests.security_helpers import (
    HOME,
    in_layout,
    make_cast,
    session_cookie,
    snapshot,
)

CSRF_MESSAGE = "This form expired or did not come from this site."

# (who posts, URL with {placeholders}, a body that would be accepted with a token)
FORM_ROUTES = {
    "auth.login": (None, "/login", {"email": "{admin_email}", "password": PASSWORD}),
    "auth.accept_invitation": (None, "/invitations/{invitation}",
                               {"password": "a brand new passphrase 42",
                                "confirm": "a brand new passphrase 42",
                                "date_of_birth": "{invited_born}"}),
    "auth.forgot_password": (None, "/password/forgot", {"email": "{admin_email}"}),
    "auth.reset_password": (None, "{reset_path}", {"password": "a brand new passphrase 42",
                                                   "confirm": "a brand new passphrase 42"}),
    "auth.change_password": ("admin", "/account/password", {
        "current": PASSWORD, "password": "a brand new passphrase 42",
        "confirm": "a brand new passphrase 42"}),
    "auth.logout": ("admin", "/logout", {}),
    "account.emails": ("admin", "/account/emails", {}),
    "two_step.code": (None, "/login/code", {"code": "123456"}),
    "two_step.enroll": (None, "/login/enroll", {"code": "123456"}),
    "two_step.turn_on": ("patient", "/account/two-step/on", {"code": "123456"}),
    "two_step.replace_codes": ("admin", "/account/two-step/recovery-codes", {"code": "123456"}),
    "two_step.turn_off": ("patient", "/account/two-step/off", {"off-code": "123456"}),
    "admin.reset_two_step": ("admin", "/admin/users/{invited_user}/two-step/reset", {}),
    "passkeys.add_options": ("patient", "/account/passkeys/options", {}),
    "passkeys.add": ("patient", "/account/passkeys", {}),
    "passkeys.remove": ("patient", "/account/passkeys/1/remove", {}),
    "passkeys.sign_in_options": (None, "/login/passkey/options", {}),
    "passkeys.sign_in": (None, "/login/passkey", {}),
    "emergency.access": ("prescriber", "/prescriber/emergency/", {
        "patient_id": "DEM00-00010", "date_of_birth": "2004-05-17",
        "reason": "Covering for a colleague, the patient called."}),
    "admin.new_prescriber": ("admin", "/admin/prescribers/new", {
        "name": "Dr New", "email": "new.prescriber@example.com", "npi": "1234567893",
        "practice_name": "New Dermatology"}),
    "admin.prescriber_certification": ("admin", "/admin/prescribers/{prescriber}/certification",
                                       {"status": "suspended"}),
    "admin.new_pharmacy": ("admin", "/admin/pharmacies/new", {
        "name": "New Pharmacy", "address_line": "1 Road", "city": "Albany", "state": "NY",
        "postal_code": "12207", "ncpdp_id": "7654321", "npi": "1234567893"}),
    "admin.pharmacy": ("admin", "/admin/pharmacies/{pharmacy}", {
        "name": "New Pharmacist", "email": "new.pharmacist@example.com"}),
    "admin.pharmacy_certification": ("admin", "/admin/pharmacies/{pharmacy}/certification",
                                     {"status": "suspended"}),
    "admin.deactivate_user": ("admin", "/admin/users/{invited_user}/deactivate",
                              {"reason": "Left the practice."}),
    "admin.reactivate_user": ("admin", "/admin/users/{invited_user}/reactivate", {}),
    "admin.reissue_invitation": ("admin", "/admin/users/{invited_user}/invitation", {}),
    "admin.send_reset": ("admin", "/admin/users/{invited_user}/reset", {}),
    "cds_admin.clients_page": ("admin", "/admin/cds-clients", {
        "name": "Clinic EHR", "issuer": "https://ehr.example.org",
        "jwks_url": "https://ehr.example.org/jwks"}),
    "cds_links.link_patient": ("prescriber", "/prescriber/patients/{invited}/ehr-identifier",
                               {"ehr-ehr_identifier": "urn:oid:1.2|77"}),
    "prescriber.new_patient": ("prescriber", "/prescriber/patients/new", {
        "given_name": "New", "family_name": "Patient", "date_of_birth": "2000-01-01",
        "email": "new.patient@example.com", "category": "cannot_get_pregnant", "weight_kg": "70",
        "category_reason": "Post-menopausal."}),
    "prescriber.reissue_invitation": ("prescriber", "/prescriber/patients/{invited}/invitation",
                                      {}),
    **{f"prescriber.{endpoint}": ("prescriber", f"/prescriber/patients/{{invited}}/{path}", {})
       for endpoint, path in (
           ("record_counseling", "counseling"), ("add_method", "methods"),
           ("change_method", "methods/change"), ("stop_method", "methods/stop"),
           ("record_test", "tests"), ("report_pregnancy", "pregnancy"),
           ("mark_in_error", "in-error"), ("record_registry_report", "registry-report"),
           ("resume_course", "resume"), ("confirm_month", "confirmation"),
           ("record_reeducation", "reeducation"),
           ("set_home_testing", "home-testing"),
           ("change_category", "category"), ("end_treatment", "end"))},
    "patient.enrollment": ("patient", "/patient/enrollment", {"password": PASSWORD}),
    "patient.answer_questions": ("patient", "/patient/month/answers", {}),
    "patient.attest": ("patient", "/patient/month/attestation", {"password": PASSWORD}),
    "patient.start_calendar": ("patient", "/patient/calendar/address", {}),
    "patient.stop_calendar": ("patient", "/patient/calendar/address/stop", {}),
    "question_banks.new": ("admin", "/admin/question-banks/new", {"questions": "[]"}),
    "question_banks.activate": ("admin", "/admin/question-banks/{bank}/activate", {}),
    "pharmacist.find_patient": ("pharmacist", "/pharmacist/patients/find", {}),
    "pharmacist.request_rma": ("pharmacist", "/pharmacist/rma-requests", {}),
    "pharmacist.record_dispense": ("pharmacist", "/pharmacist/dispenses", {}),
    "pharmacist.reverse_rma": ("pharmacist", "/pharmacist/rmas/194862017077/reversal", {}),
    "pharmacist.create_api_key": ("pharmacist", "/pharmacist/api-keys", {"name": "x"}),
    "pharmacist.revoke_api_key": ("pharmacist", "/pharmacist/api-keys/1/revoke", {}),
}



@pytest.fixture
def places(factory):
    """The cast, a patient who has not activated yet, and an open invitation link for them."""
    cast = make_cast(factory)
    invited = factory.patient(cast.prescriber, password=False)
    token = issue_invitation(factory.db, user=factory.db.get(User, invited.user_id),
                             issued_by=None, now=datetime.now(UTC), valid_days=7)
    invitations.request_reset(factory.db, email=cast.admin.email, now=datetime.now(UTC))
    return cast, {"admin_email": cast.admin.email, "prescriber": cast.prescriber.id,
                  "pharmacy": cast.pharmacy.id, "invited": invited.id,
                  "invited_user": invited.user_id, "invitation": token,
                  "invited_born": invited.date_of_birth.isoformat(),
                  "reset_path": emailed_path(factory.db, cast.admin.email, "reset"),
                  "bank": cast.bank.id}


def test_table_covers_every_form_route(app):
    """Does the CSRF table list every route that accepts a POST?"""
    posting = {rule.endpoint for rule in app.url_map.iter_rules()
               if "POST" in rule.methods  # keys and JWTs, no cookies: CSRF does not apply
               and not rule.endpoint.startswith(("api.", "fhir.", "ncpdp.", "cds."))}
    assert set(FORM_ROUTES) == posting


@pytest.mark.parametrize("token", [None, "forged"])
@pytest.mark.parametrize("endpoint", FORM_ROUTES)
def test_post_without_valid_csrf_token_is_refused_and_writes_nothing(
        client, engine, places, endpoint, token):
    """Is a form posted without this browser's token refused with a 400 page in the layout,
    and is nothing written?"""
    cast, ids = places
    role, url, body = FORM_ROUTES[endpoint]
    if role:
        sign_in(client, cast.email(role))
    data = {key: value.format(**ids) for key, value in body.items()}
    if token:
        data["csrf_token"] = "IjEyMyI.forged.signature"
    before = snapshot(engine)
    response = client.post(url.format(**ids), data=data)
    assert response.status_code == 400
    assert in_layout(response.text)
    assert CSRF_MESSAGE in response.text
    assert snapshot(engine) == before
    expected_home = 200 if role else 302  # the signed-in stay signed in; the others stay out
    assert client.get(HOME[role or "admin"]).status_code == expected_home


def test_same_form_with_its_token_is_accepted(client, engine, places):
    """Control: with the page's own token, does the same post go through and write?"""
    cast, _ = places
    sign_in(client, cast.admin.email)
    before = snapshot(engine)
    _, url, body = FORM_ROUTES["admin.new_pharmacy"]
    response = post_form(client, url, body)
    assert response.status_code == 302
    assert snapshot(engine)["pharmacy"] != before["pharmacy"]


def _browser_destination(location: str, base: str = "https://localhost/login") -> str:
    """Where a browser would go: it strips spaces and control characters at the ends, drops
    tabs and newlines, and reads backslashes as slashes (WHATWG URL parsing)."""
    cleaned = location.strip("".join(chr(c) for c in range(33)))
    cleaned = re.sub(r"[\t\n\r]", "", cleaned).replace("\\", "/")
    return urljoin(base, cleaned)


OFF_SITE = [
    "//evil.example", "///evil.example", "////evil.example", "https://evil.example",
    "http://evil.example/admin/", "http:/evil.example", "http:evil.example", "/\\evil.example",
    "\\\\evil.example", "\\/evil.example", "/\\/evil.example", "javascript:alert(1)",
    "JavaScript:alert(1)", "data:text/html,<script>alert(1)</script>", " //evil.example",
    " https://evil.example", "/\t/evil.example", "/\r\n/evil.example",
    "/\r\nLocation: https://evil.example", "//localhost@evil.example", "evil.example", "",
    "https:/\\evil.example", "\x00//evil.example",
]
# Percent-escapes are not decoded when a browser follows a redirect, so these stay on the
# site (at worst a 404); what matters is that they never leave it.
ON_SITE_ODDITIES = ["/%2F%2Fevil.example", "/%5Cevil.example", "/%5C%5Cevil.example",
                    "/%0d%0aLocation:%20https://evil.example", "/%09/evil.example",
                    "/.//evil.example"]


def _sign_in_with_next(client, email: str, target: str):
    return sign_in(client, email, query_string={"next": target}, token_from="/login")


@pytest.mark.parametrize("target", OFF_SITE)
def test_off_site_next_lands_on_the_home_page(client, factory, target):
    """Does a `next` that points off the site (or is garbage) send the user home instead?"""
    admin = factory.user("admin")
    response = _sign_in_with_next(client, admin.email, target)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == HOME["admin"]
    assert urlsplit(_browser_destination(response.headers["Location"])).netloc == "localhost"


@pytest.mark.parametrize("target", ON_SITE_ODDITIES)
def test_escaped_next_never_leaves_the_site(client, factory, target):
    """Does a percent-escaped `next` keep the browser on this site, with no header split?"""
    admin = factory.user("admin")
    response = _sign_in_with_next(client, admin.email, target)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert not re.search(r"[\r\n]", location)
    assert response.headers.getlist("Location") == [location]
    assert urlsplit(_browser_destination(location)).netloc == "localhost"


@pytest.mark.parametrize("target", ["/admin/users", "/admin/users?page=2",
                                    "/admin/pharmacies/new"])
def test_good_next_is_honoured(client, factory, target):
    """Does a `next` inside the site take the user where they were going?"""
    admin = factory.user("admin")
    response = _sign_in_with_next(client, admin.email, target)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.netloc, location.path + (f"?{location.query}" if location.query else "")) \
        in {("", target), ("localhost", target)}


def test_deep_link_survives_sign_in(client, factory):
    """Does a visitor sent to sign in from a deep link come back to that page afterwards?"""
    admin = factory.user("admin")
    first = client.get("/admin/users?page=2")
    assert first.status_code == 302
    login_url = first.headers["Location"]
    post_form(client, login_url, {"email": admin.email, "password": PASSWORD},
              token_from="/login")
    response = post_form(client, "/login/code", {"code": current_code(client.application,
                                                                      admin.email)})
    assert urlsplit(response.headers["Location"]).path == "/admin/users"
    assert urlsplit(response.headers["Location"]).query == "page=2"
    assert client.get(response.headers["Location"]).status_code == 200
    assert session_cookie(client)
