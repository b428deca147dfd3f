"""Under overload, does the service answer 503 with Retry-After at once instead of hanging
for 30 s or failing with a 500? Two resources run out: database connections and the
memory for password hashing (argon2, 64 MiB each)."""

import threading

import pytest

from compliance import create_app
from compliance.db import get_engine
from compliance.security import overload
from tests.api_helpers import pharmacy_system
from tests.conftest import app_config, sign_in

pytestmark = pytest.mark.db


@pytest.fixture
def small_pool_app(database_url, tmp_path):
    """The service with one connection (and one overflow) and a short wait for it."""
    application = create_app(app_config(database_url, tmp_path, DATABASE_POOL_SIZE=1,
                                             DATABASE_POOL_TIMEOUT=0.1))
    yield application
    get_engine(application).dispose()


def test_an_exhausted_pool_answers_503_with_retry_after(small_pool_app, db, factory):
    """Every connection held elsewhere: a page and an API call each get 503 and
    Retry-After (problem+json on the API), and the next request, once one is free, works."""
    system = pharmacy_system(db, factory)
    engine = get_engine(small_pool_app)
    held = [engine.connect(), engine.connect()]  # the pool and its overflow
    client = small_pool_app.test_client()
    try:
        api = client.get("/api/v1/patients/X/eligibility?date_of_birth=2000-01-01",
                         headers=system.headers)
        page = client.post("/login", data={"email": "a@example.com", "password": "x"})
    finally:
        for connection in held:
            connection.close()
    assert (api.status_code, api.headers["Retry-After"]) == (503, "1")
    assert api.mimetype == "application/problem+json"
    assert "try again in a moment" in api.json["detail"]
    assert page.status_code in (400, 503)  # the CSRF check may refuse before the database
    again = client.get("/api/v1/patients/X/eligibility?date_of_birth=2000-01-01",
                       headers=system.headers)
    assert again.status_code != 503


def test_sign_in_waits_for_a_hashing_turn_then_answers_503(app, client, factory, monkeypatch):
    """With every argon2 turn of the process taken, a sign-in is told to retry (503 and
    Retry-After) after a short wait instead of adding another 64 MiB hash."""
    person = factory.user("admin", email="busy@example.com")
    monkeypatch.setattr(overload, "HASH_WAIT_SECONDS", 0.05)
    overload.allow_hashes_at_once(1)
    taken = threading.Event()
    release = threading.Event()

    def hold_the_only_turn():
        with overload.hash_turn():
            taken.set()
            release.wait(5)

    holder = threading.Thread(target=hold_the_only_turn)
    holder.start()
    try:
        assert taken.wait(5)
        busy = sign_in(client, person.email)
    finally:
        release.set()
        holder.join()
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
    assert "busy" in busy.text
    assert sign_in(client, person.email).status_code == 302, "a free turn signs in"
    overload.allow_hashes_at_once(app.config["PASSWORD_HASHES_AT_ONCE"])
