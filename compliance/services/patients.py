"""Patients as their prescriber registers and sees them."""

from datetime import date, datetime

from pydantic import ValidationError
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from compliance import audit, programs
from compliance.identifiers import new_program_patient_id, normalise_program_patient_id
from compliance.models import PatientProfile, PrescriberProfile, Role, User
from compliance.models.inputs import PatientCreate

from . import courses, worklist
from .errors import Refused
from .facts import prescriber_certified_today
from .invitations import issue_invitation


def register_patient(db: Session, *, prescriber: PrescriberProfile, data: dict, now: datetime,
                     today: date, invitation_days: int) -> tuple[PatientProfile, str]:
    """Enroll a patient under `prescriber`: the account, the profile with a new program
    patient ID, and an invitation link; returns the profile and the link's token."""
    refuse_unless_certified(prescriber, today)
    try:
        entry = PatientCreate.model_validate(data)
    except ValidationError as exc:
        raise Refused.from_validation(exc) from None
    _refuse_unknown_category(entry.program, entry.category)
    if entry.date_of_birth >= today:
        raise Refused({"date_of_birth": "The date of birth must be in the past."})
    if entry.date_of_birth.year < today.year - 120:
        raise Refused({"date_of_birth": "Check the year of birth."})
    if db.scalar(select(User.id).where(User.email == entry.email)) is not None:
        raise Refused({"email": "An account with this email already exists."})
    user = User(email=entry.email, name=f"{entry.given_name} {entry.family_name}",
                role=Role.PATIENT)
    db.add(user)
    db.flush()
    patient = PatientProfile(
        user_id=user.id, prescriber_id=prescriber.id, program_patient_id=_unused_patient_id(db),
        **entry.model_dump(exclude={"email"}),
    )
    db.add(patient)
    db.flush()
    audit.record(db, "patient.registered", "patient", patient.id,
                 summary={"program_patient_id": patient.program_patient_id,
                          "category": patient.category})
    course = courses.open_course(db, patient=patient, now=now)
    worklist.refresh(db, course, now)
    token = issue_invitation(db, user=user, issued_by=audit.current_actor_id(), now=now,
                             valid_days=invitation_days)
    db.commit()
    return patient, token


_ON_CARD = select(PatientProfile).where(
    PatientProfile.program_patient_id == bindparam("patient_id"))


def on_card(db: Session, typed_id: str | None, born: date | None) -> PatientProfile | None:
    """The patient with this program ID (as typed from the card) and this date of birth; None
    when either does not match, so a wrong date of birth tells nothing of the ID."""
    patient_id = normalise_program_patient_id(typed_id or "")
    if patient_id is None or born is None:
        return None
    patient = db.scalar(_ON_CARD, {"patient_id": patient_id})
    return patient if patient is not None and patient.date_of_birth == born else None


def _refuse_unknown_category(code: str, category: str) -> None:
    """The program must be one this deployment runs, and the category one of its newest
    version's (the choices the registration form offers)."""
    if code not in programs.all_programs():
        raise Refused({"program": "Choose the patient's program."})
    if category not in programs.category_choices(code):
        raise Refused({"category": "Choose one of this program's categories."})


def refuse_unless_certified(prescriber: PrescriberProfile, today: date) -> None:
    """Only a prescriber whose certification is in force may enroll or act for patients."""
    if not prescriber_certified_today(prescriber, today):
        raise Refused("Your prescriber certification is not in force; the program "
                      "administrator must certify you before you can enroll patients.")


def certification_notice(prescriber: PrescriberProfile, today: date) -> str | None:
    """What a prescriber whose certification is not in force reads on every page, so a
    refusal never comes as a surprise; None when it is in force."""
    if prescriber_certified_today(prescriber, today):
        return None
    if prescriber.certification_status == "pending":
        return ("Your certification is pending. Until the program administrator certifies "
                "you, you cannot enroll patients and no pharmacy can fill for them.")
    return ("Your certification is not in force. You cannot enroll patients and no pharmacy "
            "can fill for them until the program administrator certifies you again.")


def list_patients(db: Session, *, prescriber: PrescriberProfile, page: int, per_page: int
                  ) -> tuple[list[tuple[PatientProfile, User]], int]:
    """One page of the prescriber's patients by name, and the total count."""
    mine = PatientProfile.prescriber_id == prescriber.id
    total = db.scalar(select(func.count()).select_from(PatientProfile).where(mine))
    rows = db.execute(
        select(PatientProfile, User).join(User, User.id == PatientProfile.user_id).where(mine)
        .order_by(PatientProfile.family_name, PatientProfile.given_name, PatientProfile.id)
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    audit.record(db, "patient.list_viewed", "prescriber", prescriber.id,
                 summary={"page": page, "shown": len(rows)})
    db.commit()
    return [tuple(row) for row in rows], total


def view_patient(db: Session, *, patient: PatientProfile) -> User:
    """Record that the current user read this patient's record; returns the account."""
    audit.record(db, "patient.viewed", "patient", patient.id)
    user = db.get(User, patient.user_id)
    db.commit()
    return user


def _unused_patient_id(db: Session) -> str:
    """A fresh ID; with 45 random bits a clash is rare, but never silently tolerated."""
    for _ in range(5):
        candidate = new_program_patient_id()
        taken = select(PatientProfile.id).where(PatientProfile.program_patient_id == candidate)
        if db.scalar(taken) is None:
            return candidate
    raise RuntimeError("could not draw an unused program patient ID")
