"""Demonstration data: one of each kind of account, so every role can be tried at once,
and patients at every stage of a course, dated relative to the day the demo is loaded.

Idempotent: rows are looked up by their natural keys (email, NPI, NCPDP ID) and only the
missing ones are created, so loading twice changes nothing. The staged patients are made
through the services (registration, consent, counseling, methods, tests, the monthly
steps), each step back-dated to its day, so their rows are exactly what the pages make.
"""

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

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
    Rma,
    Role,
    TotpFactor,
    User,
)
from compliance.models.enums import SECOND_FACTOR_ROLES
from compliance.programs import program
from compliance.security.passwords import hash_password
from compliance.services import (
    courses,
    invitations,
    methods,
    monthly,
    patients,
    question_banks,
    rma,
    rma_requests,
    worklist,
)

from .demo_stages import (
    DEMO_TWO_METHODS,
    GETS_PREGNANT,
    METHODS_BEFORE_ENROLLMENT_DAYS,
    STAGED_PATIENTS,
    StagedPatient,
)

DEMO_PASSWORD = "walk through the demo"  # noqa: S105 (documented demo login, refused in production)  # nosec B105


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
    *[("patient", spec.email) for spec in STAGED_PATIENTS],
]


def demo_totp_secret(email: str) -> str:
    """The fixed authenticator secret of a demo staff account, so that `flask demo logins`
    can print its current code (the demo is refused in production)."""
    digest = hashlib.sha256(f"demo second factor {email}".encode()).digest()[:20]
    return base64.b32encode(digest).decode()


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
    loader.question_bank()
    for staged in STAGED_PATIENTS:
        loader.staged_patient(staged)
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
        # Certified before the oldest staged course began, so back-dated steps are valid.
        return {"certification_status": CertificationStatus.CERTIFIED,
                "certified_on": self.today - timedelta(days=120),
                "certification_expires_on": self.today + timedelta(days=245)}

    def account(self, email: str, name: str, role: Role) -> User:
        user = self.db.scalar(select(User).where(User.email == email)) or self._add(
            User(email=email, name=name, role=role, password_hash=self._password_hash,
                 created_at=self.now))
        if role in SECOND_FACTOR_ROLES and not self.db.scalar(
                select(TotpFactor.id).where(TotpFactor.user_id == user.id)):
            self._add(TotpFactor(user_id=user.id, secret=demo_totp_secret(email),
                                 created_at=self.now, confirmed_at=self.now))
        return user

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
            created_at=self.now, staff_trained_on=self.today - timedelta(days=120),
            **self._certification()))

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
        patient = self._add(PatientProfile(
            user_id=user.id, prescriber_id=owner.id,
            program_patient_id=demo_patient_id(spec.id_stem), given_name=spec.given_name,
            family_name=spec.family_name, date_of_birth=spec.born, category=spec.category,
            category_reason=spec.reason, weight_kg=60, created_at=self.now))
        worklist.refresh(self.db, courses.open_course(self.db, patient=patient, now=self.now),
                         self.now)

    def question_bank(self) -> None:
        """Version 1 of the default iPLEDGE questions, active, unless a bank exists."""
        if question_banks.active_bank(self.db, program="ipledge", category=GETS_PREGNANT):
            return
        bank = question_banks.create_version(
            self.db, program="ipledge", category=GETS_PREGNANT, now=self.now,
            questions=question_banks.DEFAULT_IPLEDGE_QUESTIONS)
        question_banks.activate(self.db, bank=bank, now=self.now)
        self.created += 1

    def at(self, days_ago: int) -> datetime:
        """Noon Eastern `days_ago` days before the load (never later than the load itself)."""
        zone = program("ipledge").zone
        noon = datetime.combine(self.today - timedelta(days=days_ago), time(12), zone)
        return min(noon.astimezone(UTC), self.now)

    def staged_patient(self, spec: StagedPatient) -> None:
        """Register and walk one patient to their stage, unless the account exists."""
        if self.db.scalar(select(User.id).where(User.email == spec.email)) is not None:
            return
        prescriber = self.db.scalar(select(PrescriberProfile).join(
            User, User.id == PrescriberProfile.user_id).where(User.email == PRESCRIBERS[0][0]))
        doctor = self.db.get(User, prescriber.user_id)
        start = self.at(spec.enrolled_days_ago)
        profile, token = patients.register_patient(
            self.db, prescriber=prescriber, now=start, today=self.today, invitation_days=7,
            data={"given_name": spec.given_name, "family_name": spec.family_name,
                  "date_of_birth": date(2001, 6, 15), "email": spec.email, "phone": "",
                  "weight_kg": 62, "category": spec.category,
                  "category_reason": "Has reproductive potential." if spec.category ==
                  GETS_PREGNANT else "Assigned male at birth."})
        user = invitations.accept_invitation(self.db, token=token, password=DEMO_PASSWORD,
                                             confirm=DEMO_PASSWORD, now=start,
                                             date_of_birth=profile.date_of_birth)
        course = courses.course_of(self.db, profile)
        monthly.sign_enrollment(self.db, course=course, patient_user=user,
                                password=DEMO_PASSWORD, now=start)
        day = start.astimezone(program("ipledge").zone).date()
        courses.record_counseling(self.db, course=course, counseled_on=day, today=day,
                                  now=start)
        if spec.category == GETS_PREGNANT:  # already on both methods for a month
            since = day - timedelta(days=METHODS_BEFORE_ENROLLMENT_DAYS)
            for method in DEMO_TWO_METHODS:
                methods.add_method(self.db, course=course, today=day, entered_by=doctor.id,
                                   now=start, data={"method": method, "started_on": since})
        self._tests(spec, course, doctor)
        if spec.prescriber_confirmed_days_ago is not None:
            when = self.at(spec.prescriber_confirmed_days_ago)
            monthly.confirm_month(self.db, course=course, prescriber_user=doctor,
                                  password=DEMO_PASSWORD, now=when)
            if spec.patient_answered:
                answers = {q["id"]: q["answer"] for q in question_banks.DEFAULT_IPLEDGE_QUESTIONS}
                monthly.answer_quiz(self.db, course=course, answers=answers, now=when)
                monthly.attest(self.db, course=course, patient_user=user, password=DEMO_PASSWORD,
                               methods=list(DEMO_TWO_METHODS), now=when)
        self._later_months(spec, course, doctor)
        worklist.refresh(self.db, course, self.now)  # as the daily refresh would, today
        self.db.commit()
        self.created += 1

    def _later_months(self, spec: StagedPatient, course, doctor: User) -> None:
        """A fill by the demo pharmacy, then a second month or the end of treatment."""
        if spec.filled_days_ago is None:
            return
        when = self.at(spec.filled_days_ago)
        day = when.astimezone(program("ipledge").zone).date()
        site = self.pharmacy()
        patient = self.db.get(PatientProfile, course.patient_id)
        prescriber = self.db.get(PrescriberProfile, patient.prescriber_id)
        asked = rma_requests.request_rma(self.db, pharmacy=site, now=when, data={
            "patient_id": patient.program_patient_id,
            "patient_date_of_birth": patient.date_of_birth, "prescriber_npi": prescriber.npi,
            "ndc": "0555-0101-02", "strength_mg": 40, "quantity": 30, "days_supply": 30})
        number = self.db.get(Rma, asked.authorization_id).rma_number
        rma.record_dispense(self.db, pharmacy=site, now=when, data={
            "rma_number": number, "quantity": 30, "days_supply": 30, "dispensed_on": day,
            "medication_guide_given": True})
        if spec.monthly_test_days_ago is not None:
            when = self.at(spec.monthly_test_days_ago)
            day = when.astimezone(program("ipledge").zone).date()
            courses.record_test(self.db, course=course, today=day, entered_by=doctor.id,
                                now=when, data={"kind": "monthly", "specimen_on": day,
                                                "result": "negative", "setting": "laboratory",
                                                "laboratory": "Demo Lab"})
            monthly.confirm_month(self.db, course=course, prescriber_user=doctor,
                                  password=DEMO_PASSWORD, now=when)
        if spec.last_dose_days_ago is not None:
            when = self.at(spec.last_dose_days_ago)
            day = when.astimezone(program("ipledge").zone).date()
            courses.end_treatment(self.db, course=course, last_dose_on=day, today=day, now=when)

    def _tests(self, spec: StagedPatient, course, doctor: User) -> None:
        for kind, days_ago, result in (
                ("screening", spec.screening_days_ago, "negative"),
                ("confirmation", spec.confirmation_days_ago, spec.confirmation_result)):
            if days_ago is None:
                continue
            when = self.at(days_ago)
            day = when.astimezone(program("ipledge").zone).date()
            enter = courses.report_pregnancy if result == "positive" else courses.record_test
            enter(self.db, course=course, today=day, entered_by=doctor.id, now=when,
                  data={"kind": kind, "specimen_on": day, "result": result,
                        "setting": "laboratory", "laboratory": "Demo Lab"})
