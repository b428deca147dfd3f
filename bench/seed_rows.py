"""The rows of the benchmark's patients, built in memory as the services would leave them.

Dated relative to the real clock: the server under load reads it.
"""

import json
import sys
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from compliance.identifiers import new_program_patient_id, new_rma_number, npi_with_check_digit
from compliance.models import (
    AuditEvent,
    ContraceptionMethod,
    Course,
    Cycle,
    Dispense,
    PatientProfile,
    PregnancyTest,
    PrescriberProfile,
    QuizAttempt,
    Rma,
    Signature,
    User,
)
from compliance.services import signatures, signed_records

EASTERN = ZoneInfo("America/New_York")
NOW = datetime.now(UTC)
TODAY = NOW.astimezone(EASTERN).date()
METHODS = ("intrauterine_device", "male_latex_condom")
PRESCRIBERS = 10
NDC = "0555-0101-02"

# (kind, share in percent). "ready_*" kinds can be authorized today; the others are denied
# after a full evaluation (missing steps), or are suspended or in post-treatment.
MIX = (("ready_cgp", 35), ("ready_cnp", 15), ("enrolled", 10), ("awaiting_confirmation", 10),
       ("awaiting_attestation", 5), ("active", 20), ("suspended", 2), ("post_treatment", 3))
READY = {"ready_cgp", "ready_cnp"}
INSERT_ORDER = (User, PrescriberProfile, PatientProfile, Signature, Course, ContraceptionMethod,
                PregnancyTest, Cycle, QuizAttempt, Rma, Dispense, AuditEvent)


def ago(days: float, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


def day(days: int) -> date:
    return TODAY - timedelta(days=days)


class Rows:
    """Rows per table, with ids assigned here so that related rows can point at them."""

    def __init__(self, last_ids: dict[type, int]) -> None:
        self.tables: dict[type, list[dict]] = {}
        self.last_ids = last_ids

    def add(self, model: type, **values) -> int:
        rows = self.tables.setdefault(model, [])
        values.setdefault("id", self.last_ids.get(model, 0) + len(rows) + 1)
        rows.append(_with_defaults(model, values))
        return values["id"]

    def audit(self, action: str, object_type: str, object_id, at: datetime,
              actor: int | None = None, role: str = "prescriber", **summary) -> None:
        self.add(AuditEvent, occurred_at=at, actor_user_id=actor, actor_role=role,
                 action=action, object_type=object_type, object_id=str(object_id),
                 summary=json.loads(json.dumps(summary, default=str)))


def _with_defaults(model: type, values: dict) -> dict:
    """`values` plus the model's defaults for the other fields, as `model(**values)` would
    give (building the SQLModel objects themselves would take the seed ten times longer)."""
    fields = model.model_fields
    unknown = set(values) - set(fields)
    if unknown:
        raise TypeError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
    row = {}
    for name, info in fields.items():
        if name in values:
            row[name] = values[name]
        elif info.default_factory is not None:
            row[name] = info.default_factory()
        elif not info.is_required():
            row[name] = info.default
        else:
            raise TypeError(f"{model.__name__}.{name} is required")
    return row


def kinds(patients: int) -> list[str]:
    pattern = [kind for kind, share in MIX for _ in range(share)]
    return [pattern[i % 100] for i in range(patients)]


def build(patients: int, pharmacy_id: int, bank_id: int, last_ids: dict[type, int]
          ) -> tuple[Rows, list]:
    """Every row of `patients` patients under PRESCRIBERS prescribers; returns bodies too."""
    rows, bodies, used_ids = Rows(last_ids), [], set()
    doctors = []
    for n in range(PRESCRIBERS):
        user = rows.add(User, email=f"bench-dr{n}@example.com", name=f"Dr Bench {n}",
                 role="prescriber", created_at=ago(400))
        profile = rows.add(PrescriberProfile, user_id=user,
                           npi=npi_with_check_digit(f"{300000000 + n}"), practice_name="Bench",
                           certification_status="certified", certified_on=day(200),
                           certification_expires_on=day(-165))
        doctors.append((profile, user, npi_with_check_digit(f"{300000000 + n}")))
    for i, kind in enumerate(kinds(patients)):
        user = last_ids[User] + len(rows.tables[User]) + 1
        profile, doctor_user, npi = doctors[i % PRESCRIBERS]
        pid = new_program_patient_id()
        while pid in used_ids:
            pid = new_program_patient_id()
        used_ids.add(pid)
        dob = date(1985 + i % 20, 1 + i % 12, 1 + i % 28)
        category = "cannot_get_pregnant" if kind == "ready_cnp" else "can_get_pregnant"
        patient = _patient(rows, user, profile, doctor_user, pid, dob, category, kind, i)
        course_rows(rows, kind, patient, user, (profile, doctor_user), pharmacy_id, bank_id, npi)
        body = {"patient_id": pid, "patient_date_of_birth": dob.isoformat(),
                "prescriber_npi": npi, "ndc": NDC, "strength_mg": 40, "quantity": 30,
                "days_supply": 30}
        bodies.append((kind, body))
    bind_signatures(rows)
    return rows, bodies


def _patient(rows: Rows, user: int, prescriber: int, doctor_user: int, pid: str, dob: date,
             category: str, kind: str, i: int) -> int:
    enrolled = ago(60 if kind in ("active", "post_treatment") else 25)
    rows.add(User, id=user, email=f"bench-p{i}@example.com", name=f"Pat Bench{i}",
             role="patient", created_at=enrolled)
    patient = rows.add(PatientProfile, user_id=user, prescriber_id=prescriber,
                       program_patient_id=pid, given_name="Pat", family_name=f"Bench{i:05d}",
                       date_of_birth=dob, category=category, category_reason="Bench.",
                       weight_kg=60.0, created_at=enrolled)
    rows.audit("patient.registered", "patient", patient, enrolled, doctor_user,
               program_patient_id=pid, category=category)
    return patient


def course_rows(rows: Rows, kind: str, patient: int, user: int, prescriber: tuple[int, int],
                pharmacy: int, bank: int, npi: str) -> None:
    """The course of one patient in the state `kind` names, with what led there."""
    profile, doctor = prescriber
    long_ago = kind in ("active", "post_treatment")
    start = 60 if long_ago else 25
    signed = kind != "enrolled"
    signature = _sign(rows, user, "Pat", signatures.ENROLLMENT, ago(start)) if signed else None
    state = {"enrolled": "enrolled", "active": "active", "suspended": "suspended",
             "post_treatment": "post_treatment"}.get(kind, "qualifying")
    course = rows.add(Course, patient_id=patient, prescriber_id=profile,
                      program="ipledge", state=state, enrolled_at=ago(start),
                      enrollment_signature_id=signature,
                      counseled_on=day(start) if signed else None,
                      last_dose_on=day(5) if kind == "post_treatment" else None,
                      suspended_at=ago(start - 1) if kind == "suspended" else None)
    rows.audit("course.opened", "course", course, ago(start), doctor, patient_id=patient)
    if kind in ("enrolled", "ready_cnp"):
        return
    for method in METHODS:
        rows.add(ContraceptionMethod, course_id=course, method=method,
                 started_on=day(start + 40), entered_by_id=doctor, entered_at=ago(start))
    screening = "positive" if kind == "suspended" else "negative"
    _test(rows, course, "screening", day(start - 1), screening, "office", doctor)
    if kind in ("suspended", "awaiting_confirmation"):
        return
    confirmed_on = day(start - 24) if long_ago else day(1)
    _test(rows, course, "confirmation", confirmed_on, "negative", "laboratory", doctor)
    when = ago(start - 25) if long_ago else ago(0, hours=3)
    attested = kind != "awaiting_attestation"
    cycle = _cycle(rows, course, user, doctor, bank, when, attested,
                   "dispensed" if long_ago else "patient_attested" if attested
                   else "prescriber_confirmed")
    if long_ago:
        _first_fill(rows, course, cycle, pharmacy, npi, confirmed_on, when)


def bind_signatures(rows: Rows) -> None:
    """Name each signature's record and hash what it signs, as `signatures.sign` does."""
    held = {row["id"]: row for row in rows.tables.get(Signature, [])}
    entered: dict[type, dict[int, list]] = {PregnancyTest: defaultdict(list),
                                             ContraceptionMethod: defaultdict(list)}
    for model, by_course in entered.items():
        for row in rows.tables.get(model, []):
            by_course[row["course_id"]].append(SimpleNamespace(**row))
    for name, kind in signed_records.KINDS.items():
        for row in rows.tables.get(signed_records.MODELS[kind.record_type], []):
            signature = held.get(row[kind.column])
            if signature is None:
                continue
            record, at = SimpleNamespace(**row), signature["signed_at"]
            known = signed_records.entries(entered[PregnancyTest][record.course_id],
                                           entered[ContraceptionMethod][record.course_id],
                                           at) if kind.entries else None
            signature.update(kind=name, record_type=kind.record_type, record_id=record.id,
                             record_hash=signed_records.digest(None, name, record, at, known))


def _sign(rows: Rows, signer: int, name: str, meaning: str, at: datetime) -> int:
    signature = rows.add(Signature, signer_id=signer, signer_name=name, meaning=meaning,
                         signed_at=at)
    return signature


def _test(rows: Rows, course: int, kind: str, on: date, result: str, setting: str,
          doctor: int) -> None:
    rows.add(PregnancyTest, course_id=course, kind=kind, specimen_on=on, result=result,
             setting=setting, sensitivity_miu=25, verified_by_prescriber=False,
             entered_by_id=doctor, entered_at=NOW - (TODAY - on))


def _cycle(rows: Rows, course: int, user: int, doctor: int, bank: int, at: datetime,
           attested: bool, state: str) -> int:
    confirm = _sign(rows, doctor, "Dr Bench", signatures.PRESCRIBER_MONTHLY, at)
    attest = _sign(rows, user, "Pat", signatures.PATIENT_MONTHLY,
                   at + timedelta(hours=1)) if attested else None
    cycle = rows.add(Cycle, course_id=course, number=1, state=state, opened_at=at,
                     prescriber_confirmed_at=at, prescriber_signature_id=confirm,
                     quiz_passed=attested,
                     patient_confirmed_methods=sorted(METHODS) if attested else [],
                     patient_attested_at=at + timedelta(hours=1) if attested else None,
                     patient_signature_id=attest)
    if attested:
        rows.add(QuizAttempt, cycle_id=cycle, bank_id=bank, passed=True, wrong_questions=[],
                 attempted_at=at + timedelta(minutes=50))
        rows.audit("cycle.attest", "cycle", cycle, at + timedelta(hours=1), user,
                   role="patient", state=["prescriber_confirmed", "patient_attested"])
    return cycle


def _first_fill(rows: Rows, course: int, cycle: int, pharmacy: int, npi: str,
                specimen_on: date, at: datetime) -> None:
    """Month 1 authorized and dispensed: the course is active, month 2 not yet tested."""
    closes = specimen_on + timedelta(days=6)
    rma = rows.add(Rma, rma_number=_rma_number(), cycle_id=cycle,
                   course_id=course, pharmacy_id=pharmacy, status="dispensed",
                   prescriber_npi=npi, ndc=NDC, strength_mg=40.0, quantity=30, days_supply=30,
                   do_not_dispense_after=closes,
                   window_closes_at=datetime.combine(closes, time(23, 59, 59), EASTERN),
                   program="ipledge", rule_version="2026", issued_at=at + timedelta(hours=2))
    rows.add(Dispense, authorization_id=rma, course_id=course,
             dispensed_on=(at + timedelta(days=1)).date(), quantity=30, days_supply=30,
             medication_guide_given=True, recorded_at=at + timedelta(days=1))


_RMA_NUMBERS: set[str] = set()


def _rma_number() -> str:
    number = new_rma_number()
    while number in _RMA_NUMBERS:
        number = new_rma_number()
    _RMA_NUMBERS.add(number)
    return number
