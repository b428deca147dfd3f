"""Does each role get exactly the routes meant for it, and nobody else?

The tables below are the access policy in one place. A route added to the app without a row
here fails `test_tables_cover_every_guarded_route`.
"""

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import csrf_token, sign_in
from tests.security_helpers import (
    ROLES,
    home_token,
    make_cast,
    snapshot,
)

ANONYMOUS = "anonymous"
EVERYONE = frozenset(ROLES)

# endpoint: (URL with {placeholders} filled from the cast, roles that may GET it)
GET_ROUTES = {
    "admin.home": ("/admin/", {"admin"}),
    "admin.prescribers": ("/admin/prescribers", {"admin"}),
    "admin.new_prescriber": ("/admin/prescribers/new", {"admin"}),
    "admin.prescriber_certification": ("/admin/prescribers/{prescriber}/certification",
                                       {"admin"}),
    "admin.pharmacies": ("/admin/pharmacies", {"admin"}),
    "admin.new_pharmacy": ("/admin/pharmacies/new", {"admin"}),
    "admin.pharmacy": ("/admin/pharmacies/{pharmacy}", {"admin"}),
    "admin.pharmacy_certification": ("/admin/pharmacies/{pharmacy}/certification", {"admin"}),
    "admin.users": ("/admin/users", {"admin"}),
    "admin.deactivate_user": ("/admin/users/{patient_user}/deactivate", {"admin"}),
    "admin.patient_record": ("/admin/users/{patient_user}/record", {"admin"}),
    "admin.patient_record_json": ("/admin/users/{patient_user}/record.json", {"admin"}),
    "auth.change_password": ("/account/password", EVERYONE),
    "account.emails": ("/account/emails", EVERYONE),
    "two_step.settings": ("/account/two-step", EVERYONE),
    "passkeys.index": ("/account/passkeys", EVERYONE),
    "prescriber.home": ("/prescriber/", {"prescriber"}),
    "prescriber.new_patient": ("/prescriber/patients/new", {"prescriber"}),
    "prescriber.patient": ("/prescriber/patients/{patient}", {"prescriber"}),
    "prescriber.patient_record": ("/prescriber/patients/{patient}/record", {"prescriber"}),
    "prescriber.patient_record_json": ("/prescriber/patients/{patient}/record.json",
                                       {"prescriber"}),
    "emergency.access": ("/prescriber/emergency/", {"prescriber"}),
    "emergency.record": ("/prescriber/emergency/{patient}/record", {"prescriber"}),
    "emergency.record_json": ("/prescriber/emergency/{patient}/record.json", {"prescriber"}),
    "pharmacist.home": ("/pharmacist/", {"pharmacist"}),
    "patient.home": ("/patient/", {"patient"}),
    "patient.enrollment": ("/patient/enrollment", {"patient"}),
    "patient.month": ("/patient/month", {"patient"}),
    "patient.history": ("/patient/history", {"patient"}),
    "patient.record": ("/patient/record", {"patient"}),
    "patient.record_json": ("/patient/record.json", {"patient"}),
    "patient.calendar_file": ("/patient/calendar.ics", {"patient"}),
    "patient.calendar_page": ("/patient/calendar", {"patient"}),
    "patient.card": ("/patient/card", {"patient"}),
    "question_banks.index": ("/admin/question-banks/", {"admin"}),
    "cds_admin.clients_page": ("/admin/cds-clients", {"admin"}),
    "question_banks.new": ("/admin/question-banks/new", {"admin"}),
    "question_banks.show": ("/admin/question-banks/{bank}", {"admin"}),
    "pharmacist.find_patient": ("/pharmacist/patients/find", {"pharmacist"}),
    "pharmacist.record_dispense": ("/pharmacist/dispenses", {"pharmacist"}),
    "pharmacist.api_keys_list": ("/pharmacist/api-keys", {"pharmacist"}),
    "pharmacist.rma_request": ("/pharmacist/rma-requests/no-such-request", {"pharmacist"}),
    "pharmacist.rma": ("/pharmacist/rmas/194862017077", {"pharmacist"}),
}
# The cast holds no RMA: the right role gets 404 there (the role guard runs first, so the
# other roles still get 403). Real RMAs are shown in test_pharmacist_pages.
NOT_FOUND_FOR_THE_RIGHT_ROLE = {"pharmacist.rma_request", "pharmacist.rma"}
# A prescriber with no emergency access reads no other prescriber's record (their own
# patients open from the worklist); test_emergency_access opens one.
NOT_FOUND_FOR_THE_RIGHT_ROLE |= {"emergency.record", "emergency.record_json"}
PRESCRIBER_ACTIONS = ("counseling", "methods", "methods/change", "methods/stop", "tests",
                      "pregnancy", "in-error", "registry-report", "resume", "confirmation",
                      "reeducation", "home-testing", "category", "end")
PRESCRIBER_ACTION_ENDPOINTS = (
    "record_counseling", "add_method", "change_method", "stop_method", "record_test",
    "report_pregnancy", "mark_in_error", "record_registry_report", "resume_course",
    "confirm_month", "record_reeducation", "set_home_testing", "change_category",
    "end_treatment")

POST_ROUTES = {
    "auth.logout": ("/logout", EVERYONE),
    "admin.new_prescriber": ("/admin/prescribers/new", {"admin"}),
    "admin.prescriber_certification": ("/admin/prescribers/{prescriber}/certification",
                                       {"admin"}),
    "admin.new_pharmacy": ("/admin/pharmacies/new", {"admin"}),
    "admin.pharmacy": ("/admin/pharmacies/{pharmacy}", {"admin"}),
    "admin.pharmacy_certification": ("/admin/pharmacies/{pharmacy}/certification", {"admin"}),
    "admin.deactivate_user": ("/admin/users/{patient_user}/deactivate", {"admin"}),
    "admin.reactivate_user": ("/admin/users/{patient_user}/reactivate", {"admin"}),
    "admin.reissue_invitation": ("/admin/users/{patient_user}/invitation", {"admin"}),
    "admin.send_reset": ("/admin/users/{patient_user}/reset", {"admin"}),
    "admin.reset_two_step": ("/admin/users/{patient_user}/two-step/reset", {"admin"}),
    "auth.change_password": ("/account/password", EVERYONE),
    "account.emails": ("/account/emails", EVERYONE),
    "two_step.turn_on": ("/account/two-step/on", EVERYONE),
    "two_step.replace_codes": ("/account/two-step/recovery-codes", EVERYONE),
    "two_step.turn_off": ("/account/two-step/off", {"patient"}),
    "emergency.access": ("/prescriber/emergency/", {"prescriber"}),
    "passkeys.add_options": ("/account/passkeys/options", EVERYONE),
    "passkeys.add": ("/account/passkeys", EVERYONE),
    "passkeys.remove": ("/account/passkeys/1/remove", EVERYONE),
    "prescriber.new_patient": ("/prescriber/patients/new", {"prescriber"}),
    "prescriber.reissue_invitation": ("/prescriber/patients/{patient}/invitation",
                                      {"prescriber"}),
    **{f"prescriber.{endpoint}": (f"/prescriber/patients/{{patient}}/{path}", {"prescriber"})
       for endpoint, path in zip(PRESCRIBER_ACTION_ENDPOINTS, PRESCRIBER_ACTIONS, strict=True)},
    "patient.enrollment": ("/patient/enrollment", {"patient"}),
    "patient.answer_questions": ("/patient/month/answers", {"patient"}),
    "patient.attest": ("/patient/month/attestation", {"patient"}),
    "patient.start_calendar": ("/patient/calendar/address", {"patient"}),
    "patient.stop_calendar": ("/patient/calendar/address/stop", {"patient"}),
    "question_banks.new": ("/admin/question-banks/new", {"admin"}),
    "cds_admin.clients_page": ("/admin/cds-clients", {"admin"}),
    "cds_links.link_patient": ("/prescriber/patients/{patient}/ehr-identifier", {"prescriber"}),
    "question_banks.activate": ("/admin/question-banks/{bank}/activate", {"admin"}),
    "pharmacist.find_patient": ("/pharmacist/patients/find", {"pharmacist"}),
    "pharmacist.request_rma": ("/pharmacist/rma-requests", {"pharmacist"}),
    "pharmacist.record_dispense": ("/pharmacist/dispenses", {"pharmacist"}),
    "pharmacist.reverse_rma": ("/pharmacist/rmas/194862017077/reversal", {"pharmacist"}),
    "pharmacist.create_api_key": ("/pharmacist/api-keys", {"pharmacist"}),
    "pharmacist.revoke_api_key": ("/pharmacist/api-keys/1/revoke", {"pharmacist"}),
}

# What a form would carry if the request got through; wrong roles must never get that far.
POST_DATA = {
    "name": "Mallory", "email": "mallory@example.com", "npi": "1234567893",
    "practice_name": "Nowhere", "address_line": "1 Road", "city": "Albany", "state": "NY",
    "postal_code": "12207", "ncpdp_id": "7654321", "status": "suspended",
    "given_name": "Mal", "family_name": "Lory", "date_of_birth": "2000-01-01",
    "category": "cannot_get_pregnant", "category_reason": "Testing", "weight_kg": "70",
}

FORM_PAGES_WITH_SELECTS = [("admin", "admin.prescriber_certification"),
                           ("admin", "admin.pharmacy_certification"),
                           ("prescriber", "prescriber.new_patient")]



def _fill(url: str, cast) -> str:
    return url.format(prescriber=cast.prescriber.id, pharmacy=cast.pharmacy.id,
                      patient=cast.patient.id, patient_user=cast.patient_user.id,
                      bank=cast.bank.id)


def _outcome(response) -> str:
    """A status, or for a redirect the status, the path and the `next` it carries."""
    if response.status_code in (301, 302, 303):
        parts = urlsplit(response.headers["Location"])
        return f"{response.status_code} -> {parts.path} next={parse_qs(parts.query).get('next')}"
    return str(response.status_code)


def _expected(role: str, url: str, allowed) -> str:
    if role == ANONYMOUS:
        return f"302 -> /login next={[url]}"
    return "200" if role in allowed else "403"


def _guarded(app, method: str) -> dict[str, frozenset]:
    return {rule.endpoint: app.view_functions[rule.endpoint].required_roles
            for rule in app.url_map.iter_rules()
            if method in rule.methods  # keys, JWTs: test_api, test_fhir, test_ncpdp, test_cds_hooks
            and not rule.endpoint.startswith(("api.", "fhir.", "ncpdp.", "cds."))
            and getattr(app.view_functions[rule.endpoint], "required_roles", None)}


@pytest.mark.parametrize("method,table", [("GET", GET_ROUTES), ("POST", POST_ROUTES)])
def test_tables_cover_every_guarded_route(app, method, table):
    """Does the matrix list every role-guarded route, with the roles the view declares?"""
    declared = {endpoint: set(roles) for endpoint, roles in _guarded(app, method).items()}
    assert {endpoint: set(roles) for endpoint, (_, roles) in table.items()} == declared


@pytest.mark.parametrize("role", [ANONYMOUS, *ROLES])
def test_get_routes_answer_each_role_as_the_policy_says(client, factory, role):
    """Anonymous → sign in first, wrong role → 403, right role → 200, on every page?"""
    cast = make_cast(factory)
    if role != ANONYMOUS:
        assert sign_in(client, cast.email(role)).status_code == 302
    observed, expected = {}, {}
    for endpoint, (template, allowed) in GET_ROUTES.items():
        url = _fill(template, cast)
        observed[endpoint] = _outcome(client.get(url))
        expected[endpoint] = _expected(role, url, allowed)
        if endpoint in NOT_FOUND_FOR_THE_RIGHT_ROLE and role in allowed:
            expected[endpoint] = "404"
    assert observed == expected


@pytest.mark.parametrize("role", [ANONYMOUS, *ROLES])
def test_post_routes_refuse_wrong_roles_and_change_nothing(client, factory, engine, role):
    """With a valid CSRF token, is a wrong role still refused (403) and nothing written?"""
    cast = make_cast(factory)
    if role == ANONYMOUS:
        token = csrf_token(client, "/login")
    else:
        assert sign_in(client, cast.email(role)).status_code == 302
        token = home_token(client, role)
    before = snapshot(engine)
    observed, expected = {}, {}
    for endpoint, (template, allowed) in POST_ROUTES.items():
        if role in allowed:
            continue  # the right role's POSTs are the feature tests' business
        url = _fill(template, cast)
        observed[endpoint] = _outcome(client.post(url, data={"csrf_token": token, **POST_DATA}))
        expected[endpoint] = _expected(role, url, allowed)
    assert observed == expected
    assert snapshot(engine) == before


@pytest.mark.parametrize("role,endpoint", FORM_PAGES_WITH_SELECTS)
def test_form_pages_with_choices_render_without_deprecated_calls(client, factory, role,
                                                                 endpoint):
    """Do the pages with a drop-down render cleanly with warnings treated as errors?"""
    cast = make_cast(factory)
    assert sign_in(client, cast.email(role)).status_code == 302
    assert client.get(_fill(GET_ROUTES[endpoint][0], cast)).status_code == 200
