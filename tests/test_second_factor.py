"""Two-step sign-in: staff cannot get in on a password alone, a code works once and only
near its time, codes are guessed under the login throttle, and a lost phone has a way back
(recovery codes, an administrator's reset) that is audited."""

import re
from datetime import timedelta
from urllib.parse import quote

import pyotp
import pytest
import segno
from sqlalchemy import select

from compliance.auth import hash_token
from compliance.models import AuditEvent, RecoveryCode, TotpFactor, User, UserSession
from compliance.models.types import utcnow
from tests.conftest import PASSWORD, current_code, post_form, sign_in

pytestmark = pytest.mark.db

HOME = {"admin": "/admin/", "prescriber": "/prescriber/", "pharmacist": "/pharmacist/",
        "patient": "/patient/"}


def password_step(client, email: str, **kwargs):
    return post_form(client, "/login", {"email": email, "password": PASSWORD},
                     token_from="/login", **kwargs)


def code_step(client, code: str, path: str = "/login/code", **kwargs):
    return post_form(client, path, {"code": code}, **kwargs)


def code_at(db, user, when) -> str:
    factor = db.scalar(select(TotpFactor).where(TotpFactor.user_id == user.id))
    return pyotp.TOTP(factor.secret).at(when)


def field_error(response) -> str:
    match = re.search(r'<p class="field-error" id="(?:off-)?code-error">(.*?)</p>',
                      response.text, re.S)
    return match.group(1).strip() if match else ""


def actions(db) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def staff_user(factory, role: str):
    if role == "prescriber":
        return factory.db.get(User, factory.prescriber().user_id)
    if role == "pharmacist":
        return factory.pharmacist(factory.pharmacy())
    return factory.user("admin")


@pytest.mark.parametrize("role", ["admin", "prescriber", "pharmacist"])
def test_staff_need_the_code_after_the_right_password(frozen, client, factory, role):
    """S1: does a right password alone leave staff signed out until the app's code?"""
    user = staff_user(factory, role)
    answer = password_step(client, user.email)
    assert answer.headers["Location"].endswith("/login/code")
    home = client.get(HOME[role])
    assert home.status_code == 302 and "/login" in home.headers["Location"]
    signed = code_step(client, code_at(factory.db, user, utcnow()))
    assert signed.headers["Location"].endswith(HOME[role])
    assert client.get(HOME[role]).status_code == 200


def test_a_patient_without_the_second_step_signs_in_with_the_password(frozen, client,
                                                                       factory):
    patient = factory.patient(factory.prescriber())
    email = factory.db.get(User, patient.user_id).email
    assert password_step(client, email).headers["Location"].endswith("/patient/")


def test_a_staff_session_opened_without_the_second_step_is_refused(client, factory, db):
    """A session row with no second step (one from before two-step sign-in, or forged into
    the table) does not let staff in."""
    admin = factory.user("admin")
    token = "a-session-made-without-a-code"
    db.add(UserSession(token_hash=hash_token(token), user_id=admin.id, created_at=utcnow(),
                       last_seen_at=utcnow()))
    db.commit()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = token
    home = client.get("/admin/")
    assert home.status_code == 302 and "/login" in home.headers["Location"]


def test_a_code_is_accepted_once(frozen, app, client, factory, db):
    """A code seen over a shoulder, used again within its 30 seconds, opens nothing."""
    admin = factory.user("admin")
    code = code_at(db, admin, utcnow())
    password_step(client, admin.email)
    assert code_step(client, code).status_code == 302
    other = app.test_client()
    password_step(other, admin.email)
    again = code_step(other, code)
    assert again.status_code == 422
    assert "already used" in field_error(again)
    assert other.get("/admin/").status_code == 302


@pytest.mark.parametrize(("offset", "accepted"), [
    (-60, False), (-31, False), (-30, True), (0, True), (29, True), (30, True), (31, True),
    (60, False),
])
def test_a_code_is_good_one_step_either_side_of_now(frozen, client, factory, db, offset,
                                                    accepted):
    """The phone's clock may be off by one 30-second step, not by two (boundaries in seconds
    from the start of the current step)."""
    admin = factory.user("admin")
    now = utcnow()
    step_start = now - timedelta(seconds=now.timestamp() % 30)
    frozen.move_to(step_start)
    password_step(client, admin.email)
    answer = code_step(client, code_at(db, admin, step_start + timedelta(seconds=offset)))
    assert (answer.status_code == 302) is accepted


def test_wrong_codes_are_throttled_like_wrong_passwords_and_audited(frozen, client, factory,
                                                                    db):
    admin = factory.user("admin")
    password_step(client, admin.email)
    for _ in range(5):
        wrong = code_step(client, "000000")
        assert wrong.status_code == 422
    locked = code_step(client, code_at(db, admin, utcnow()))
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "Too many failed attempts" in field_error(locked)
    assert actions(db).count("second_factor.code_failed") == 5
    assert client.get("/admin/").status_code == 302


def test_the_code_step_lapses_after_five_minutes(frozen, client, factory, db):
    admin = factory.user("admin")
    password_step(client, admin.email)
    frozen.tick(timedelta(minutes=5, seconds=1))
    late = code_step(client, code_at(db, admin, utcnow()), token_from="/login")
    assert late.headers["Location"].endswith("/login")
    assert "longer than 5 minutes" in client.get("/login").text


def test_the_code_page_without_a_password_first_sends_to_sign_in(client):
    for path in ("/login/code", "/login/enroll"):
        assert client.get(path).headers["Location"].endswith("/login")


def test_new_staff_set_up_the_app_at_their_first_sign_in(frozen, client, factory, db):
    """The QR code carries the key shown beside it; a wrong first code turns nothing on; the
    right one signs in and shows ten recovery codes once, stored only as digests."""
    admin = factory.user("admin", second_factor=False)
    assert password_step(client, admin.email).headers["Location"].endswith("/login/enroll")
    page = client.get("/login/enroll")
    key = re.search(r'id="setup-key">([A-Z2-7 ]+)<', page.text).group(1).replace(" ", "")
    uri = (f"otpauth://totp/REMS%20compliance:{quote(admin.email)}?secret={key}"
           f"&issuer=REMS%20compliance")
    assert segno.make_qr(uri, error="m").svg_data_uri(scale=4, border=4) in page.text

    wrong = code_step(client, "123456", "/login/enroll")
    assert wrong.status_code == 422 and key in wrong.text.replace(" ", "")
    assert client.get("/admin/").status_code == 302

    shown = code_step(client, pyotp.TOTP(key).at(utcnow()), "/login/enroll")
    assert shown.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", shown.text)
    assert len(set(codes)) == 10
    assert client.get("/admin/").status_code == 200
    stored = list(db.scalars(select(RecoveryCode.code_hash).where(
        RecoveryCode.user_id == admin.id)))
    assert len(stored) == 10 and not set(codes) & set(stored)
    assert "second_factor.enrolled" in actions(db)
    assert "Your recovery codes" not in client.get("/account/two-step").text


def enrolled_codes(client, admin) -> list[str]:
    """Set up the app through the pages and return the ten recovery codes shown."""
    password_step(client, admin.email)
    key = re.search(r'id="setup-key">([A-Z2-7 ]+)<',
                    client.get("/login/enroll").text).group(1).replace(" ", "")
    shown = code_step(client, pyotp.TOTP(key).at(utcnow()), "/login/enroll")
    post_form(client, "/logout", {}, token_from="/admin/")
    return re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", shown.text)


def test_a_recovery_code_signs_in_once(frozen, app, client, factory, db):
    admin = factory.user("admin", second_factor=False)
    codes = enrolled_codes(client, admin)
    phone_lost = app.test_client()
    password_step(phone_lost, admin.email)
    assert code_step(phone_lost, codes[3].upper().replace("-", " ")).status_code == 302
    again = app.test_client()
    password_step(again, admin.email)
    assert code_step(again, codes[3]).status_code == 422
    assert "9 unused recovery codes" in phone_lost.get("/account/two-step").text
    assert "second_factor.recovery_code_used" in actions(db)


def test_new_recovery_codes_replace_the_old_ones(frozen, app, client, factory, db):
    admin = factory.user("admin", second_factor=False)
    old = enrolled_codes(client, admin)
    sign_in(client, admin.email)
    wrong = post_form(client, "/account/two-step/recovery-codes", {"code": "000000"},
                      token_from="/account/two-step")
    assert wrong.status_code == 422 and field_error(wrong)
    frozen.tick(timedelta(seconds=30))
    fresh = post_form(client, "/account/two-step/recovery-codes",
                      {"code": code_at(db, admin, utcnow())}, token_from="/account/two-step")
    new = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", fresh.text)
    assert len(new) == 10 and not set(new) & set(old)
    other = app.test_client()
    password_step(other, admin.email)
    assert code_step(other, old[0]).status_code == 422
    assert code_step(other, new[0]).status_code == 302


def test_a_patient_may_turn_the_second_step_on_and_off(frozen, app, client, factory, db):
    patient = factory.patient(factory.prescriber())
    email = factory.db.get(User, patient.user_id).email
    sign_in(client, email)
    page = client.get("/account/two-step")
    key = re.search(r'id="setup-key">([A-Z2-7 ]+)<', page.text).group(1).replace(" ", "")
    on = post_form(client, "/account/two-step/on", {"code": pyotp.TOTP(key).at(utcnow())},
                   token_from="/account/two-step")
    assert on.status_code == 200 and "Your recovery codes" in on.text

    later = app.test_client()
    assert password_step(later, email).headers["Location"].endswith("/login/code")
    frozen.tick(timedelta(seconds=30))
    off = post_form(client, "/account/two-step/off", {"off-code": current_code(app, email)},
                    token_from="/account/two-step")
    assert off.headers["Location"].endswith("/account/two-step")
    assert "second_factor.removed" in actions(db)
    assert password_step(app.test_client(), email).headers["Location"].endswith("/patient/")


def test_staff_cannot_turn_the_second_step_off(frozen, client, factory):
    admin = factory.user("admin")
    sign_in(client, admin.email)
    assert "Turn off" not in client.get("/account/two-step").text
    answer = post_form(client, "/account/two-step/off", {"off-code": "123456"},
                       token_from="/account/two-step")
    assert answer.status_code == 403


def test_an_administrator_resets_a_lost_phone(frozen, app, client, factory, db):
    """The reset ends the owner's sessions, is audited, and the next sign-in sets up a new
    app; an administrator cannot reset their own."""
    admin = factory.user("admin")
    prescriber = factory.prescriber()
    owner = app.test_client()
    sign_in(owner, db.get(User, prescriber.user_id).email)
    assert owner.get("/prescriber/").status_code == 200
    sign_in(client, admin.email)
    listing = client.get("/admin/users").text
    assert f"/admin/users/{prescriber.user_id}/two-step/reset" in listing
    assert f"/admin/users/{admin.id}/two-step/reset" not in listing
    reset = post_form(client, f"/admin/users/{prescriber.user_id}/two-step/reset", {},
                      token_from="/admin/users", follow_redirects=True)
    assert "is reset; their sessions have ended" in reset.text
    assert owner.get("/prescriber/").status_code == 302
    email = db.get(User, prescriber.user_id).email
    assert password_step(app.test_client(), email).headers["Location"].endswith(
        "/login/enroll")
    own = post_form(client, f"/admin/users/{admin.id}/two-step/reset", {},
                    token_from="/admin/users", follow_redirects=True)
    assert "Another administrator must reset" in own.text
    assert "second_factor.removed" in actions(db)
