"""Helpers the security tests share: a cast of people, cookies, redirects and row snapshots."""

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select
from sqlmodel import SQLModel

from compliance.models import (
    AuditEvent,
    PatientProfile,
    Pharmacy,
    PrescriberProfile,
    QuestionBank,
    User,
)
from compliance.services.question_banks import DEFAULT_IPLEDGE_QUESTIONS
from tests.conftest import csrf_token

ROLES = ("admin", "prescriber", "pharmacist", "patient")
HOME = {"admin": "/admin/", "prescriber": "/prescriber/", "pharmacist": "/pharmacist/",
        "patient": "/patient/"}
SESSION_COOKIE = "rems_session"


@dataclass
class Cast:
    """One person of each role, linked the way the program links them."""

    admin: User
    prescriber: PrescriberProfile
    prescriber_user: User
    pharmacy: Pharmacy
    pharmacist: User
    patient: PatientProfile
    patient_user: User
    bank: QuestionBank

    def user(self, role: str) -> User:
        return {"admin": self.admin, "prescriber": self.prescriber_user,
                "pharmacist": self.pharmacist, "patient": self.patient_user}[role]

    def email(self, role: str) -> str:
        return self.user(role).email


def make_cast(factory) -> Cast:
    """Create an admin, a prescriber with one patient, and a pharmacy with one pharmacist."""
    prescriber = factory.prescriber()
    patient = factory.patient(prescriber)
    pharmacy = factory.pharmacy()
    return Cast(
        admin=factory.user("admin"),
        prescriber=prescriber,
        prescriber_user=factory.db.get(User, prescriber.user_id),
        pharmacy=pharmacy,
        pharmacist=factory.pharmacist(pharmacy),
        patient=patient,
        patient_user=factory.db.get(User, patient.user_id),
        bank=_draft_bank(factory.db),
    )


def _draft_bank(db) -> QuestionBank:
    bank = QuestionBank(program="ipledge", category="can_get_pregnant", version=1,
                        questions=DEFAULT_IPLEDGE_QUESTIONS)
    db.add(bank)
    db.commit()
    return bank


def session_cookie(client) -> str | None:
    """The value of the browser's session cookie, or None when it has none."""
    cookie = client.get_cookie(SESSION_COOKIE)
    return cookie.value if cookie else None


def fresh_client_with_cookie(app, value: str):
    """A new browser that presents a copied session cookie (a replay)."""
    client = app.test_client()
    client.set_cookie(SESSION_COOKIE, value)
    return client


def home_token(client, role: str) -> str:
    """A valid CSRF token, from the logout form in the layout of `role`'s home page."""
    return csrf_token(client, HOME[role])


def redirect_target(response) -> str:
    """Where a redirect points, as a path with its query (host dropped when it is ours)."""
    parts = urlsplit(response.headers["Location"])
    assert parts.netloc in ("", "localhost"), f"redirect leaves the site: {parts.geturl()}"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def login_next(response) -> str | None:
    """The `next` a redirect to the sign-in page carries; asserts it is such a redirect."""
    assert response.status_code == 302, response.status_code
    parts = urlsplit(response.headers["Location"])
    assert parts.path == "/login", response.headers["Location"]
    return parse_qs(parts.query).get("next", [None])[0]


def in_layout(html: str) -> bool:
    """Is this page rendered inside the shared layout (skip link and site header)?"""
    return 'class="skip-link"' in html and 'class="site-header"' in html


def snapshot(engine) -> dict[str, list[tuple]]:
    """Every row of every table (minus the session's last-seen stamp), to prove nothing
    was written."""
    tables = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name != "last_seen_at"]
            rows = connection.execute(select(*columns).order_by(*table.primary_key.columns))
            tables[table.name] = [tuple(row) for row in rows]
    return tables


def audit_actions(engine, since_id: int = 0) -> list[str]:
    """The actions of audit events recorded after event `since_id`, oldest first."""
    with engine.connect() as connection:
        return list(connection.scalars(
            select(AuditEvent.action).where(AuditEvent.id > since_id).order_by(AuditEvent.id)))


def last_audit_id(engine) -> int:
    with engine.connect() as connection:
        ids = list(connection.scalars(select(AuditEvent.id).order_by(AuditEvent.id.desc())
                                      .limit(1)))
    return ids[0] if ids else 0

