"""Demonstration data: one of each kind of account, so every role can be tried at once.

Idempotent: rows are looked up by their natural keys (email, NPI, NCPDP ID) and only the
missing ones are created, so loading twice changes nothing.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.identifiers import PATIENT_ID_ALPHABET, damm32_check_value, npi_with_check_digit
from compliance.models import (
    CertificationStatus,
    PatientProfile,
    PharmacistProfile,
    Pharmacy,
    PrescriberProfile,
    Role,
    User,
)
from compliance.security.passwords import hash_password

DEMO_PASSWORD = "demo-password"  # noqa: S105 (documented demo login, refused in production)


@dataclass(frozen=True)
class DemoPatient:
    email: str
    given_name: str
    family_name: str
    born: date
    category: str
    reason: str
    prescriber_email: str
    id_stem: str


PRESCRIBERS = [
    ("dr.rivera@example.com", "Dr. Ana Rivera", "123456789", "Riverside Dermatology"),
    ("dr.okafor@example.com", "Dr. Chidi Okafor", "987654321", "Okafor Skin Clinic"),
]
PHARMACISTS = [
    ("pharmacist.lee@example.com", "Jordan Lee", True),
    ("pharmacist.diaz@example.com", "Sam Diaz", False),
]
PATIENTS = [
    DemoPatient("patient.morgan@example.com", "Casey", "Morgan", date(2004, 5, 17),
                "can_get_pregnant", "Has reproductive potential.", "dr.rivera@example.com",
                "DEM000001"),
    DemoPatient("patient.nguyen@example.com", "Alex", "Nguyen", date(1999, 11, 2),
                "cannot_get_pregnant", "Assigned male at birth.", "dr.rivera@example.com",
                "DEM000002"),
    DemoPatient("patient.patel@example.com", "Riya", "Patel", date(2007, 2, 28),
                "can_get_pregnant", "Has reproductive potential.", "dr.okafor@example.com",
                "DEM000003"),
]

DEMO_LOGINS = [
    ("admin", "admin@example.com"),
    *[("prescriber", email) for email, *_ in PRESCRIBERS],
    *[("pharmacist", email) for email, *_ in PHARMACISTS],
    *[("patient", spec.email) for spec in PATIENTS],
]


def demo_patient_id(stem: str) -> str:
    """A fixed, valid program patient ID for a demo patient (listed in the README)."""
    raw = stem + PATIENT_ID_ALPHABET[damm32_check_value(stem)]
    return f"{raw[:5]}-{raw[5:]}"


def load_demo(db: Session, *, today: date, now: datetime) -> int:
    """Create whatever demo rows are missing and commit; returns how many were created."""
    loader = _Loader(db, today, now)
    loader.account("admin@example.com", "Program Administrator", Role.ADMIN)
    for email, name, stem, practice in PRESCRIBERS:
        loader.prescriber(email, name, stem, practice)
    site = loader.pharmacy()
    for email, name, responsible in PHARMACISTS:
        loader.pharmacist(site, email, name, responsible)
    for patient in PATIENTS:
        loader.patient(patient)
    if loader.created:
        audit.record(db, "demo.loaded", "system", summary={"created": loader.created})
    db.commit()
    return loader.created


class _Loader:
    def __init__(self, db: Session, today: date, now: datetime):
        self.db, self.today, self.now, self.created = db, today, now, 0
        self._password_hash = hash_password(DEMO_PASSWORD)

    def _add(self, row):
        self.db.add(row)
        self.db.flush()
        self.created += 1
        return row

    def _certification(self) -> dict:
        return {"certification_status": CertificationStatus.CERTIFIED,
                "certified_on": self.today - timedelta(days=30),
                "certification_expires_on": self.today + timedelta(days=335)}

    def account(self, email: str, name: str, role: Role) -> User:
        user = self.db.scalar(select(User).where(User.email == email))
        return user or self._add(User(email=email, name=name, role=role,
                                      password_hash=self._password_hash, created_at=self.now))

    def prescriber(self, email: str, name: str, stem: str, practice: str) -> PrescriberProfile:
        user = self.account(email, name, Role.PRESCRIBER)
        profile = self.db.scalar(select(PrescriberProfile)
                                 .where(PrescriberProfile.user_id == user.id))
        return profile or self._add(PrescriberProfile(
            user_id=user.id, npi=npi_with_check_digit(stem), practice_name=practice,
            **self._certification()))

    def pharmacy(self) -> Pharmacy:
        site = self.db.scalar(select(Pharmacy).where(Pharmacy.ncpdp_id == "1234563"))
        return site or self._add(Pharmacy(
            name="Main Street Pharmacy", address_line="100 Main Street", city="Albany",
            state="NY", postal_code="12207", ncpdp_id="1234563", npi="1679576722",
            created_at=self.now, **self._certification()))

    def pharmacist(self, site: Pharmacy, email: str, name: str, responsible: bool) -> None:
        user = self.account(email, name, Role.PHARMACIST)
        if self.db.scalar(select(PharmacistProfile).where(PharmacistProfile.user_id == user.id)):
            return
        self._add(PharmacistProfile(user_id=user.id, pharmacy_id=site.id))
        if responsible:
            site.responsible_pharmacist_id = user.id
            self.db.add(site)

    def patient(self, spec: DemoPatient) -> None:
        user = self.account(spec.email, f"{spec.given_name} {spec.family_name}", Role.PATIENT)
        if self.db.scalar(select(PatientProfile).where(PatientProfile.user_id == user.id)):
            return
        owner = self.db.scalar(select(PrescriberProfile).join(
            User, User.id == PrescriberProfile.user_id).where(User.email == spec.prescriber_email))
        self._add(PatientProfile(
            user_id=user.id, prescriber_id=owner.id,
            program_patient_id=demo_patient_id(spec.id_stem), given_name=spec.given_name,
            family_name=spec.family_name, date_of_birth=spec.born, category=spec.category,
            category_reason=spec.reason, created_at=self.now))
