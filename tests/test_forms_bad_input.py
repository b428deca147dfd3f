"""Does every form accept good input, refuse bad input next to the right field while keeping
what was typed, and survive hostile input without a 500 or an invalid row?"""

import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from compliance.models import (
    AuditEvent,
    Invitation,
    LoginAttempt,
    PatientProfile,
    PharmacistProfile,
    Pharmacy,
    PrescriberProfile,
    User,
    UserSession,
)
from compliance.models.types import utcnow
from compliance.services.invitations import issue_invitation
from tests.conftest import PASSWORD, post_form
from tests.form_helpers import (
    EMOJI,
    HOSTILE_SCRIPT,
    HUGE,
    NEW_PASSWORD,
    NUL,
    RTL_OVERRIDE,
    SQLISH,
    VALID,
    assert_error_next_to,
    assert_no_error_on,
    emailed_path,
    fast_sign_in,
    field_value,
    form_level_errors,
    fullwidth,
)

NAME_FIELD = {"prescriber": "name", "pharmacy": "name", "pharmacist": "name",
              "patient": "given_name"}
SECRET_FIELDS = {"password", "confirm"}


@dataclass
class Scene:
    """A form ready to be filled in, and the values already taken in the registry."""

    url: str
    taken: dict
    pharmacy_id: int = 0
    prescriber_id: int = 0  # the signed-in prescriber's profile


def open_form(kind: str, client, factory) -> Scene:
    """Create what the form needs (a signed-in user, targets, taken values); return its URL."""
    db = factory.db
    registered = factory.prescriber(email="taken@example.com")
    site = factory.pharmacy()
    taken = {"TAKEN_EMAIL": "taken@example.com", "TAKEN_NPI": registered.npi,
             "TAKEN_PRESCRIBER_ID": str(registered.id),
             "TAKEN_NCPDP": site.ncpdp_id, "TAKEN_PHARMACY_NPI": site.npi}
    if kind == "login":
        return Scene("/login", taken)
    if kind == "set_password":
        newcomer = factory.user("pharmacist", password=False)  # a patient's asks the birth date
        token = issue_invitation(db, user=newcomer, issued_by=None, now=utcnow(), valid_days=7)
        db.commit()
        return Scene(f"/invitations/{token}", taken)
    if kind == "patient":
        me = factory.prescriber()
        fast_sign_in(client, db, db.get(User, me.user_id))
        return Scene("/prescriber/patients/new", taken, site.id, me.id)
    fast_sign_in(client, db, factory.user("admin"))
    url = {
        "prescriber": "/admin/prescribers/new",
        "pharmacy": "/admin/pharmacies/new",
        "pharmacist": f"/admin/pharmacies/{site.id}",
        "prescriber_certification": f"/admin/prescribers/{registered.id}/certification",
        "pharmacy_certification": f"/admin/pharmacies/{site.id}/certification",
    }[kind]
    return Scene(url, taken, site.id)


def fill(kind: str, scene: Scene, changes: dict) -> dict:
    """The valid data with `changes` applied (None removes a field), taken values filled in."""
    data = {**VALID[kind], **changes}
    return {name: scene.taken.get(value, value) for name, value in data.items()
            if value is not None}


def snapshot(db) -> dict:
    """Everything a refused submission must leave exactly as it was."""
    db.rollback()
    counts = {model.__name__: db.scalar(select(func.count()).select_from(model))
              for model in (User, PrescriberProfile, Pharmacy, PharmacistProfile,
                            PatientProfile, Invitation, UserSession, AuditEvent)}
    return {
        **counts,
        "certifications": db.execute(select(
            PrescriberProfile.certification_status, PrescriberProfile.certified_on,
            PrescriberProfile.certification_expires_on).order_by(PrescriberProfile.id)).all()
        + db.execute(select(Pharmacy.certification_status, Pharmacy.certified_on,
                            Pharmacy.certification_expires_on).order_by(Pharmacy.id)).all(),
        "passwords": db.scalars(select(User.password_hash).order_by(User.id)).all(),
        "invitations_used": db.scalars(select(Invitation.used_at).order_by(Invitation.id)).all(),
    }


def unchanged(before: dict, after: dict, kind: str) -> bool:
    if kind == "login":  # a failed sign-in is recorded on purpose (attempt + audit event)
        before, after = ({k: v for k, v in d.items() if k != "AuditEvent"}
                         for d in (before, after))
    return before == after


def assert_kept(html: str, data: dict, skip: tuple = ()) -> None:
    """Every value the person typed is shown again, except passwords."""
    for name, typed in data.items():
        if name in SECRET_FIELDS or name in skip:
            continue
        expected = "on" if name == "responsible" else typed
        assert field_value(html, name) == expected, f"{name} lost what was typed"
    for name in SECRET_FIELDS & data.keys():
        assert field_value(html, name) == "", f"{name} was sent back to the browser"



# --- valid submissions ---------------------------------------------------------------------

def test_login_with_right_password_signs_in(client, factory, frozen):
    """Does the login form accept the right email (in any case) and password?"""
    scene = open_form("login", client, factory)
    response = post_form(client, scene.url, fill("login", scene, {"email": "Taken@Example.com"}))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login/code")  # then the app's code


def test_set_password_through_invitation_works(client, factory, frozen):
    """Does the set-password form accept a strong password and send the person to sign in?"""
    scene = open_form("set_password", client, factory)
    response = post_form(client, scene.url, VALID["set_password"])
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")
    factory.db.rollback()
    assert factory.db.scalar(select(func.count()).select_from(User)
                             .where(User.password_hash.is_not(None),
                                    User.role == "pharmacist")) == 1


@pytest.mark.parametrize("kind", ["prescriber", "pharmacist", "patient"])
def test_registration_forms_accept_valid_input_and_email_a_link(client, factory, frozen, kind):
    """Do the forms that create an account accept valid input, email its activation link to
    the new account (never showing it) and send the creator on, so a reload sends nothing?"""
    scene = open_form(kind, client, factory)
    response = post_form(client, scene.url, VALID[kind])
    assert response.status_code == 302
    email = VALID[kind]["email"]
    shown = client.get(response.headers["Location"])
    assert f"An activation link was emailed to {email}" in shown.text
    assert emailed_path(factory.db, email) not in shown.text
    assert factory.db.scalar(select(User).where(User.email == email)) is not None


def test_pharmacy_form_accepts_valid_input(client, factory, frozen):
    """Does a valid pharmacy registration create the pharmacy, pending certification?"""
    scene = open_form("pharmacy", client, factory)
    response = post_form(client, scene.url, VALID["pharmacy"])
    assert response.status_code == 302
    site = factory.db.scalar(select(Pharmacy).where(Pharmacy.ncpdp_id == "7654321"))
    assert response.headers["Location"].endswith(f"/admin/pharmacies/{site.id}")
    assert site.certification_status == "pending"


@pytest.mark.parametrize("kind", ["prescriber_certification", "pharmacy_certification"])
def test_certification_form_saves_valid_dates(client, factory, frozen, kind):
    """Does a valid certification decision get saved with its dates?"""
    scene = open_form(kind, client, factory)
    response = post_form(client, scene.url, VALID[kind])
    assert response.status_code == 302
    after = snapshot(factory.db)
    assert ("certified", date(2026, 11, 1), date(2027, 11, 1)) in after["certifications"]


# --- invalid submissions -------------------------------------------------------------------

INVALID = [
    # kind, changes, field, message fragment
    ("login", {"email": None}, "email", "required"),
    ("login", {"password": None}, "password", "required"),
    ("login", {"password": "wrong password!"}, "password", "not right"),
    ("login", {"email": "nobody@example.com"}, "password", "not right"),
    ("login", {"email": "not-an-email"}, "password", "not right"),
    ("set_password", {"password": None}, "password", "required"),
    ("set_password", {"confirm": None}, "confirm", "required"),
    ("set_password", {"password": "short1!", "confirm": "short1!"}, "password", "at least 12"),
    ("set_password", {"password": "a" * 20, "confirm": "a" * 20}, "password", "repetitive"),
    ("set_password", {"password": "abcdef" * 22, "confirm": "abcdef" * 22}, "password",
     "at most 128"),
    # common, breached or patterned: refused by an offline estimate (zxcvbn score under 3)
    ("set_password", {"password": "password1234", "confirm": "password1234"}, "password",
     "very common password"),
    ("set_password", {"password": "qwertyuiop123", "confirm": "qwertyuiop123"}, "password",
     "add a few words"),
    ("set_password", {"password": "iloveyou12345", "confirm": "iloveyou12345"}, "password",
     "commonly used"),
    ("set_password", {"confirm": NEW_PASSWORD + "?"}, "confirm", "differ"),
    ("prescriber", {"name": None}, "name", "required"),
    ("prescriber", {"name": "   "}, "name", "required"),
    ("prescriber", {"email": None}, "email", "required"),
    ("prescriber", {"npi": None}, "npi", "required"),
    ("prescriber", {"practice_name": None}, "practice_name", "required"),
    ("prescriber", {"npi": "1234567890"}, "npi", "check digit"),
    ("prescriber", {"npi": "123456789"}, "npi", "10-digit NPI"),
    ("prescriber", {"npi": "12345678933"}, "npi", "10-digit NPI"),
    ("prescriber", {"npi": "12345678AB"}, "npi", "10-digit NPI"),
    ("prescriber", {"email": "not-an-email"}, "email", "email"),
    ("prescriber", {"email": "jane@"}, "email", "email"),
    ("prescriber", {"email": "TAKEN_EMAIL"}, "email", "already exists"),
    ("prescriber", {"email": "  TAKEN@Example.COM "}, "email", "already exists"),
    ("prescriber", {"npi": "TAKEN_NPI"}, "npi", "already registered"),
    ("pharmacy", {"name": None}, "name", "required"),
    ("pharmacy", {"address_line": None}, "address_line", "required"),
    ("pharmacy", {"city": None}, "city", "required"),
    ("pharmacy", {"state": None}, "state", "required"),
    ("pharmacy", {"postal_code": None}, "postal_code", "required"),
    ("pharmacy", {"ncpdp_id": None}, "ncpdp_id", "required"),
    ("pharmacy", {"npi": None}, "npi", "required"),
    ("pharmacy", {"ncpdp_id": "123456"}, "ncpdp_id", "7-digit NCPDP"),
    ("pharmacy", {"ncpdp_id": "12345678"}, "ncpdp_id", "7-digit NCPDP"),
    ("pharmacy", {"ncpdp_id": "12345a7"}, "ncpdp_id", "7-digit NCPDP"),
    ("pharmacy", {"state": "N1"}, "state", "format"),
    ("pharmacy", {"state": "NYC"}, "state", "longer than 2"),
    ("pharmacy", {"state": "N"}, "state", "format"),
    ("pharmacy", {"postal_code": "1218"}, "postal_code", "format"),
    ("pharmacy", {"postal_code": "121800"}, "postal_code", "format"),
    ("pharmacy", {"postal_code": "12180-12"}, "postal_code", "format"),
    ("pharmacy", {"postal_code": "ABCDE"}, "postal_code", "format"),
    ("pharmacy", {"npi": "1234567890"}, "npi", "check digit"),
    ("pharmacy", {"ncpdp_id": "TAKEN_NCPDP"}, "ncpdp_id", "already registered"),
    ("pharmacy", {"npi": "TAKEN_PHARMACY_NPI"}, "npi", "already registered"),
    ("pharmacist", {"name": None}, "name", "required"),
    ("pharmacist", {"email": None}, "email", "required"),
    ("pharmacist", {"email": "pharmacist at example"}, "email", "email"),
    ("pharmacist", {"email": "TAKEN_EMAIL"}, "email", "already exists"),
    ("patient", {"given_name": None}, "given_name", "required"),
    ("patient", {"family_name": None}, "family_name", "required"),
    ("patient", {"family_name": "  "}, "family_name", "required"),
    ("patient", {"date_of_birth": None}, "date_of_birth", "required"),
    ("patient", {"email": None}, "email", "required"),
    ("patient", {"category_reason": None}, "category_reason", "required"),
    ("patient", {"category_reason": "ok"}, "category_reason", "at least 3"),
    ("patient", {"category": ""}, "category", "Choose the patient's category"),
    ("patient", {"category": "maybe_pregnant"}, "category", "not a valid choice"),
    ("patient", {"date_of_birth": "2027-01-01"}, "date_of_birth", "must be in the past"),
    ("patient", {"date_of_birth": "2026-11-23"}, "date_of_birth", "must be in the past"),
    ("patient", {"date_of_birth": "1896-11-23"}, "date_of_birth", "year of birth"),
    ("patient", {"date_of_birth": "17/05/2004"}, "date_of_birth", "not a valid date"),
    ("patient", {"email": "casey@@example.com"}, "email", "email"),
    ("patient", {"email": "TAKEN_EMAIL"}, "email", "already exists"),
    ("patient", {"phone": "call me maybe"}, "phone", "format"),
    *[(kind, changes, name, fragment)
      for kind in ("prescriber_certification", "pharmacy_certification")
      for changes, name, fragment in [
          ({"status": "revoked"}, "status", "not a valid choice"),
          ({"certified_on": "yesterday"}, "certified_on", "not a valid date"),
          ({"expires_on": "2027-02-30"}, "expires_on", "not a valid date"),
      ]],
    *[pytest.param(kind, changes, name, fragment, id=f"{kind}-{label}")
      for kind in ("prescriber_certification", "pharmacy_certification")
      for label, changes, name, fragment in [
          # a browser sends an emptied date field as "" (an absent field keeps the
          # date already on file, which the form shows pre-filled)
          ("certified-without-dates", {"certified_on": "", "expires_on": ""},
           "certified_on", "needs the date it starts"),
          ("certified-without-dates-expiry", {"certified_on": "", "expires_on": ""},
           "expires_on", "needs the date it expires"),
          ("certified-without-expiry", {"expires_on": ""}, "expires_on",
           "needs the date it expires"),
          ("expiry-before-certification", {"expires_on": "2026-10-31"}, "expires_on",
           "after the certification date"),
          ("expiry-on-certification-day", {"expires_on": "2026-11-01"}, "expires_on",
           "after the certification date"),
      ]],
]


@pytest.mark.parametrize("kind,changes,name,fragment", INVALID)
def test_invalid_input_is_refused_next_to_its_field(client, factory, frozen, kind, changes,
                                                    name, fragment):
    """Is bad input answered with 422, the message next to the field, the typed values kept,
    and nothing stored?"""
    scene = open_form(kind, client, factory)
    data = fill(kind, scene, changes)
    before = snapshot(factory.db)
    response = post_form(client, scene.url, data)
    assert response.status_code == 422
    assert_error_next_to(response.text, name, fragment)
    skip = ("category", "status") if "not a valid choice" in fragment else ()
    assert_kept(response.text, data, skip=skip)
    assert unchanged(before, snapshot(factory.db), kind)


@pytest.mark.parametrize("status", ["pending", "suspended"])
def test_certification_without_dates_is_fine_when_not_certified(client, factory, frozen,
                                                                status):
    """May an admin set a prescriber back to pending or suspended without giving dates?"""
    scene = open_form("prescriber_certification", client, factory)
    response = post_form(client, scene.url, {"status": status, "certified_on": "",
                                             "expires_on": ""})
    assert response.status_code == 302
    assert (status, None, None) in snapshot(factory.db)["certifications"]


@pytest.mark.parametrize("instant,born,accepted", [
    (datetime(2026, 11, 24, 4, 59, 59, tzinfo=UTC), "2026-11-23", False),  # 23:59:59 in NY
    (datetime(2026, 11, 24, 4, 59, 59, tzinfo=UTC), "2026-11-22", True),
    (datetime(2026, 11, 24, 5, 0, tzinfo=UTC), "2026-11-23", True),  # midnight in NY
    (datetime(2026, 11, 24, 5, 0, tzinfo=UTC), "2026-11-24", False),
])
def test_date_of_birth_is_judged_by_the_program_day(client, factory, frozen, instant, born,
                                                    accepted):
    """Is "today" for the date of birth the day in New York, not in UTC?"""
    frozen.move_to(instant)
    scene = open_form("patient", client, factory)
    response = post_form(client, scene.url, fill("patient", scene, {"date_of_birth": born}))
    assert response.status_code == (302 if accepted else 422)
    if not accepted:
        assert_error_next_to(response.text, "date_of_birth", "must be in the past")


def test_one_bad_field_does_not_mark_the_others(client, factory, frozen):
    """When only the NPI is wrong, are the other fields left unmarked?"""
    scene = open_form("prescriber", client, factory)
    response = post_form(client, scene.url, fill("prescriber", scene, {"npi": "1234567890"}))
    assert response.status_code == 422
    for name in ("name", "email", "practice_name"):
        assert_no_error_on(response.text, name)


def test_uncertified_prescriber_is_told_why_and_keeps_the_form(client, factory, frozen):
    """Does a prescriber whose certification is not in force get a clear refusal, with the
    form shown again as typed and no patient created?"""
    me = factory.prescriber(certified=False)
    fast_sign_in(client, factory.db, factory.db.get(User, me.user_id))
    before = snapshot(factory.db)
    response = post_form(client, "/prescriber/patients/new", VALID["patient"])
    assert response.status_code == 422
    assert "certification is not in force" in form_level_errors(response.text)
    assert_kept(response.text, VALID["patient"])
    assert unchanged(before, snapshot(factory.db), "patient")


# --- hostile input -------------------------------------------------------------------------

ALL_KINDS = list(VALID)


def _stored_names(db) -> set[str]:
    db.rollback()
    names = set(db.scalars(select(User.name)))
    names |= set(db.scalars(select(Pharmacy.name)))
    names |= set(db.scalars(select(PatientProfile.given_name)))
    return names


@pytest.mark.parametrize("kind", ["prescriber", "pharmacy", "pharmacist", "patient"])
@pytest.mark.parametrize("value", [HOSTILE_SCRIPT, EMOJI, SQLISH, "O'Brien-Łukasz 李"],
                         ids=["script", "emoji", "sql", "apostrophe-and-scripts"])
def test_odd_but_printable_names_are_stored_exactly_and_escaped(client, factory, frozen,
                                                                kind, value):
    """Is a strange name stored exactly as typed (no injection) and escaped wherever shown?"""
    scene = open_form(kind, client, factory)
    response = post_form(client, scene.url, fill(kind, scene, {NAME_FIELD[kind]: value}),
                         follow_redirects=True)
    assert response.status_code == 200
    assert HOSTILE_SCRIPT not in response.text
    assert value in _stored_names(factory.db)
    listing = {"prescriber": "/admin/prescribers", "pharmacy": "/admin/pharmacies",
               "pharmacist": "/admin/users", "patient": "/prescriber/"}[kind]
    page = client.get(listing)
    assert page.status_code == 200
    assert HOSTILE_SCRIPT not in page.text
    if value == HOSTILE_SCRIPT:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_ten_thousand_characters_in_every_field_are_refused(client, factory, frozen, kind):
    """Is a 10,000-character value in every field refused (422), not stored, not a 500?"""
    scene = open_form(kind, client, factory)
    data = {name: HUGE for name in VALID[kind]}
    before = snapshot(factory.db)
    response = post_form(client, scene.url, data)
    assert response.status_code == 422
    assert unchanged(before, snapshot(factory.db), kind)


@pytest.mark.parametrize("kind", ["login", "prescriber", "pharmacy", "pharmacist", "patient"])
def test_ten_thousand_character_name_is_refused_next_to_the_field(client, factory, frozen,
                                                                   kind):
    """Is an over-long name refused next to the name field, with the other values kept?"""
    scene = open_form(kind, client, factory)
    name = NAME_FIELD.get(kind, "email")
    data = fill(kind, scene, {name: HUGE})
    response = post_form(client, scene.url, data)
    assert response.status_code == 422
    assert_error_next_to(response.text, name, "longer than")
    assert_kept(response.text, data)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_nul_bytes_never_cause_a_500(client, factory, frozen, kind):
    """Does a NUL byte in every field get an answer other than a server error?"""
    scene = open_form(kind, client, factory)
    data = {name: f"{value}\x00" for name, value in fill(kind, scene, {}).items()}
    response = post_form(client, scene.url, data)
    assert response.status_code < 500


@pytest.mark.parametrize("kind", ["prescriber", "pharmacy", "pharmacist", "patient"])
@pytest.mark.parametrize("value", [NUL, RTL_OVERRIDE, "Ann\u2066Smith", "Ann\x1bSmith"],
                         ids=["nul", "rtl-override", "bidi-isolate", "escape"])
def test_invisible_characters_in_a_name_are_refused(client, factory, frozen, kind, value):
    """Is a name with a control or bidirectional-override character refused next to the
    field (it could hide or disguise who somebody is), with nothing stored?"""
    scene = open_form(kind, client, factory)
    name = NAME_FIELD[kind]
    before = snapshot(factory.db)
    response = post_form(client, scene.url, fill(kind, scene, {name: value}))
    assert response.status_code == 422
    assert_error_next_to(response.text, name, "invisible or control characters")
    assert unchanged(before, snapshot(factory.db), kind)


@pytest.mark.parametrize("kind,field_name", [
    ("patient", "date_of_birth"),
    ("prescriber_certification", "certified_on"),
    ("pharmacy_certification", "expires_on"),
])
@pytest.mark.parametrize("value", ["not a date", "2026-02-30", HOSTILE_SCRIPT,
                                   fullwidth("1999-01-01")])
def test_non_dates_in_date_fields_are_refused(client, factory, frozen, kind, field_name,
                                              value):
    """Is anything but a real date in a date field refused next to it, as typed?"""
    scene = open_form(kind, client, factory)
    data = fill(kind, scene, {field_name: value})
    before = snapshot(factory.db)
    response = post_form(client, scene.url, data)
    assert response.status_code == 422
    assert_error_next_to(response.text, field_name, "not a valid date")
    assert field_value(response.text, field_name) == value
    assert HOSTILE_SCRIPT not in response.text
    assert unchanged(before, snapshot(factory.db), kind)


@pytest.mark.parametrize("kind,field_name", [
    ("patient", "category"),
    ("prescriber_certification", "status"),
    ("pharmacy_certification", "status"),
])
@pytest.mark.parametrize("value", ["admin", HOSTILE_SCRIPT, HUGE])
def test_select_values_outside_the_choices_are_refused(client, factory, frozen, kind,
                                                       field_name, value):
    """Is a value the select does not offer refused, never stored?"""
    scene = open_form(kind, client, factory)
    before = snapshot(factory.db)
    response = post_form(client, scene.url, fill(kind, scene, {field_name: value}))
    assert response.status_code == 422
    assert_error_next_to(response.text, field_name, "not a valid choice")
    assert HOSTILE_SCRIPT not in response.text
    assert unchanged(before, snapshot(factory.db), kind)


EXTRAS = {"role": "admin", "is_active": "0", "certification_status": "certified",
          "prescriber_id": "TAKEN_PRESCRIBER_ID", "user_id": "1", "id": "1", "password_hash": "x",
          "program_patient_id": "AAAAA-AAAAA", "pharmacy_id": "999"}


@pytest.mark.parametrize("kind", ["prescriber", "pharmacy", "pharmacist", "patient"])
def test_unknown_extra_fields_are_ignored(client, factory, frozen, kind):
    """Do extra fields a form does not have change nothing about what is created?"""
    scene = open_form(kind, client, factory)
    response = post_form(client, scene.url, fill(kind, scene, EXTRAS))
    assert response.status_code in (200, 302)
    db = factory.db
    db.rollback()
    if kind == "pharmacy":
        site = db.scalar(select(Pharmacy).where(Pharmacy.ncpdp_id == "7654321"))
        assert site.certification_status == "pending"
        return
    user = db.scalar(select(User).where(User.email == VALID[kind]["email"]))
    assert user.role == ("patient" if kind == "patient" else kind)
    assert user.is_active and user.password_hash is None
    if kind == "prescriber":
        profile = db.scalar(select(PrescriberProfile).where(PrescriberProfile.user_id == user.id))
        assert profile.certification_status == "pending"
    if kind == "pharmacist":
        profile = db.scalar(select(PharmacistProfile)
                            .where(PharmacistProfile.user_id == user.id))
        assert profile.pharmacy_id == scene.pharmacy_id
    if kind == "patient":
        profile = db.scalar(select(PatientProfile).where(PatientProfile.user_id == user.id))
        assert profile.program_patient_id != "AAAAA-AAAAA"
        assert profile.prescriber_id == scene.prescriber_id


@pytest.mark.parametrize("value,field_name,fragment,attempts", [
    (HOSTILE_SCRIPT, "password", "not right", 1),
    (SQLISH, "password", "not right", 1),
    ("taken@example.com' --", "password", "not right", 1),
    (EMOJI, "password", "not right", 1),
    (RTL_OVERRIDE, "password", "not right", 1),
    (NUL, "email", "invisible or control characters", 0),
    ("taken@example.com\x00", "email", "invisible or control characters", 0),
])
def test_hostile_login_emails_are_refused_without_a_session(client, factory, frozen, value,
                                                            field_name, fragment, attempts):
    """Does a hostile email at the login form get a plain refusal, escaped, and no session
    (control characters refused before any lookup, the rest counted as a failed try)?"""
    scene = open_form("login", client, factory)
    before = factory.db.scalar(select(func.count()).select_from(LoginAttempt))
    response = post_form(client, scene.url, {"email": value, "password": PASSWORD})
    assert response.status_code == 422
    assert_error_next_to(response.text, field_name, fragment)
    assert HOSTILE_SCRIPT not in response.text
    factory.db.rollback()
    assert factory.db.scalar(select(func.count()).select_from(UserSession)) == 0
    assert factory.db.scalar(select(func.count()).select_from(LoginAttempt)) == before + attempts


@pytest.mark.parametrize("changes,field_name,fragment", [
    ({"ncpdp_id": fullwidth("7654321")}, "ncpdp_id", "7-digit NCPDP"),
    ({"npi": fullwidth("1234567893")}, "npi", "10-digit NPI"),
    ({"postal_code": fullwidth("12180")}, "postal_code", "format"),
])
def test_non_ascii_digits_are_refused(client, factory, frozen, changes, field_name, fragment):
    """Are look-alike digits (full-width) refused with the usual message, nothing stored?"""
    scene = open_form("pharmacy", client, factory)
    before = snapshot(factory.db)
    response = post_form(client, scene.url, fill("pharmacy", scene, changes))
    assert response.status_code == 422
    assert_error_next_to(response.text, field_name, fragment)
    assert unchanged(before, snapshot(factory.db), "pharmacy")


@pytest.mark.parametrize("kind", ["patient", "prescriber_certification"])
def test_forms_with_a_select_render_without_deprecation_warnings(client, factory, frozen, kind):
    """Do the forms with a select render without any warning (WTForms 3.3 deprecates
    tuple choices, removed in 3.4)?"""
    scene = open_form(kind, client, factory)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        response = client.get(scene.url)
    assert response.status_code == 200


@pytest.mark.parametrize(("password", "accepted"), [
    ("seven77", False),  # 7 characters
    ("password1234", False),  # 12 characters, among the most breached
    ("correct horse battery staple", True),
    ("vault maple river 71 quiet lantern basil orbit canyon frost echo", True),  # 64
])
def test_password_policy_at_its_boundaries(password, accepted):
    """Too short or too guessable: refused with the reason; a long passphrase: accepted,
    64 characters included."""
    from compliance.models.inputs import PasswordSet

    if accepted:
        assert PasswordSet(password=password, confirm=password).password == password
    else:
        with pytest.raises(ValueError):
            PasswordSet(password=password, confirm=password)
