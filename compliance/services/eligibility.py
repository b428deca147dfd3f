"""What stands between a patient and the next fill, asked by a pharmacy without asking for an RMA.

The same rules and facts as `rma_requests.request_rma` (the rows through `load_rows`, the
pharmacy's own certification), but nothing is written except the audit event of the read,
and the answer holds reasons only: never methods, test results or history.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import Course, PatientProfile, Pharmacy, Rma, RmaStatus
from compliance.programs import program
from compliance.services import courses, lookups, rma
from compliance.services.errors import NotFound
from compliance.services.facts import load_rows, pharmacy_certification
from compliance.services.rma_requests import held_elsewhere
from workflows.decision import Decision, evaluate_authorization
from workflows.pharmacy_reasons import PharmacyReason, for_pharmacy

NO_SUCH_PATIENT = "No patient matches this patient ID and date of birth."
NO_SUCH_CASE = "No RMA with this number was issued to this pharmacy."


@dataclass(frozen=True)
class Eligibility:
    """The decision a request made now would get, what stands in the way in the pharmacy's
    words, whose patient it is, and the month's unused RMA when this pharmacy holds it."""

    patient: PatientProfile
    decision: Decision
    reasons: tuple[PharmacyReason, ...]
    checked_at: datetime
    open_rma: Rma | None = None


def eligibility(db: Session, *, pharmacy: Pharmacy, patient_id: str, date_of_birth: date,
                now: datetime) -> Eligibility:
    """Evaluate the next fill for the patient with this program ID and date of birth.

    Raises NotFound when either identifier does not match, so a wrong date of birth tells
    nothing about whether the ID exists; the miss is counted (`lookups`), and Throttled
    when this pharmacy or this ID has missed too often.
    """
    patient = lookups.find(db, typed_id=patient_id, born=date_of_birth, now=now,
                           asker=lookups.asker(pharmacy_id=pharmacy.id, user_id=None),
                           pharmacy_id=pharmacy.id)
    course = patient and courses.course_of(db, patient)
    if patient is None or course is None:  # a miss stays pending: the API commits each call
        raise NotFound({"patient_id": NO_SUCH_PATIENT})
    return _checked(db, pharmacy, course, now)


def eligibility_by_rma(db: Session, *, pharmacy: Pharmacy, rma_number: str,
                       now: datetime) -> Eligibility:
    """The same evaluation for the course of an RMA this pharmacy was issued (a standards
    message's "case number"). Another pharmacy's RMA is as unknown as no RMA, and each miss
    counts against this pharmacy like a wrong card."""
    who = lookups.asker(pharmacy_id=pharmacy.id, user_id=None)
    lookups.refuse_if_throttled(db, asker=who, patient_id=None, now=now)
    try:
        held = rma.find_rma(db, pharmacy=pharmacy, rma_number=rma_number, now=now)
    except NotFound:
        lookups.record_miss(db, asker=who, patient_id=None, pharmacy_id=pharmacy.id, now=now)
        db.commit()
        raise NotFound({"case_number": NO_SUCH_CASE}) from None
    return _checked(db, pharmacy, db.get(Course, held.course_id), now)


def _checked(db: Session, pharmacy: Pharmacy, course: Course, now: datetime) -> Eligibility:
    found = next_fill(db, pharmacy=pharmacy, course=course, now=now)
    audit.record(db, "patient.eligibility_checked", "patient", found.patient.id,
                 summary={"pharmacy": pharmacy.id, "outcome": str(found.decision.outcome),
                          "reasons": [f.code for f in found.decision.unmet]})
    db.commit()
    return found


def next_fill(db: Session, *, pharmacy: Pharmacy, course: Course, now: datetime) -> Eligibility:
    """What would block this pharmacy's RMA for the course now (the prescription's own
    numbers are checked on asking); nothing is written."""
    rows = load_rows(db, [course])[0]
    facts = replace(rows.facts(), pharmacy=pharmacy_certification(pharmacy))
    decision = evaluate_authorization(facts, program(course.program), now)
    told = for_pharmacy(decision.findings,
                        held_elsewhere=held_elsewhere(rows.cycle_rmas, pharmacy.id))
    held = next((r for r in rows.cycle_rmas
                 if r.status == RmaStatus.ISSUED and r.pharmacy_id == pharmacy.id), None)
    return Eligibility(rows.patient, decision, told, now, held)
