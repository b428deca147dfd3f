"""Which of our patients a hook is about, seen only through the calling prescriber.

The practitioner's NPI must be one of our prescribers'; the patient is looked for among
that prescriber's own patients only: first by an EHR identifier the prescriber linked,
then by exact name and date of birth when exactly one matches. Anything else is no match,
and no match names no one.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.models import EhrPatientLink, PatientProfile, PrescriberProfile

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"


@dataclass(frozen=True)
class Match:
    prescriber: PrescriberProfile | None
    patient: PatientProfile | None


def match(db: Session, practitioner: dict | None, patient: dict | None) -> Match:
    prescriber = _prescriber(db, practitioner)
    if prescriber is None or patient is None:
        return Match(prescriber, None)
    found = _by_link(db, prescriber, patient) or _by_name_and_birth(db, prescriber, patient)
    return Match(prescriber, found)


def ehr_identifiers(patient: dict) -> list[str]:
    """The Patient's identifiers as `system|value` (or the bare value without a system),
    the form a prescriber records."""
    out = []
    for identifier in patient.get("identifier") or []:
        value = isinstance(identifier, dict) and identifier.get("value")
        if isinstance(value, str) and value:
            system = identifier.get("system")
            out.append(f"{system}|{value}" if isinstance(system, str) and system else value)
    resource_id = patient.get("id")
    if isinstance(resource_id, str) and resource_id:
        out.append(f"Patient/{resource_id}")
    return out


def _prescriber(db: Session, practitioner: dict | None) -> PrescriberProfile | None:
    npis = [i.get("value") for i in (practitioner or {}).get("identifier") or []
            if isinstance(i, dict) and i.get("system") == NPI_SYSTEM
            and isinstance(i.get("value"), str)]
    if not npis:
        return None
    return db.scalar(select(PrescriberProfile).where(PrescriberProfile.npi.in_(npis)))


def _by_link(db: Session, prescriber: PrescriberProfile, patient: dict) -> PatientProfile | None:
    identifiers = ehr_identifiers(patient)
    if not identifiers:
        return None
    return db.scalar(
        select(PatientProfile).join(EhrPatientLink, EhrPatientLink.patient_id == PatientProfile.id)
        .where(EhrPatientLink.prescriber_id == prescriber.id,
               PatientProfile.prescriber_id == prescriber.id,
               EhrPatientLink.ehr_identifier.in_(identifiers)))


def _by_name_and_birth(db: Session, prescriber: PrescriberProfile,
                       patient: dict) -> PatientProfile | None:
    born, names = _birth_date(patient), _names(patient)
    if born is None or not names:
        return None
    candidates = {}
    for given, family in names:
        candidates.update((p.id, p) for p in db.scalars(select(PatientProfile).where(
            PatientProfile.prescriber_id == prescriber.id,
            PatientProfile.date_of_birth == born,
            PatientProfile.given_name == given,
            PatientProfile.family_name == family)))
    return next(iter(candidates.values())) if len(candidates) == 1 else None


def _birth_date(patient: dict) -> date | None:
    try:
        return date.fromisoformat(str(patient.get("birthDate")))
    except ValueError:
        return None


def _names(patient: dict) -> list[tuple[str, str]]:
    out = []
    for name in patient.get("name") or []:
        if not isinstance(name, dict):
            continue
        given, family = name.get("given") or [], name.get("family")
        if isinstance(family, str) and given and isinstance(given[0], str):
            out.append((given[0].strip(), family.strip()))
    return out
