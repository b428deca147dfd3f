"""Fixtures: an app on a fresh database per test, a client, sign-in helpers and row factories.

`TEST_DATABASE_URL` selects the database: SQLite by default (each test gets a copy of a
template file), or PostgreSQL (tables are truncated after each test). Tests that use the
database are marked `db`, so `make test` can run exactly those again on PostgreSQL.
"""

import os
import re
import shutil
import sys
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import freezegun
import pyotp
import pytest
from argon2 import PasswordHasher, profiles
from jinja2 import BytecodeCache
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

import compliance.models as models
import compliance.web  # noqa: F401  (views import lazily; one first imported under freezegun

# would get FakeDate annotations that pydantic refuses)
from compliance import create_app
from compliance.db import make_engine
from compliance.identifiers import npi_with_check_digit
from compliance.models.audit import APPEND_ONLY_TABLES
from compliance.models.enums import SECOND_FACTOR_ROLES
from compliance.models.types import utcnow
from compliance.security import passwords
from compliance.security.passwords import hash_password

freezegun.configure(extend_ignore_list=["argon2", "sqlalchemy", "jinja2", "werkzeug",
                                        "hypothesis", "alembic", "psycopg"])

PASSWORD = "correct horse battery staple"
PASSWORD_HASH = hash_password(PASSWORD)
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")
DB_FIXTURES = {"app", "client", "db", "engine", "factory"}

# Named instants used across tests (UTC); freeze before signing in.
MONDAY_NOON = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)


class _SharedBytecode(BytecodeCache):
    """Compiled templates kept for the whole run (each test builds a fresh app, whose Jinja
    environment would otherwise compile every template again); sources are still checked."""

    def __init__(self):
        self._store: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if (code := self._store.get(bucket.key)) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket) -> None:
        self._store[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_BYTECODE = _SharedBytecode()


def pytest_collection_modifyitems(items):
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


@pytest.fixture(autouse=True)
def _cheap_password_hashing(request, monkeypatch):
    """Hash and verify with argon2's cheapest profile unless a test asks for the real one.

    Throttling, sessions and guards do not depend on the cost, and the production profile
    costs about 0.2 s per sign-in here. Known accounts and the dummy hash used for unknown
    emails get the same profile, so both still take the same path.
    """
    if "real_password_hashing" in request.keywords:
        return
    hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    monkeypatch.setattr(passwords, "_HASHER", hasher)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", hasher.hash("not a real password"))
    monkeypatch.setattr(sys.modules[__name__], "PASSWORD_HASH", hasher.hash(PASSWORD))


@pytest.fixture(scope="session")
def _template_database(tmp_path_factory):
    """Build the schema once: a template SQLite file, or the PostgreSQL test database."""
    if ON_POSTGRES:
        engine = make_engine(TEST_DATABASE_URL)
        SQLModel.metadata.drop_all(engine)
        with engine.begin() as connection:
            for table in APPEND_ONLY_TABLES:
                connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {table}_append_only() CASCADE")
        SQLModel.metadata.create_all(engine)
        engine.dispose()
        yield TEST_DATABASE_URL
        return
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    yield path


def _empty_all_tables() -> str:
    """One round trip that empties every table and restarts its ids.

    DELETE on small tables is far cheaper than TRUNCATE (which swaps files); the replica
    role skips the audit log's append-only triggers for this cleanup only.
    """
    statements = ["SET LOCAL session_replication_role = replica"]
    for table in reversed(SQLModel.metadata.sorted_tables):
        statements.append(f'DELETE FROM "{table.name}"')  # noqa: S608 (our own table names)
        if "id" in table.c and table.c.id.autoincrement is not False and \
                table.c.id.type.python_type is int:
            statements.append(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'),"
                              " 1, false)")
    return "; ".join(statements)


_EMPTY_ALL_TABLES = _empty_all_tables() if ON_POSTGRES else ""
_CLEANUP_ENGINES: dict = {}


def _cleanup_engine(url: str):
    if url not in _CLEANUP_ENGINES:
        _CLEANUP_ENGINES[url] = make_engine(url, pool_size=1)
    return _CLEANUP_ENGINES[url]


@pytest.fixture
def database_url(_template_database, tmp_path):
    if ON_POSTGRES:
        yield _template_database
        with _cleanup_engine(_template_database).begin() as connection:
            connection.exec_driver_sql(_EMPTY_ALL_TABLES)
        return
    copy = tmp_path / "test.db"
    shutil.copyfile(_template_database, copy)
    yield f"sqlite:///{copy}"


def app_config(database_url: str, tmp_path, **overrides) -> dict:
    """The configuration of the tests' app; `overrides` for a test that needs other limits."""
    return {
        "ENV_NAME": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "SERVER_NAME": "localhost",
        "PUBLIC_URL": "http://localhost",
        "MAIL_FOLDER": str(tmp_path / "mail"),
        "AUDIT_ANCHOR": str(tmp_path / "audit-anchor.jsonl"),  # one per test database
        **overrides,
    }


@pytest.fixture
def app(database_url, tmp_path):
    application = create_app(app_config(database_url, tmp_path))
    application.jinja_env.bytecode_cache = TEMPLATE_BYTECODE
    yield application
    from compliance.db import get_engine

    get_engine(application).dispose()


@pytest.fixture
def engine(app):
    from compliance.db import get_engine

    return get_engine(app)


@pytest.fixture
def db(engine):
    """A session of the test's own, separate from any request's."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(client, url: str) -> str:
    """The CSRF token from the form at `url`, as a browser would submit it."""
    page = client.get(url)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text) or \
        re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, f"no CSRF token on {url} ({page.status_code})"
    return match.group(1)


def post_form(client, url: str, data: dict, *, token_from: str | None = None, **kwargs):
    """Submit a form with a valid CSRF token taken from the page that shows it."""
    token = csrf_token(client, token_from or url)
    return client.post(url, data={"csrf_token": token, **data}, **kwargs)


def sign_in(client, email: str, password: str = PASSWORD, **kwargs):
    """Sign in through the real forms: the password, then, when asked, the code from the
    authenticator app (set up first when the account has none yet, reading the key off the
    page as a person would type it). Returns the last answer."""
    answer = post_form(client, "/login", {"email": email, "password": password}, **kwargs)
    step = urlsplit(answer.headers.get("Location", "")).path if answer.status_code == 302 else ""
    if step == "/login/code":
        return post_form(client, step, {"code": current_code(client.application, email)})
    if step == "/login/enroll":
        key = re.search(r'id="setup-key">([A-Z2-7 ]+)<', client.get(step).text)
        assert key, "no setup key on the enrollment page"
        code = pyotp.TOTP(key.group(1).replace(" ", "")).at(utcnow())
        return post_form(client, step, {"code": code})
    return answer


def current_code(app, email: str) -> str:
    """The code the account's authenticator shows now. Each code is accepted once, and a
    test's frozen clock would keep showing the used one; a phone would wait for the next
    30 seconds, so this forgets the last code taken instead."""
    from compliance.db import get_engine

    with Session(get_engine(app)) as db:
        factor = db.scalar(select(models.TotpFactor).join(
            models.User, models.User.id == models.TotpFactor.user_id
        ).where(models.User.email == email.strip().lower()))
        assert factor is not None, f"{email} has no authenticator"
        factor.last_step = None
        db.add(factor)
        db.commit()
        return pyotp.TOTP(factor.secret).at(utcnow())


class Factory:
    """Creates rows directly (bypassing services) so tests set up exactly what they need."""

    def __init__(self, session: Session):
        self.db = session
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def user(self, role: str, *, email: str | None = None, name: str | None = None,
             password: bool = True, active: bool = True,
             second_factor: bool | None = None) -> models.User:
        """An account; staff (and a patient with `second_factor`) with an authenticator set
        up, as the program requires of staff before their first sign-in."""
        n = self._next()
        user = models.User(email=email or f"{role}{n}@example.com", name=name or f"{role} {n}",
                           role=role, password_hash=PASSWORD_HASH if password else None,
                           is_active=active)
        self.db.add(user)
        self.db.flush()
        if second_factor if second_factor is not None else role in SECOND_FACTOR_ROLES:
            self.db.add(models.TotpFactor(user_id=user.id, secret=pyotp.random_base32(),
                                          confirmed_at=utcnow()))
        self.db.commit()
        return user

    def prescriber(self, *, certified: bool = True, **kwargs) -> models.PrescriberProfile:
        user = self.user("prescriber", **kwargs)
        today = date(2026, 1, 1)
        profile = models.PrescriberProfile(
            user_id=user.id, npi=npi_with_check_digit(f"{100000000 + user.id}"),
            practice_name="Test Dermatology",
            certification_status="certified" if certified else "pending",
            certified_on=today if certified else None,
            certification_expires_on=today + timedelta(days=730) if certified else None)
        self.db.add(profile)
        self.db.commit()
        return profile

    def pharmacy(self, *, certified: bool = True) -> models.Pharmacy:
        n = self._next()
        site = models.Pharmacy(
            name=f"Pharmacy {n}", address_line=f"{n} Main Street", city="Albany", state="NY",
            postal_code="12207", ncpdp_id=f"{1000000 + n}",
            npi=npi_with_check_digit(f"{200000000 + n}"),
            certification_status="certified" if certified else "pending")
        self.db.add(site)
        self.db.commit()
        return site

    def pharmacist(self, pharmacy: models.Pharmacy, **kwargs) -> models.User:
        user = self.user("pharmacist", **kwargs)
        self.db.add(models.PharmacistProfile(user_id=user.id, pharmacy_id=pharmacy.id))
        self.db.commit()
        return user

    def patient(self, prescriber: models.PrescriberProfile, **kwargs) -> models.PatientProfile:
        from compliance.identifiers import new_program_patient_id

        user = self.user("patient", **kwargs)
        patient = models.PatientProfile(
            user_id=user.id, prescriber_id=prescriber.id,
            program_patient_id=new_program_patient_id(), given_name="Pat",
            family_name=f"Ient{user.id}", date_of_birth=date(2000, 1, 1),
            category="can_get_pregnant", category_reason="Reproductive potential.")
        self.db.add(patient)
        self.db.flush()
        self.db.add(models.Course(patient_id=patient.id, prescriber_id=prescriber.id,
                                  program=patient.program))
        self.db.commit()
        return patient


@pytest.fixture
def factory(db):
    return Factory(db)


@pytest.fixture
def frozen():
    """Freeze the clock at MONDAY_NOON; tests move it with `frozen.tick(...)`/`move_to`."""
    with freezegun.freeze_time(MONDAY_NOON) as clock:
        yield clock
