"""What happens to an RMA once issued: the fill, a reversal, expiry (asking for one is
`rma_requests`).

Exactly once under concurrency: the RMA row is locked (`SELECT ... FOR UPDATE` on
PostgreSQL; SQLite has one writer at a time) before it changes, a unique key allows one
dispense per RMA, and a lost race or a serialization failure is retried from the start, so
a retry sees the winner's fill and gets a conflict instead of failing.
"""

from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.identifiers import normalise_rma_number
from compliance.models import Authorization, Course, Cycle, Dispense, Pharmacy, RmaStatus
from compliance.models.inputs import DispenseEntry
from compliance.programs import program
from compliance.services import courses, worklist
from compliance.services.errors import Conflict, NotFound, Refused, validated
from compliance.services.facts import authorization_fact, load_rows
from compliance.services.retries import in_retried_transaction
from workflows.facts import DispenseFacts
from workflows.flow import Context, InvalidTransition
from workflows.machines import CourseEvent, CourseState, CycleEvent, CycleFlow


def record_dispense(db: Session, *, pharmacy: Pharmacy, data: dict | DispenseEntry, now: datetime,
                    recorded_by: int | None = None) -> Dispense:
    """Record the fill made under an RMA: at most one, inside its window."""
    entry = validated(DispenseEntry, data)
    return in_retried_transaction(db, lambda: _dispense(db, pharmacy, entry, now, recorded_by))


def reverse(db: Session, *, pharmacy: Pharmacy, rma_number: str, now: datetime) -> Authorization:
    """Reverse an unused RMA; the cycle may get a new one while its window is open."""
    def attempt() -> Authorization:
        rma = _locked_rma(db, pharmacy, rma_number, now)
        if rma.status != RmaStatus.ISSUED:
            raise Conflict(f"This RMA is {rma.status}; only an unused RMA can be reversed.")
        rma.status, rma.reversed_at = RmaStatus.REVERSED.value, now
        _fire_cycle(db, rma, CycleEvent.REVERSE, now)
        audit.record(db, "rma.reversed", "rma", rma.rma_number)
        _refresh(db, rma.course_id, now)
        return rma
    return in_retried_transaction(db, attempt)


def find_rma(db: Session, *, pharmacy: Pharmacy, rma_number: str, now: datetime) -> Authorization:
    """An RMA of this pharmacy, expired first if its DNDPA has passed (checked at read time)."""
    rma = _rma_of(db, pharmacy, rma_number)
    if expire_if_overdue(db, rma, now):
        _refresh(db, rma.course_id, now)
        db.commit()
    return rma


def expire_if_overdue(db: Session, rma: Authorization, now: datetime) -> bool:
    """Mark an unused RMA past its DNDPA date as expired (not committed); True if it was."""
    today = now.astimezone(program(rma.program).zone).date()
    if rma.status != RmaStatus.ISSUED or today <= rma.do_not_dispense_after:
        return False
    rma.status, rma.expired_at = RmaStatus.EXPIRED.value, now
    _fire_cycle(db, rma, CycleEvent.EXPIRE, now)
    audit.record(db, "rma.expired", "rma", rma.rma_number, actor_role="system")
    return True


def expire_overdue(db: Session, *, now: datetime, batch: int = 500) -> int:
    """Expire every unused RMA past its DNDPA; idempotent, for a scheduler. Returns count."""
    expired = 0
    while True:
        rmas = db.scalars(select(Authorization).where(
            Authorization.status == RmaStatus.ISSUED,
            Authorization.do_not_dispense_after < now.date()).limit(batch)
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
    zone = program(rma.program).zone
    dispensed_at = now if entry.dispensed_on == today else datetime.combine(
        entry.dispensed_on, time(12), tzinfo=zone)
    findings = _fire_cycle(db, rma, CycleEvent.DISPENSE, now, dispense=DispenseFacts(
        dispensed_at=dispensed_at, days_supply=entry.days_supply,
        medication_guide_given=entry.medication_guide_given))
    if findings:
        raise Conflict(" ".join(f.message for f in findings))
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
    course = db.get(Course, rma.course_id)
    if course.state == CourseState.QUALIFYING:
        courses.fire(db, course, CourseEvent.ACTIVATE, now)
    _refresh(db, rma.course_id, now)
    return dispense


def _fire_cycle(db: Session, rma: Authorization, event: CycleEvent, now: datetime,
                dispense: DispenseFacts | None = None):
    """Move the RMA's cycle; returns the unmet findings of a refused guard."""
    cycle = db.get(Cycle, rma.cycle_id)
    course = db.get(Course, rma.course_id)
    facts = load_rows(db, [course])[0].facts()
    context = Context(facts, program(rma.program), now, authorization=authorization_fact(rma),
                      dispense=dispense)
    try:
        result = CycleFlow(cycle, on_transition=audit.transitions(db, "cycle", cycle.id)) \
            .fire(event, context)
    except InvalidTransition:
        return ()  # the cycle already moved on (e.g. a new month): the RMA's own state rules
    return tuple(f for f in result.findings if not f.met) if not result.accepted else ()


def _locked_rma(db: Session, pharmacy: Pharmacy, typed: str, now: datetime) -> Authorization:
    number = normalise_rma_number(typed or "")
    if number is None:
        raise Refused({"rma_number": "This RMA number is not valid: check its digits."})
    rma = db.scalar(select(Authorization).where(Authorization.rma_number == number)
                    .with_for_update())
    if rma is None or rma.pharmacy_id != pharmacy.id:
        raise NotFound({"rma_number": "No RMA with this number was issued to this pharmacy."})
    if expire_if_overdue(db, rma, now):
        db.flush()
    return rma


def _rma_of(db: Session, pharmacy: Pharmacy, typed: str) -> Authorization:
    number = normalise_rma_number(typed or "")
    rma = number and db.scalar(select(Authorization).where(Authorization.rma_number == number))
    if not rma or rma.pharmacy_id != pharmacy.id:
        raise NotFound({"rma_number": "No RMA with this number was issued to this pharmacy."})
    return rma


def _not_dispensable(rma: Authorization) -> str:
    return {
        RmaStatus.DISPENSED: "This RMA has already been dispensed; each RMA covers one fill.",
        RmaStatus.REVERSED: "This RMA was reversed; ask for a new one.",
        RmaStatus.EXPIRED: f"This RMA expired: it could be filled until "
                           f"{rma.do_not_dispense_after:%b} {rma.do_not_dispense_after.day}.",
    }[RmaStatus(rma.status)]


def _refresh(db: Session, course_id: int, now: datetime) -> None:
    worklist.refresh(db, db.get(Course, course_id), now)
