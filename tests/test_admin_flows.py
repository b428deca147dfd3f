"""Can the administrator and a prescriber bring people into the program from start to end?"""

import re
from datetime import date

import pytest
from sqlalchemy import select

from compliance.identifiers import normalise_program_patient_id, npi_with_check_digit
from compliance.models import Course, PatientProfile, Pharmacy, User
from tests.conftest import post_form, sign_in
from tests.form_helpers import (
    NEW_PASSWORD,
    VALID,
    assert_error_next_to,
    emailed_path,
    fast_sign_in,
    field_value,
)

ADMIN_EMAIL = "admin@example.com"



@pytest.fixture
def admin(app, factory, frozen):
    """A browser where the program administrator has signed in (for real)."""
    factory.user("admin", email=ADMIN_EMAIL, name="Program Admin")
    browser = app.test_client()
    assert sign_in(browser, ADMIN_EMAIL).status_code == 302
    return browser


def submit(client, url: str, data: dict, **kwargs):
    return post_form(client, url, data, **kwargs)


def activate(app, link: str, password: str = NEW_PASSWORD, **asked):
    """The invited person opens their link in their own browser and chooses a password
    (a patient also gives the date of birth: `asked`)."""
    browser = app.test_client()
    page = browser.get(link)
    assert page.status_code == 200
    done = submit(browser, link, {"password": password, "confirm": password, **asked},
                  follow_redirects=True)
    assert done.status_code == 200
    assert "Your password is set" in done.text
    return browser


def test_admin_registers_a_prescriber_who_activates_and_signs_in(app, admin, db):
    """Does a new prescriber get a one-time link by email (never on the admin's page), set a
    password and reach their home?"""
    response = submit(admin, "/admin/prescribers/new", VALID["prescriber"],
                      follow_redirects=True)
    assert response.status_code == 200
    assert "Prescriber Dr. Jane Doe registered." in response.text
    assert f"emailed to {VALID['prescriber']['email']}; it works once" in response.text
    link = emailed_path(db, VALID["prescriber"]["email"])
    assert link not in response.text
    listing = admin.get("/admin/prescribers")
    assert "Dr. Jane Doe" in listing.text
    assert "pending" in listing.text
    browser = activate(app, link)
    signed_in = sign_in(browser, VALID["prescriber"]["email"], NEW_PASSWORD)
    assert signed_in.status_code == 200  # the first sign-in set up the authenticator
    assert "Your recovery codes" in signed_in.text
    assert 'href="/prescriber/"' in signed_in.text
    assert browser.get("/prescriber/").status_code == 200
    assert app.test_client().get(link).status_code == 404


def test_admin_sets_up_a_certified_pharmacy_with_two_pharmacists(app, admin, db):
    """Can the admin register and certify a pharmacy and add two pharmacists (one of them
    responsible), each of whom activates and sees the pharmacy?"""
    created = submit(admin, "/admin/pharmacies/new", VALID["pharmacy"])
    assert created.status_code == 302
    site_url = created.headers["Location"]
    site_id = int(site_url.rstrip("/").rsplit("/", 1)[1])
    certified = submit(admin, f"/admin/pharmacies/{site_id}/certification",
                       {"status": "certified", "certified_on": "2026-11-01",
                        "expires_on": "2027-11-01", "staff_trained_on": "2026-10-20"},
                       follow_redirects=True)
    assert certified.status_code == 200
    assert "from November 1, 2026 until November 1, 2027" in certified.text
    assert ('Staff training</dt><dd id="staff-training">recorded on October 20, 2026'
            in certified.text)
    links = {}
    for name, email, responsible in [("Jordan Lee", "jordan.lee@example.com", "y"),
                                     ("Sam Diaz", "sam.diaz@example.com", "")]:
        added = submit(admin, f"/admin/pharmacies/{site_id}",
                       {"name": name, "email": email, "responsible": responsible},
                       follow_redirects=True)
        assert added.status_code == 200
        assert f"Pharmacist {name} added to Corner Pharmacy." in added.text
        links[email] = emailed_path(db, email)
    staff_page = admin.get(f"/admin/pharmacies/{site_id}").text
    assert re.search(r"Jordan Lee \(jordan.lee@example.com\)\s*<span class=\"badge\">"
                     r"responsible pharmacist", staff_page)
    assert "Sam Diaz (sam.diaz@example.com)</li>" in staff_page
    for email, link in links.items():
        browser = activate(app, link)
        first = sign_in(browser, email, NEW_PASSWORD)  # sets up the authenticator app
        assert "Your recovery codes" in first.text
        home = browser.get("/pharmacist/")
        assert home.status_code == 200
        assert "Corner Pharmacy" in home.text
        assert "certified" in home.text
    site = db.get(Pharmacy, site_id)
    responsible = db.scalar(select(User).where(User.email == "jordan.lee@example.com"))
    assert site.responsible_pharmacist_id == responsible.id


def test_moving_the_responsible_pharmacist_role_asks_first(admin, factory, db):
    """Adding a second responsible pharmacist: is the admin asked, next to a box naming the
    current holder, before the role moves, with nothing created until they confirm?"""
    site = factory.pharmacy()
    holder = factory.pharmacist(site, name="Lee Lead")
    site.responsible_pharmacist_id = holder.id
    db.commit()
    typed = {"name": "Jordan Lee", "email": "jordan.lee@example.com", "responsible": "y"}
    asked = submit(admin, f"/admin/pharmacies/{site.id}", typed)
    assert asked.status_code == 422
    assert_error_next_to(asked.text, "move_responsible",
                         "Lee Lead is this pharmacy's responsible pharmacist now")
    assert field_value(asked.text, "name") == "Jordan Lee"
    assert field_value(asked.text, "responsible") == "on"
    assert db.scalar(select(User).where(User.email == typed["email"])) is None
    moved = submit(admin, f"/admin/pharmacies/{site.id}", {**typed, "move_responsible": "y"})
    assert moved.status_code == 302
    db.expire_all()
    newcomer = db.scalar(select(User).where(User.email == typed["email"]))
    assert db.get(Pharmacy, site.id).responsible_pharmacist_id == newcomer.id
    plain = submit(admin, f"/admin/pharmacies/{site.id}",
                   {"name": "Sam Diaz", "email": "sam.diaz@example.com"})
    assert plain.status_code == 302, "adding a pharmacist who is not responsible never asks"


def test_deactivated_account_cannot_sign_in_until_reactivated(app, admin, factory, db):
    """Does deactivation end the person's session and stop sign-in, and reactivation undo it?"""
    person = factory.prescriber(email="dr.gone@example.com")
    theirs = app.test_client()
    assert sign_in(theirs, "dr.gone@example.com").status_code == 302
    asked = admin.get(f"/admin/users/{person.user_id}/deactivate")
    assert "will no longer be able to sign in" in asked.text
    unsaid = submit(admin, f"/admin/users/{person.user_id}/deactivate", {"reason": " "})
    assert unsaid.status_code == 422
    assert_error_next_to(unsaid.text, "reason", "Say why this account is deactivated.")
    off = submit(admin, f"/admin/users/{person.user_id}/deactivate",
                 {"reason": "Left the practice."}, follow_redirects=True)
    assert "is now deactivated" in off.text
    kicked = theirs.get("/prescriber/", follow_redirects=True)
    assert "This account has been deactivated." in kicked.text
    refused = sign_in(app.test_client(), "dr.gone@example.com")
    assert refused.status_code == 422
    assert "This account is deactivated" in refused.text  # told, with the right password
    assert "contact your program administrator" in refused.text
    wrong = sign_in(app.test_client(), "dr.gone@example.com", "not the password at all")
    assert "The email or password is not right." in wrong.text
    assert "deactivated" not in wrong.text  # nobody else learns the account's state
    on = submit(admin, f"/admin/users/{person.user_id}/reactivate", {},
                token_from="/admin/users", follow_redirects=True)
    assert "is now active" in on.text
    assert sign_in(app.test_client(), "dr.gone@example.com").status_code == 302


def test_admin_cannot_deactivate_themself(admin, db):
    """Is an administrator refused when deactivating their own account, and still in?"""
    me = db.scalar(select(User).where(User.email == ADMIN_EMAIL))
    users_page = admin.get("/admin/users").text
    assert f"/admin/users/{me.id}/deactivate" not in users_page
    response = submit(admin, f"/admin/users/{me.id}/deactivate", {"reason": "Testing"})
    assert "You cannot deactivate your own account." in response.text
    db.rollback()
    assert db.get(User, me.id).is_active
    assert admin.get("/admin/").status_code == 200


def test_new_activation_link_cancels_the_earlier_one(app, admin, db):
    """For an account not yet activated, does a new link make the earlier link useless?"""
    submit(admin, "/admin/prescribers/new", VALID["prescriber"])
    earlier = emailed_path(db, VALID["prescriber"]["email"])
    user = db.scalar(select(User).where(User.email == VALID["prescriber"]["email"]))
    assert "New activation link" in admin.get("/admin/users").text
    again = submit(admin, f"/admin/users/{user.id}/invitation", {}, token_from="/admin/users",
                   follow_redirects=True)
    assert again.status_code == 200
    assert "The earlier link no longer works." in again.text
    later = emailed_path(db, VALID["prescriber"]["email"])
    assert later != earlier
    assert later != earlier
    stale = app.test_client().get(earlier)
    assert stale.status_code == 404
    activate(app, later)


def test_prescriber_registers_a_patient_who_activates_and_sees_their_id(app, client, db,
                                                                        factory, frozen):
    """Does a registered patient get an ID and link, appear in the prescriber's list, and
    see the same ID on their own home page after activating?"""
    prescriber = factory.prescriber()
    fast_sign_in(client, db, db.get(User, prescriber.user_id))
    posted = submit(client, "/prescriber/patients/new", VALID["patient"])
    assert posted.status_code == 302  # a reload of the next page never registers again
    response = client.get(posted.headers["Location"])
    match = re.search(r"Casey Morgan is enrolled with patient ID ([0-9A-Z]{5}-[0-9A-Z]{5})\.",
                      response.text)
    assert match
    patient_id = match.group(1)
    assert normalise_program_patient_id(patient_id) == patient_id
    link = emailed_path(db, VALID["patient"]["email"])
    listing = client.get("/prescriber/")
    assert "Morgan, Casey" in listing.text
    assert patient_id in listing.text
    assert "invited" in listing.text
    browser = activate(app, link, date_of_birth=VALID["patient"]["date_of_birth"])
    assert sign_in(browser, VALID["patient"]["email"], NEW_PASSWORD).status_code == 302
    home = browser.get("/patient/")
    assert home.status_code == 200
    assert patient_id in home.text
    assert "Hello, Casey" in home.text
    assert "May 17, 2004" in home.text
    assert "active" in client.get("/prescriber/").text


def _enrol_many(db, prescriber, count: int) -> None:
    """Many patients in one transaction (the factory commits per row)."""
    for n in range(count):
        user = User(email=f"many{n:03d}@example.com", name=f"Many {n:03d}", role="patient")
        db.add(user)
        db.flush()
        patient = PatientProfile(user_id=user.id, prescriber_id=prescriber.id,
                                 program_patient_id=f"TEST{n:03d}-X", given_name="Many",
                                 family_name=f"Patient{n:03d}", date_of_birth=date(2000, 1, 1),
                                 category="can_get_pregnant", category_reason="Test.")
        db.add(patient)
        db.flush()
        db.add(Course(patient_id=patient.id, prescriber_id=prescriber.id, program="ipledge"))
    db.commit()


@pytest.mark.parametrize("query,page_number", [
    ("", 1), ("&page=2", 2), ("&page=abc", 1), ("&page=-5", 1), ("&page=0", 1),
    ("&page=99999999999999999999", None), ("&page=1.5", 1), ("&page=%00", 1),
])
def test_patient_list_is_paginated(client, db, factory, frozen, query, page_number):
    """With 60 patients, is there a second page, and does a nonsense page number give a
    page, never a 500?"""
    prescriber = factory.prescriber()
    _enrol_many(db, prescriber, 60)
    fast_sign_in(client, db, db.get(User, prescriber.user_id))
    page = client.get(f"/prescriber/?sort=name{query}")
    assert page.status_code == 200
    if page_number is None:  # far past the end: an empty page, still a page
        assert "Page " in page.text
        return
    assert f"Page {page_number} of 2 (60 in all)" in page.text
    rows = re.findall(r"Patient(\d{3}), Many", page.text)
    expected = range(50) if page_number == 1 else range(50, 60)
    assert [int(n) for n in rows] == list(expected)


def test_other_prescribers_patients_are_not_listed(client, db, factory, frozen):
    """Does the list show only the signed-in prescriber's own patients?"""
    mine, theirs = factory.prescriber(), factory.prescriber()
    factory.patient(mine)
    other = factory.patient(theirs)
    fast_sign_in(client, db, db.get(User, mine.user_id))
    page = client.get("/prescriber/").text
    assert "Ient" in page  # the factory's family names
    assert other.family_name not in page
    assert other.program_patient_id not in page


@pytest.mark.parametrize("url", ["/admin/users?page=abc", "/admin/prescribers?page=-5",
                                 "/admin/pharmacies?page=2"])
def test_admin_lists_survive_odd_page_numbers(client, db, factory, frozen, url):
    """Do the admin lists answer odd page numbers with a page, not a 500?"""
    factory.pharmacy()
    fast_sign_in(client, db, factory.user("admin"))
    assert client.get(url).status_code == 200


def test_npi_is_stored_as_typed_without_spaces(app, admin, db):
    """Is the NPI stored exactly as the admin typed it (spaces trimmed)?"""
    npi = npi_with_check_digit("111222333")
    data = {**VALID["prescriber"], "npi": f"  {npi} "}
    assert submit(admin, "/admin/prescribers/new", data).status_code == 302
    assert npi in admin.get("/admin/prescribers").text



def test_a_first_certification_starts_today_for_the_programs_twelve_months(admin, factory):
    """Does a never-certified prescriber's form start today (Nov 23, 2026) and end 12 months
    later, so the admin only picks the status?"""
    prescriber = factory.prescriber(certified=False)
    page = admin.get(f"/admin/prescribers/{prescriber.id}/certification").text
    assert field_value(page, "certified_on") == "2026-11-23"
    assert field_value(page, "expires_on") == "2027-11-23"


@pytest.mark.parametrize(("kind", "expires_on", "refused"), [
    ("prescriber", "2027-11-01", False),   # exactly 12 months
    ("prescriber", "2027-11-02", True),    # a day more
    ("pharmacy", "2027-11-01", False),
    ("pharmacy", "2028-11-01", True),
])
def test_a_certification_longer_than_the_program_allows_is_refused(
        admin, db, factory, kind, expires_on, refused):
    """Is a period longer than the program's 12 months refused next to the expiry date,
    with the admin's values kept, and the period saved otherwise?"""
    if kind == "prescriber":
        target, url = factory.prescriber(certified=False), "/admin/prescribers/{}/certification"
    else:
        target, url = factory.pharmacy(certified=False), "/admin/pharmacies/{}/certification"
    url = url.format(target.id)
    data = {"status": "certified", "certified_on": "2026-11-01", "expires_on": expires_on}
    if kind == "pharmacy":
        data["staff_trained_on"] = "2026-11-01"
    answer = submit(admin, url, data)
    if refused:
        assert answer.status_code == 422
        assert_error_next_to(answer.text, "expires_on",
                             "expires on November 1, 2027 at the latest")
        assert field_value(answer.text, "expires_on") == expires_on
        db.refresh(target)
        assert target.certification_expires_on is None
    else:
        assert answer.status_code == 302
        db.refresh(target)
        assert target.certification_expires_on == date.fromisoformat(expires_on)


def test_deactivating_a_pharmacist_names_their_keys_and_can_hand_them_on(admin, factory, db):
    """Does the deactivation page list the keys the pharmacist made, offer to hand them to
    the responsible pharmacist, and do so when ticked?"""
    from compliance.models import ApiKey
    from compliance.services import api_keys
    from tests.course_helpers import at

    site = factory.pharmacy()
    lead = factory.pharmacist(site, name="Lee Lead")
    leaving = factory.pharmacist(site, name="Sam Leaving")
    site.responsible_pharmacist_id = lead.id
    db.commit()
    key = api_keys.create_key(db, pharmacy=site, name="old system", now=at(0),
                              created_by=leaving.id)
    url = f"/admin/users/{leaving.id}/deactivate"
    page = admin.get(url).text
    assert "Sam Leaving made 1 API key still in use (old system)" in page
    assert "unless you hand them to Lee Lead, the responsible pharmacist" in page
    done = submit(admin, url, {"reason": "Left the pharmacy.", "hand_keys_on": "y"})
    assert done.status_code == 302
    db.expire_all()
    assert db.get(ApiKey, key.row.id).created_by_id == lead.id
    assert db.get(ApiKey, key.row.id).revoked_at is None
