"""Does the login throttle slow guessing without letting an attacker lock the owner out?"""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from compliance.models import AuditEvent
from compliance.security import throttle
from compliance.services.errors import wait_words
from tests.conftest import PASSWORD, current_code, post_form
from tests.security_helpers import audit_actions

ATTACKER = "10.0.0.1"
OWNER = "10.0.0.2"
WRONG = "not the password"
WRONG_CREDENTIALS = "The email or password is not right."
LOCKED_15 = "Too many failed attempts. Try again in 15 minutes."



@pytest.fixture
def owner(factory):
    return factory.user("admin", email="owner@example.com")


def attempt(client, email: str, password: str = WRONG, address: str = ATTACKER):
    """One try at the sign-in form from `address`, with the authenticator's code when the
    password is right."""
    answer = post_form(client, "/login", {"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})
    if answer.status_code == 302 and answer.headers["Location"].endswith("/login/code"):
        return post_form(client, "/login/code", {"code": current_code(client.application, email)},
                         environ_base={"REMOTE_ADDR": address})
    return answer


def fail(client, email: str, times: int, address: str = ATTACKER) -> None:
    for _ in range(times):
        assert attempt(client, email, WRONG, address).status_code == 422


def password_error(response) -> str:
    """The message shown next to the password field."""
    match = re.search(r'<p class="field-error" id="password-error">(.*?)</p>', response.text,
                      re.S)
    return match.group(1).strip() if match else ""


def assert_locked(response, message: str, retry_after: int) -> None:
    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(retry_after)
    assert password_error(response) == message


@pytest.mark.parametrize("address,password,status", [
    (ATTACKER, PASSWORD, 429),  # even the right password is refused from that address
    (ATTACKER, WRONG, 429),
    (OWNER, PASSWORD, 302),     # the owner elsewhere is not affected
    (OWNER, WRONG, 422),
])
def test_five_failures_lock_the_account_for_that_address(frozen, client, owner, address,
                                                         password, status):
    """After five wrong passwords from one address, who may try a sixth time?"""
    fail(client, owner.email, 5)
    response = attempt(client, owner.email, password, address)
    assert response.status_code == status
    if status == 429:
        assert_locked(response, LOCKED_15, 900)
        assert client.get("/admin/").status_code == 302  # not signed in


def test_four_failures_do_not_lock(frozen, client, owner):
    """Is the fifth try still a real try (the limit is five failures, not four)?"""
    fail(client, owner.email, 4)
    assert attempt(client, owner.email, PASSWORD).status_code == 302


@pytest.mark.parametrize("wait,status", [
    (timedelta(minutes=14, seconds=59), 429),
    (timedelta(minutes=15, seconds=1), 302),
])
def test_pair_lock_ends_after_the_window(frozen, client, owner, wait, status):
    """Once the 15-minute window has passed, can the owner sign in from that address?"""
    fail(client, owner.email, 5)
    frozen.tick(wait)
    assert attempt(client, owner.email, PASSWORD).status_code == status


def test_waiting_exactly_retry_after_is_enough(frozen, client, owner):
    """Does a client that waits exactly the Retry-After it was told get its try?"""
    fail(client, owner.email, 5)
    locked = attempt(client, owner.email, PASSWORD)
    frozen.tick(timedelta(seconds=int(locked.headers["Retry-After"])))
    assert attempt(client, owner.email, PASSWORD).status_code == 302


def test_tries_while_locked_do_not_extend_the_lock(frozen, client, owner):
    """Does hammering a locked pair push the end of the lock further out? (It must not.)"""
    fail(client, owner.email, 5)
    for _ in range(5):
        frozen.tick(timedelta(minutes=2))
        assert attempt(client, owner.email, WRONG).status_code == 429
    frozen.tick(timedelta(minutes=5, seconds=1))
    assert attempt(client, owner.email, PASSWORD).status_code == 302


def test_spelling_of_the_email_does_not_dodge_the_count(frozen, client, owner):
    """Do 'Owner@Example.com' and ' owner@example.com ' count against the same account?"""
    for spelling in ["OWNER@example.com", "Owner@Example.com", " owner@example.com",
                     "owner@EXAMPLE.COM ", "owner@example.com"]:
        assert attempt(client, spelling).status_code == 422
    assert_locked(attempt(client, "Owner@Example.Com", PASSWORD), LOCKED_15, 900)


def _fail_from_many_addresses(client, email: str, count: int, first: int = 1) -> None:
    for n in range(first, first + count):
        fail(client, email, 1, address=f"10.1.0.{n}")


@pytest.mark.parametrize("wait,status", [
    (timedelta(0), 429),
    (timedelta(seconds=59), 429),
    (timedelta(seconds=60), 302),
])
def test_account_under_distributed_attack_is_slowed_not_locked(frozen, client, owner, wait,
                                                                status):
    """After ten failures from ten addresses, does the owner wait at most a minute?"""
    _fail_from_many_addresses(client, owner.email, 10)
    frozen.tick(wait)
    response = attempt(client, owner.email, PASSWORD, OWNER)
    assert response.status_code == status
    if status == 429:
        left = int(response.headers["Retry-After"])
        assert left <= 60
        assert password_error(response) == \
            f"Too many failed attempts. Try again in {wait_words(left)}."


def test_nine_failures_from_many_addresses_do_not_slow_the_account(frozen, client, owner):
    """Below the account-wide limit, is the owner let straight in?"""
    _fail_from_many_addresses(client, owner.email, 9)
    assert attempt(client, owner.email, PASSWORD, OWNER).status_code == 302


def test_slowed_account_takes_one_attempt_per_minute(frozen, client, owner):
    """Past the account-wide limit, does the account accept one try a minute from anywhere?"""
    _fail_from_many_addresses(client, owner.email, 10)
    for minute in range(3):
        frozen.tick(timedelta(seconds=60))
        assert attempt(client, owner.email, WRONG, f"10.2.0.{minute}").status_code == 422
        assert attempt(client, owner.email, WRONG, f"10.3.0.{minute}").status_code == 429


def test_attacker_taking_every_slot_cannot_keep_the_owner_out(frozen, client, owner):
    """Can a patient attacker, trying once a minute, keep the owner out for five minutes?"""
    assert attempt(client, owner.email, PASSWORD, OWNER).status_code == 302  # owner's usual place
    _fail_from_many_addresses(client, owner.email, 10)
    outcomes = []
    for minute in range(5):
        frozen.tick(timedelta(seconds=60))
        attempt(client, owner.email, WRONG, f"10.2.0.{minute}")  # the attacker is first
        outcomes.append(attempt(client, owner.email, PASSWORD, OWNER).status_code)
    assert 302 in outcomes


@pytest.mark.parametrize(("failures", "wait", "retry_after"), [
    (29, 0, None),   # below the limit: no delay
    (30, 0, 1),      # the 30th failure: the next try waits 1 s...
    (30, 1, None),
    (34, 0, 16),     # ...doubling with each failure...
    (34, 16, None),
    (45, 0, 60),     # ...to a minute at most
    (45, 60, None),
])
def test_address_guessing_across_accounts_is_slowed_never_blocked(frozen, client, owner,
                                                                 failures, wait, retry_after):
    """Failures from one address across many accounts (a clinic's shared address, or
    credential stuffing) slow that address with a doubling delay; someone else there gets
    in once the delay has passed, and the owner elsewhere is never affected."""
    _fail_across_accounts(client, frozen, failures)
    frozen.tick(timedelta(seconds=wait))
    response = attempt(client, owner.email, PASSWORD)
    if retry_after is None:
        assert response.status_code == 302
    else:
        assert response.status_code == 429
        assert response.headers["Retry-After"] == str(retry_after)
    assert attempt(app_client(client), owner.email, PASSWORD, OWNER).status_code == 302


def test_an_owner_at_a_familiar_shared_address_is_never_slowed(frozen, client, owner):
    """A colleague who signed in from the clinic's address last week gets straight in
    while strangers' failures from that address pile up."""
    assert attempt(client, owner.email, PASSWORD).status_code == 302
    frozen.tick(timedelta(days=7))
    _fail_across_accounts(app_client(client), frozen, 45)
    assert attempt(app_client(client), owner.email, PASSWORD).status_code == 302


def _fail_across_accounts(client, frozen, count: int) -> None:
    """`count` failures from ATTACKER, one per account, each after the delay the previous
    ones imposed (so every one is counted)."""
    for n in range(count):
        if n >= throttle.ADDRESS_LIMIT:
            frozen.tick(min(throttle.ADDRESS_FIRST_DELAY * 2 ** (n - throttle.ADDRESS_LIMIT),
                            throttle.ADDRESS_MAX_DELAY))
        fail(client, f"someone{n}@example.com", 1)


def app_client(client):
    """A fresh browser on the same app (its own cookies)."""
    return client.application.test_client()


def test_success_starts_the_pair_count_again(frozen, app, owner):
    """After a successful sign-in, does the owner get five fresh tries from that address?

    Eight failures in one window would lock the pair without the reset.
    """
    for _ in range(2):
        browser = app.test_client()
        fail(browser, owner.email, 4)
        assert attempt(browser, owner.email, PASSWORD).status_code == 302


@pytest.mark.parametrize("kind", ["wrong password", "unknown email", "deactivated account",
                                  "account not yet activated"])
def test_failures_look_the_same_whatever_the_reason(frozen, client, factory, kind):
    """Does the answer reveal whether an account exists or is usable? (It must not.)"""
    email, password = {
        "wrong password": (factory.user("admin").email, WRONG),
        "unknown email": ("nobody@example.com", PASSWORD),
        # (with the right password it is told it is deactivated: test_admin_flows)
        "deactivated account": (factory.user("admin", active=False).email, WRONG),
        "account not yet activated": (factory.user("patient", password=False).email, PASSWORD),
    }[kind]
    first = attempt(client, email, password)
    assert (first.status_code, password_error(first)) == (422, WRONG_CREDENTIALS)
    fail(client, email, 4)
    assert_locked(attempt(client, email, password), LOCKED_15, 900)


def test_every_sign_in_outcome_is_audited(frozen, app, engine, owner):
    """Are failed, throttled and successful sign-ins and the logout all in the audit log?"""
    attacker = app.test_client()
    fail(attacker, owner.email, 5)
    attempt(attacker, owner.email, PASSWORD)
    browser = app.test_client()
    attempt(browser, owner.email, PASSWORD, OWNER)
    post_form(browser, "/logout", {}, token_from="/admin/", environ_base={"REMOTE_ADDR": OWNER})
    assert audit_actions(engine) == [
        *["login.failed"] * 5, "login.throttled", "login.password_accepted", "login.succeeded",
        "logout"]
    with engine.connect() as connection:
        events = connection.execute(select(AuditEvent.action, AuditEvent.actor_user_id,
                                           AuditEvent.address).order_by(AuditEvent.id)).all()
    assert events[0] == ("login.failed", owner.id, ATTACKER)
    assert events[7] == ("login.succeeded", owner.id, OWNER)
    assert events[8] == ("logout", owner.id, OWNER)


def test_failures_for_unknown_emails_are_audited_too(frozen, client, engine):
    """Is a failed sign-in with an unknown email recorded, naming the email tried?"""
    attempt(client, "nobody@example.com")
    with engine.connect() as connection:
        event = connection.execute(select(AuditEvent)).one()
    assert (event.action, event.actor_user_id, event.summary) == (
        "login.failed", None, {"email": "nobody@example.com"})
