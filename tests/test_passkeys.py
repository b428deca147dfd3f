"""Passkeys: added while signed in, then the passkey alone signs in (staff included, as it
is two factors in one), and only a genuine, user-verified, fresh answer from this site's
origin is accepted."""

import pytest
from sqlalchemy import select

from compliance.models import AuditEvent, Passkey, User, UserSession
from tests.conftest import csrf_token, post_form, sign_in
from tests.webauthn_helpers import SoftAuthenticator

pytestmark = pytest.mark.db

ORIGIN = "http://localhost"  # the tests' PUBLIC_URL


def post_json(client, url: str, body: dict, token_from: str):
    return client.post(url, json=body, headers={"X-CSRFToken": csrf_token(client, token_from)})


def add_passkey(client, device: SoftAuthenticator, name: str = "My phone"):
    options = post_json(client, "/account/passkeys/options", {}, "/account/passkeys")
    assert options.status_code == 200, options.text
    return post_json(client, "/account/passkeys",
                     {"credential": device.create(options.get_json()), "name": name},
                     "/account/passkeys")


def passkey_sign_in(client, device: SoftAuthenticator, **answer):
    options = post_json(client, "/login/passkey/options", {}, "/login")
    return post_json(client, "/login/passkey",
                     {"credential": device.get(options.get_json(), **answer)}, "/login")


def email_of(db, user_id: int) -> str:
    return db.get(User, user_id).email


@pytest.fixture
def patient_email(factory, db):
    return email_of(db, factory.patient(factory.prescriber()).user_id)


def test_a_patient_adds_a_passkey_and_then_signs_in_with_it_alone(frozen, app, client, db,
                                                                  patient_email):
    sign_in(client, patient_email)
    device = SoftAuthenticator(ORIGIN)
    added = add_passkey(client, device, "Pixel in the kitchen")
    assert added.status_code == 201 and added.get_json()["redirect"] == "/account/passkeys"
    assert "Pixel in the kitchen" in client.get("/account/passkeys").text

    elsewhere = app.test_client()
    answer = passkey_sign_in(elsewhere, device)
    assert answer.status_code == 200, answer.text
    assert answer.get_json()["redirect"] == "/patient/"
    assert elsewhere.get("/patient/").status_code == 200
    actions = list(db.scalars(select(AuditEvent.action)))
    assert actions[actions.index("passkey.added") + 1] == "login.succeeded"


def test_a_passkey_signs_staff_in_without_the_code(frozen, app, client, factory, db):
    admin = factory.user("admin")
    sign_in(client, admin.email)
    device = SoftAuthenticator(ORIGIN)
    assert add_passkey(client, device).status_code == 201
    staff = app.test_client()
    assert passkey_sign_in(staff, device).get_json()["redirect"] == "/admin/"
    assert staff.get("/admin/").status_code == 200
    db.expire_all()
    newest = db.scalar(select(UserSession).order_by(UserSession.id.desc()))
    assert newest.second_factor == "passkey"


def test_an_answer_is_good_once(frozen, app, client, patient_email):
    sign_in(client, patient_email)
    device = SoftAuthenticator(ORIGIN)
    add_passkey(client, device)
    thief = app.test_client()
    options = post_json(thief, "/login/passkey/options", {}, "/login").get_json()
    answer = device.get(options)
    assert post_json(thief, "/login/passkey", {"credential": answer}, "/login").status_code == 200
    again = app.test_client()
    post_json(again, "/login/passkey/options", {}, "/login")  # a new challenge
    replayed = post_json(again, "/login/passkey", {"credential": answer}, "/login")
    assert replayed.status_code == 422 and "not recognised" in replayed.get_json()["error"]
    no_challenge = post_json(again, "/login/passkey", {"credential": answer}, "/login")
    assert "Reload it" in no_challenge.get_json()["error"]


@pytest.mark.parametrize("trick", ["another site", "cloned device", "no user check",
                                   "another account", "garbled account"])
def test_a_doubtful_answer_is_refused_and_counted(frozen, app, client, db, patient_email,
                                                  trick):
    sign_in(client, patient_email)
    device = SoftAuthenticator(ORIGIN)
    add_passkey(client, device)
    stranger = app.test_client()
    if trick == "another site":
        answer = passkey_sign_in(stranger, device, origin="https://rems-login.example")
    elif trick == "cloned device":
        passkey_sign_in(app.test_client(), device)
        device.counter = 0  # a copy of the key starts its count again
        answer = passkey_sign_in(stranger, device)
    elif trick == "no user check":
        device.verifies_user = False
        answer = passkey_sign_in(stranger, device)
    else:  # the device names another account than the one the key was made for
        device.user_handle = b"999" if trick == "another account" else b"\xff"
        options = post_json(stranger, "/login/passkey/options", {}, "/login").get_json()
        credential = device.get(options)
        if trick == "garbled account":
            credential["response"]["userHandle"] = "%%%"
        answer = post_json(stranger, "/login/passkey", {"credential": credential}, "/login")
    assert answer.status_code == 422
    assert stranger.get("/patient/").status_code == 302
    failed = db.scalar(select(AuditEvent).where(AuditEvent.action == "login.failed"))
    assert failed.summary == {"passkey": True}


def test_a_device_that_does_not_check_its_user_cannot_add_a_passkey(frozen, client, db,
                                                                     patient_email):
    sign_in(client, patient_email)
    refused = add_passkey(client, SoftAuthenticator(ORIGIN, verifies_user=False))
    assert refused.status_code == 422
    assert "did not make a passkey" in refused.get_json()["error"]
    assert db.scalar(select(Passkey)) is None


def test_unknown_passkeys_are_throttled(frozen, app):
    stranger = app.test_client()
    for _ in range(5):
        assert passkey_sign_in(stranger, SoftAuthenticator(ORIGIN)).status_code == 422
    throttled = passkey_sign_in(stranger, SoftAuthenticator(ORIGIN))
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0


def test_a_removed_passkey_or_a_deactivated_account_signs_in_no_more(frozen, app, client, db,
                                                                     factory, patient_email):
    sign_in(client, patient_email)
    kept, dropped = SoftAuthenticator(ORIGIN), SoftAuthenticator(ORIGIN)
    add_passkey(client, kept, "Laptop")
    add_passkey(client, dropped, "Old phone")
    dropped_id = db.scalar(select(Passkey.id).where(Passkey.name == "Old phone"))
    other = factory.patient(factory.prescriber())
    theirs = app.test_client()
    sign_in(theirs, email_of(db, other.user_id))
    stolen = post_form(theirs, f"/account/passkeys/{dropped_id}/remove", {},
                       token_from="/account/passkeys", follow_redirects=True)
    assert "No such passkey" in stolen.text
    removed = post_form(client, f"/account/passkeys/{dropped_id}/remove", {},
                        token_from="/account/passkeys", follow_redirects=True)
    assert "removed; it no longer signs you in" in removed.text
    assert passkey_sign_in(app.test_client(), dropped).status_code == 422
    user = db.scalar(select(User).where(User.email == patient_email))
    user.is_active = False
    db.commit()
    assert "deactivated" in passkey_sign_in(app.test_client(), kept).get_json()["error"]


@pytest.mark.parametrize("credential", [
    None, "x", 5, [], {}, {"rawId": 5}, {"id": "a", "rawId": "a", "response": {}},
    {"id": "%%", "rawId": "%%", "type": "public-key",
     "response": {"clientDataJSON": "%%", "attestationObject": "%%", "authenticatorData": "%%",
                  "signature": "%%"}},
])
def test_garbage_answers_are_refused_plainly(frozen, app, client, patient_email, credential):
    """No answer a page or a script could send makes a 500."""
    sign_in(client, patient_email)
    post_json(client, "/account/passkeys/options", {}, "/account/passkeys")
    added = post_json(client, "/account/passkeys", {"credential": credential},
                      "/account/passkeys")
    assert added.status_code == 422 and added.get_json()["error"]
    stranger = app.test_client()
    post_json(stranger, "/login/passkey/options", {}, "/login")
    signed = post_json(stranger, "/login/passkey", {"credential": credential}, "/login")
    assert signed.status_code == 422 and signed.get_json()["error"]
