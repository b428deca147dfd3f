"""Program administration: prescribers, pharmacies, pharmacists and their certifications."""

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import (
    PharmacistProfile,
    Pharmacy,
    PrescriberProfile,
    Role,
    User,
)
from compliance.models.inputs import (
    AccountCreate,
    Certification,
    PharmacistCreate,
    PharmacyCreate,
    PrescriberCreate,
)
from compliance.programs import DEFAULT_PROGRAM, program
from workflows.dates import add_months, human
from workflows.programs import program_version_for

from .errors import Refused, validated
from .invitations import issue_invitation


def create_prescriber(db: Session, *, data: dict, now: datetime, invitation_days: int
                      ) -> tuple[PrescriberProfile, str]:
    """Register a prescriber (pending certification); returns the profile and the
    activation token the administrator passes on."""
    entry = validated(PrescriberCreate, data)
    _refuse_taken(db, PrescriberProfile.npi == entry.npi, "npi",
                  "A prescriber with this NPI is already registered.")
    user = _new_account(db, entry, Role.PRESCRIBER)
    profile = PrescriberProfile(user_id=user.id, npi=entry.npi, practice_name=entry.practice_name)
    db.add(profile)
    db.flush()
    audit.record(db, "prescriber.created", "prescriber", profile.id,
                 summary={"npi": entry.npi, "email": entry.email})
    token = issue_invitation(db, user=user, issued_by=audit.current_actor_id(), now=now,
                             valid_days=invitation_days)
    db.commit()
    return profile, token


def create_pharmacy(db: Session, *, data: dict) -> Pharmacy:
    entry = validated(PharmacyCreate, data)
    _refuse_taken(db, Pharmacy.ncpdp_id == entry.ncpdp_id, "ncpdp_id",
                  "A pharmacy with this NCPDP ID is already registered.")
    _refuse_taken(db, Pharmacy.npi == entry.npi, "npi",
                  "A pharmacy with this NPI is already registered.")
    pharmacy = Pharmacy(**entry.model_dump())
    db.add(pharmacy)
    db.flush()
    audit.record(db, "pharmacy.created", "pharmacy", pharmacy.id, summary=entry.model_dump())
    db.commit()
    return pharmacy


def add_pharmacist(db: Session, *, data: dict, now: datetime, invitation_days: int
                   ) -> tuple[User, str]:
    """Add a pharmacist to a pharmacy; optionally make them its responsible pharmacist.
    Taking the role from someone who holds it must be confirmed: the holder silently loses
    the management of the pharmacy's API keys."""
    entry = validated(PharmacistCreate, data)
    pharmacy = db.get(Pharmacy, entry.pharmacy_id)
    if pharmacy is None:
        raise Refused("No such pharmacy.")
    _refuse_unconfirmed_move(db, pharmacy, entry)
    user = _new_account(db, entry, Role.PHARMACIST)
    db.add(PharmacistProfile(user_id=user.id, pharmacy_id=pharmacy.id))
    if entry.responsible:
        audit.record(db, "pharmacy.responsible_changed", "pharmacy", pharmacy.id,
                     summary={"responsible_pharmacist_id":
                              [pharmacy.responsible_pharmacist_id, user.id]})
        pharmacy.responsible_pharmacist_id = user.id
        db.add(pharmacy)
    audit.record(db, "pharmacist.created", "user", user.id,
                 summary={"pharmacy_id": pharmacy.id, "email": entry.email})
    token = issue_invitation(db, user=user, issued_by=audit.current_actor_id(), now=now,
                             valid_days=invitation_days)
    db.commit()
    return user, token


def _refuse_unconfirmed_move(db: Session, pharmacy: Pharmacy, entry: PharmacistCreate) -> None:
    holder = db.get(User, pharmacy.responsible_pharmacist_id) \
        if pharmacy.responsible_pharmacist_id is not None else None
    if entry.responsible and holder is not None and not entry.move_responsible:
        raise Refused({"move_responsible":
                       f"{holder.name} is this pharmacy's responsible pharmacist now. Tick this "
                       f"box to move the role to {entry.name}, or untick "
                       "'Responsible pharmacist of this pharmacy'."})


def certification_months(target: PrescriberProfile | Pharmacy, on: date) -> int:
    """How long a certification of this kind lasts under the version in force `on`."""
    version = program_version_for(program(DEFAULT_PROGRAM), on)
    months = version.prescriber_certification_months if isinstance(target, PrescriberProfile) \
        else version.pharmacy_certification_months
    return months.value


def certify(db: Session, *, target: PrescriberProfile | Pharmacy, data: dict) -> None:
    """Record a certification decision (status and the period it is in force). A period
    longer than the program's would read as certified after the rules stop counting it."""
    entry = validated(Certification, data)
    if entry.certified_on is not None and entry.expires_on is not None:
        months = certification_months(target, entry.certified_on)
        latest = add_months(entry.certified_on, months)
        if entry.expires_on > latest:
            raise Refused({"expires_on": f"A certification lasts {months} months: it expires "
                                         f"on {human(latest)} at the latest."})
    old = {"status": target.certification_status, "certified_on": target.certified_on,
           "expires_on": target.certification_expires_on}
    target.certification_status = entry.status
    target.certified_on = entry.certified_on
    target.certification_expires_on = entry.expires_on
    new = {"status": entry.status, "certified_on": entry.certified_on,
           "expires_on": entry.expires_on}
    if isinstance(target, Pharmacy):
        old["staff_trained_on"] = target.staff_trained_on
        target.staff_trained_on = new["staff_trained_on"] = entry.staff_trained_on
    db.add(target)
    kind = "prescriber" if isinstance(target, PrescriberProfile) else "pharmacy"
    audit.record(db, f"{kind}.certification_changed", kind, target.id,
                 summary=audit.changes(old, new))
    db.commit()


def reissue_account_invitation(db: Session, *, user: User, now: datetime,
                               invitation_days: int) -> str:
    """A fresh activation link for an account that has not set a password yet."""
    if user.password_hash is not None:
        raise Refused("This account is already active.")
    token = issue_invitation(db, user=user, issued_by=audit.current_actor_id(), now=now,
                             valid_days=invitation_days)
    db.commit()
    return token



def _refuse_taken(db: Session, condition, field: str, message: str) -> None:
    model = condition.left.table
    if db.execute(select(model).where(condition).limit(1)).first() is not None:
        raise Refused({field: message})


def _new_account(db: Session, entry: AccountCreate, role: Role) -> User:
    _refuse_taken(db, User.email == entry.email, "email",
                  "An account with this email already exists.")
    user = User(email=entry.email, name=entry.name, role=role)
    db.add(user)
    db.flush()
    return user
