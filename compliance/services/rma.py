"""What happens to an RMA once issued: the fill, a reversal, expiry (asking for one is
`rma_requests`).

Exactly once under concurrency: the RMA row is locked (`SELECT ... FOR UPDATE` on
PostgreSQL; SQLite has one writer at a time) before it changes, a unique key allows one
dispense per RMA, and a lost race or a serialization failure is retried from the start, so
a retry sees the winner's fill and gets a conflict instead of failing.
"""

from contextlib import suppress
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.identifiers import normalise_rma_number
from compliance.models import Course, Cycle, Dispense, Pharmacy, Rma, RmaStatus
from compliance.models.inputs import DispenseEntry
from compliance.programs import program
from compliance.services import courses, cycles, worklist
from compliance.services.cycles import expire_if_overdue
from compliance.services.errors import Conflict, NotFound, Refused, validated
from compliance.services.retries import in_retried_transaction
from workflows import pharmacy_reasons
from workflows.facts import DispenseFacts
from workflows.flow import InvalidTransition
from workflows.machines import CourseEvent, CourseState, CycleEvent
from workflows.pharmacy_reasons import PharmacyCode, PharmacyReason, for_pharmacy

DISPENSABLE_COURSES = (CourseState.QUALIFYING, CourseState.ACTIVE)


def record_dispense(db: Session, *, pharmacy: Pharmacy, data: dict | DispenseEntry, now: datetime,
                    recorded_by: int | None = None) -> Dispense:
    """Record the fill made under an RMA: at most one, inside its window."""
    entry = validated(DispenseEntry, data)
    return in_retried_transaction(db, lambda: _dispense(db, pharmacy, entry, now, recorded_by))


def reverse(db: Session, *, pharmacy: Pharmacy, rma_number: str, now: datetime) -> Rma:
    """Reverse an unused RMA; the cycle may get a new one while its window is open."""
    def attempt() -> Rma:
        rma = _locked_rma(db, pharmacy, rma_number, now)
        if rma.status != RmaStatus.ISSUED:
            raise Conflict(f"This RMA is {rma.status}; only an unused RMA can be reversed.")
        rma.status, rma.reversed_at = RmaStatus.REVERSED.value, now
        with suppress(InvalidTransition):  # a month already moved on keeps its state
            cycles.fire(db, db.get(Cycle, rma.cycle_id), CycleEvent.REVERSE, now, rma=rma)
        audit.record(db, "rma.reversed", "rma", rma.rma_number)
        _refresh(db, rma.course_id, now)
        return rma
    return in_retried_transaction(db, attempt)


def find_rma(db: Session, *, pharmacy: Pharmacy, rma_number: str, now: datetime) -> Rma:
    """An RMA of this pharmacy, expired first if its DNDPA has passed (checked at read time)."""
    rma = _rma_of(db, pharmacy, rma_number)
    if expire_if_overdue(db, rma, now):
        _refresh(db, rma.course_id, now)
        db.commit()
    return rma


def expire_overdue(db: Session, *, now: datetime, batch: int = 500) -> int:
    """Expire every unused RMA past its DNDPA; idempotent, for a scheduler. Returns count."""
    expired = 0
    while True:
        rmas = db.scalars(select(Rma).where(
            Rma.status == RmaStatus.ISSUED,
            Rma.do_not_dispense_after < now.date()).limit(batch)
            .with_for_update(skip_locked=True)).all()
        changed = [r for r in rmas if expire_if_overdue(db, r, now)]
        for rma in changed:
            _refresh(db, rma.course_id, now)
        db.commit()
        expired += len(changed)
        if len(rmas) < batch or not changed:
            return expired


def _dispense(db: Session, pharmacy: Pharmacy, entry: DispenseEntry, now: datetime,
              recorded_by: int | None) -> Dispense:
    rma = _locked_rma(db, pharmacy, entry.rma_number, now)
    if rma.status != RmaStatus.ISSUED:
        raise Conflict(_not_dispensable(rma))
    today = now.astimezone(program(rma.program).zone).date()
    if entry.dispensed_on > today:
        raise Refused({"dispensed_on": "The dispense date cannot be in the future."})
    if entry.dispensed_on < rma.issued_at.astimezone(program(rma.program).zone).date():
        raise Refused({"dispensed_on": "The dispense date cannot come before the RMA."})
    if entry.days_supply > rma.days_supply or entry.quantity > rma.quantity:
        raise Refused({"days_supply": f"The RMA covers at most {rma.days_supply} days and "
                                      f"{rma.quantity} units."})
    course = db.get(Course, rma.course_id)
    if course.state not in DISPENSABLE_COURSES:
        raise Conflict(_words(pharmacy_reasons.reason(PharmacyCode.TREATMENT_STOPPED)))
    zone = program(rma.program).zone
    dispensed_at = now if entry.dispensed_on == today else datetime.combine(
        entry.dispensed_on, time(12), tzinfo=zone)
    dispense = DispenseFacts(dispensed_at=dispensed_at, days_supply=entry.days_supply,
                             medication_guide_given=entry.medication_guide_given)
    try:
        moved = cycles.fire(db, db.get(Cycle, rma.cycle_id), CycleEvent.DISPENSE, now, rma=rma,
                            dispense=dispense, pharmacy=pharmacy)
    except InvalidTransition:  # an issued RMA's month is authorized; anything else is stale
        raise Conflict("This RMA's month is closed; ask for a new RMA.") from None
    if not moved.accepted:
        raise Conflict(" ".join(_words(r) for r in for_pharmacy(moved.findings)))
    dispense = Dispense(authorization_id=rma.id, course_id=rma.course_id,
                        dispensed_on=entry.dispensed_on, quantity=entry.quantity,
                        days_supply=entry.days_supply,
                        medication_guide_given=entry.medication_guide_given,
                        recorded_by_id=recorded_by, recorded_at=now)
    db.add(dispense)
    rma.status = RmaStatus.DISPENSED.value
    db.flush()
    audit.record(db, "rma.dispensed", "rma", rma.rma_number,
                 summary={"days_supply": entry.days_supply, "dispensed_on": entry.dispensed_on})
    if course.state == CourseState.QUALIFYING:
        courses.fire(db, course, CourseEvent.ACTIVATE, now)
    _refresh(db, rma.course_id, now)
    return dispense


def _locked_rma(db: Session, pharmacy: Pharmacy, typed: str, now: datetime) -> Rma:
    number = normalise_rma_number(typed or "")
    if number is None:
        raise Refused({"rma_number": "This RMA number is not valid: check its digits."})
    rma = db.scalar(select(Rma).where(Rma.rma_number == number)
                    .with_for_update())
    if rma is None or rma.pharmacy_id != pharmacy.id:
        raise NotFound({"rma_number": "No RMA with this number was issued to this pharmacy."})
    if expire_if_overdue(db, rma, now):
        db.flush()
    return rma


def _rma_of(db: Session, pharmacy: Pharmacy, typed: str) -> Rma:
    number = normalise_rma_number(typed or "")
    rma = number and db.scalar(select(Rma).where(Rma.rma_number == number))
    if not rma or rma.pharmacy_id != pharmacy.id:
        raise NotFound({"rma_number": "No RMA with this number was issued to this pharmacy."})
    return rma


def _not_dispensable(rma: Rma) -> str:
    return {
        RmaStatus.DISPENSED: "This RMA has already been dispensed; each RMA covers one fill.",
        RmaStatus.REVERSED: "This RMA was reversed; ask for a new one.",
        RmaStatus.EXPIRED: f"This RMA expired: it could be filled until "
                           f"{rma.do_not_dispense_after:%b} {rma.do_not_dispense_after.day}.",
        RmaStatus.VOIDED: f"This RMA was voided: {cycles.VOIDED_REASON[1]}",
    }[RmaStatus(rma.status)]


def _words(told: PharmacyReason) -> str:
    """A pharmacy reason as one sentence, with the day it becomes possible."""
    when = told.eligible_on
    return told.message + (f" Possible from {when:%b} {when.day}, {when.year}." if when else "")


def _refresh(db: Session, course_id: int, now: datetime) -> None:
    worklist.refresh(db, db.get(Course, course_id), now)
