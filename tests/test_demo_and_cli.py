"""Do the operator commands do what they say: demo data once, refused in production, and
housekeeping that deletes only what is old?"""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel

from compliance import create_app
from compliance.api.idempotency import RETENTION
from compliance.demo import DEMO_LOGINS, DEMO_PASSWORD, PATIENTS, demo_patient_id
from compliance.models import IdempotencyKey, LoginAttempt, PatientProfile, User
from compliance.security.throttle import WINDOW
from tests.conftest import MONDAY_NOON, post_form, sign_in

HOMES = {"admin": "/admin/", "prescriber": "/prescriber/", "pharmacist": "/pharmacist/",
         "patient": "/patient/"}



def table_counts(db) -> dict[str, int]:
    db.rollback()
    return {table.name: db.scalar(select(func.count()).select_from(table))
            for table in SQLModel.metadata.sorted_tables}


def run(app, *args):
    """Run `flask <args>` against this app, with no app context pushed beforehand (the
    command groups must push their own, as `flask` itself would)."""
    return app.test_cli_runner().invoke(args=list(args))


def test_demo_load_twice_creates_nothing_the_second_time(app, db, frozen):
    """Does loading the demo twice create rows once and report 0 new rows the second time?"""
    first = run(app, "demo", "load")
    assert first.exit_code == 0, first.output
    assert "Demo data ready" in first.output
    assert "(0 new rows)" not in first.output
    after_first = table_counts(db)
    assert after_first["app_user"] == len(DEMO_LOGINS)
    second = run(app, "demo", "load")
    assert second.exit_code == 0, second.output
    assert "Demo data ready (0 new rows)." in second.output
    assert table_counts(db) == after_first


def test_every_demo_login_signs_in_and_reaches_its_home(app, db, frozen):
    """Can each documented demo account sign in with the demo password and see its home?"""
    assert run(app, "demo", "load").exit_code == 0
    for role, email in DEMO_LOGINS:
        browser = app.test_client()
        response = sign_in(browser, email, DEMO_PASSWORD)
        assert response.status_code == 302, email
        assert response.headers["Location"].endswith(HOMES[role]), email
        home = browser.get(HOMES[role])
        assert home.status_code == 200, email


def test_demo_patients_have_their_documented_ids(app, db, frozen):
    """Are the demo patients enrolled with the fixed IDs the README lists?"""
    assert run(app, "demo", "load").exit_code == 0
    for spec in PATIENTS:
        profile = db.scalar(select(PatientProfile).join(User, User.id == PatientProfile.user_id)
                            .where(User.email == spec.email))
        assert profile.program_patient_id == demo_patient_id(spec.id_stem)


def test_demo_logins_command_lists_every_account(app):
    """Does `flask demo logins` print every demo account and the password?"""
    result = run(app, "demo", "logins")
    assert result.exit_code == 0
    assert DEMO_PASSWORD in result.output
    for _role, email in DEMO_LOGINS:
        assert email in result.output


@pytest.mark.parametrize("email", [email for role, email in DEMO_LOGINS if role != "patient"])
def test_the_code_demo_logins_prints_signs_staff_in(app, db, frozen, email):
    """A newcomer types the printed code after the password, as on a phone."""
    assert run(app, "demo", "load").exit_code == 0
    printed = run(app, "demo", "logins").output
    code = re.search(rf"{re.escape(email)}\s+code (\d{{6}})", printed).group(1)
    browser = app.test_client()
    password = post_form(browser, "/login", {"email": email, "password": DEMO_PASSWORD})
    assert password.headers["Location"].endswith("/login/code")
    signed = post_form(browser, "/login/code", {"code": code})
    assert signed.status_code == 302 and not signed.headers["Location"].endswith("/login")


def test_demo_load_is_refused_in_production(database_url, db):
    """Does `flask demo load` refuse to run in production and create nothing?"""
    production = create_app({"ENV_NAME": "production", "SECRET_KEY": "production-key",
                             "PUBLIC_URL": "https://rems.example.org",
                             "DATABASE_URL": database_url})
    before = table_counts(db)
    result = run(production, "demo", "load")
    assert result.exit_code != 0
    assert "refused in production" in result.output
    assert table_counts(db) == before
    from compliance.db import get_engine

    get_engine(production).dispose()


def test_prune_login_attempts_deletes_only_old_ones(app, db, frozen):
    """Does pruning delete attempts older than the throttle window and keep the rest?"""
    ages = {"an hour": timedelta(hours=1), "just past the window": WINDOW + timedelta(seconds=1),
            "exactly the window": WINDOW, "a minute": timedelta(minutes=1),
            "now": timedelta(0)}
    for label, age in ages.items():
        db.add(LoginAttempt(email=f"{label.replace(' ', '.')}@example.com", address="10.0.0.1",
                            succeeded=False, attempted_at=MONDAY_NOON - age))
    db.commit()
    result = run(app, "maintenance", "prune-login-attempts")
    assert result.exit_code == 0, result.output
    assert "Deleted 2 old login attempts." in result.output
    db.rollback()
    kept = set(db.scalars(select(LoginAttempt.email)))
    assert kept == {"exactly.the.window@example.com", "a.minute@example.com",
                    "now@example.com"}
    again = run(app, "maintenance", "prune-login-attempts")
    assert "Deleted 0 old login attempts." in again.output



def test_prune_idempotency_keys_deletes_only_expired_ones(app, db, factory, frozen):
    """Does pruning delete keys older than 24 hours, keep the rest, and do nothing twice?"""
    pharmacy = factory.pharmacy()
    ages = {"a day and a second": RETENTION + timedelta(seconds=1), "a day": RETENTION,
            "an hour": timedelta(hours=1)}
    for label, age in ages.items():
        db.add(IdempotencyKey(pharmacy_id=pharmacy.id, key=label, request_hash="0" * 64,
                              created_at=MONDAY_NOON - age))
    db.commit()
    result = run(app, "maintenance", "prune-idempotency-keys")
    assert result.exit_code == 0, result.output
    assert "Deleted 1 expired idempotency keys." in result.output
    db.rollback()
    assert set(db.scalars(select(IdempotencyKey.key))) == {"a day", "an hour"}
    assert "Deleted 0 expired" in run(app, "maintenance", "prune-idempotency-keys").output
