"""Do sign-in sessions start fresh, end on the server, and time out as promised?"""

from datetime import timedelta

import pytest

from compliance.models import User
from tests.conftest import csrf_token, post_form, sign_in
from tests.security_helpers import (
    fresh_client_with_cookie,
    login_next,
    session_cookie,
)

IDLE_MESSAGE = "You were signed out after 15 minutes without activity. Sign in again."
ABSOLUTE_MESSAGE = "Your session reached its time limit. Sign in again."
DEACTIVATED_MESSAGE = "This account has been deactivated."



@pytest.fixture
def admin(factory):
    return factory.user("admin")


def _signed_in(client) -> bool:
    """Does this browser reach the admin home page, or is it sent to sign in?"""
    response = client.get("/admin/")
    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 302:
        login_next(response)
    return response.status_code == 200


def _login_page_message(client) -> str:
    return client.get("/login").text


def test_session_cookie_is_replaced_at_sign_in(app, client, admin):
    """Is the cookie from before sign-in different from the one after, and still anonymous?"""
    client.get("/login")
    before = session_cookie(client)
    assert before
    assert sign_in(client, admin.email).status_code == 302
    after = session_cookie(client)
    assert after and after != before
    assert _signed_in(client)
    assert not _signed_in(fresh_client_with_cookie(app, before))


def test_logout_ends_the_session_on_the_server(app, client, admin):
    """Does a copy of the cookie, taken before logout, stop working after it?"""
    sign_in(client, admin.email)
    copied = session_cookie(client)
    assert _signed_in(fresh_client_with_cookie(app, copied))  # a copy works while signed in
    response = post_form(client, "/logout", {}, token_from="/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")
    assert "You are signed out." in _login_page_message(client)
    assert not _signed_in(client)
    assert not _signed_in(fresh_client_with_cookie(app, copied))


@pytest.mark.parametrize("idle,still_signed_in", [
    (timedelta(minutes=14, seconds=59), True),
    (timedelta(minutes=15), True),
    (timedelta(minutes=15, seconds=1), False),
    (timedelta(hours=3), False),
])
def test_idle_timeout_is_fifteen_minutes(frozen, client, admin, idle, still_signed_in):
    """After this long without activity, is the user still signed in?"""
    sign_in(client, admin.email)
    frozen.tick(idle)
    assert _signed_in(client) is still_signed_in


def test_idle_sign_out_says_why(frozen, client, admin):
    """Once signed out for inactivity, does the sign-in page say so?"""
    sign_in(client, admin.email)
    client.get("/admin/")
    frozen.tick(timedelta(minutes=15, seconds=1))
    response = client.get("/admin/users")
    assert login_next(response) == "/admin/users"
    assert IDLE_MESSAGE in _login_page_message(client)


def test_activity_keeps_the_session_alive(frozen, client, admin):
    """Does a request every ten minutes keep the user signed in for an hour?"""
    sign_in(client, admin.email)
    for _ in range(6):
        frozen.tick(timedelta(minutes=10))
        assert _signed_in(client)


def test_idle_clock_is_accurate_to_the_refresh_resolution(frozen, client, admin):
    """Is a user still signed in 14 minutes after their last request, even one made within
    the minute in which activity is not written down?"""
    sign_in(client, admin.email)
    frozen.tick(timedelta(seconds=59))
    assert _signed_in(client)
    frozen.tick(timedelta(minutes=14))
    assert _signed_in(client)


@pytest.mark.parametrize("age,still_signed_in", [
    (timedelta(hours=11, minutes=59, seconds=59), True),
    (timedelta(hours=12, seconds=1), False),
])
def test_absolute_timeout_ends_even_an_active_session(frozen, client, admin, age,
                                                      still_signed_in):
    """With a request every 14 minutes, does the session still end after 12 hours?"""
    sign_in(client, admin.email)
    elapsed = timedelta(0)
    step = timedelta(minutes=14)
    while elapsed + step < age:
        frozen.tick(step)
        elapsed += step
        assert _signed_in(client)
    frozen.tick(age - elapsed)
    assert _signed_in(client) is still_signed_in
    if not still_signed_in:
        assert ABSOLUTE_MESSAGE in _login_page_message(client)


def test_deactivation_ends_live_sessions(app, client, factory, admin):
    """When an admin deactivates an account, is its open session signed out at once?"""
    prescriber = factory.prescriber()
    victim = factory.db.get(User, prescriber.user_id)
    victim_browser = app.test_client()
    sign_in(victim_browser, victim.email)
    assert victim_browser.get("/prescriber/").status_code == 200
    sign_in(client, admin.email)
    response = post_form(client, f"/admin/users/{victim.id}/deactivate", {"reason": "Left."})
    assert response.status_code == 302
    after = victim_browser.get("/prescriber/")
    assert login_next(after) == "/prescriber/"
    assert DEACTIVATED_MESSAGE in _login_page_message(victim_browser)
    assert sign_in(victim_browser, victim.email).status_code == 422


def test_logout_by_get_is_not_allowed(client, admin):
    """Can a link or an image (a GET) sign the user out? (405, and still signed in.)"""
    sign_in(client, admin.email)
    assert client.get("/logout").status_code == 405
    assert _signed_in(client)


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_logout_without_a_valid_csrf_token_is_refused(client, admin, token):
    """Can another site sign the user out with a bare POST? (400, and still signed in.)"""
    sign_in(client, admin.email)
    data = {} if token is None else {"csrf_token": token}
    response = client.post("/logout", data=data)
    assert response.status_code == 400
    assert _signed_in(client)


def test_csrf_token_of_another_browser_does_not_sign_out(app, client, admin):
    """Does a token lifted from someone else's page work on this user's session?"""
    sign_in(client, admin.email)
    stranger = app.test_client()
    token = csrf_token(stranger, "/login")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 400
    assert _signed_in(client)
