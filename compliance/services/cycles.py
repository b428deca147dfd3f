"""A course's months and their RMAs as time and stops move them: a month whose window was
missed closes, an RMA past its DNDPA date expires, and a stop voids every live RMA.

Shared by the clinical entries (`courses`) and the counter (`rma`), which both move months;
each function writes in the caller's transaction and audits what it changes.
"""

from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import Course, Cycle, Pharmacy, Rma, RmaStatus
from compliance.programs import program
from compliance.services.facts import authorization_fact, load_rows, pharmacy_certification
from workflows.facts import DispenseFacts
from workflows.flow import Context, InvalidTransition, TransitionResult
from workflows.machines import CycleEvent, CycleFlow
from workflows.programs import program_version_for
from workflows.rules.window import current_window

# What a pharmacy is told of a voided RMA: that it stopped, never why (docs/api.md).
VOIDED_REASON = ("TREATMENT_STOPPED", "The prescriber's program stopped this RMA before it was "
                 "filled: do not dispense. The patient should contact their prescriber.")


def fire(db: Session, cycle: Cycle, event: CycleEvent, now: datetime, *,
         rma: Rma | None = None, dispense: DispenseFacts | None = None,
         pharmacy: Pharmacy | None = None) -> TransitionResult:
    """Move a month through its machine on the course's current facts (raises
    InvalidTransition when its state does not allow the event); the move is audited."""
    course = db.get(Course, cycle.course_id)
    facts = load_rows(db, [course])[0].facts()
    if pharmacy is not None:
        facts = replace(facts, pharmacy=pharmacy_certification(pharmacy))
    context = Context(facts, program(course.program), now,
                      authorization=authorization_fact(rma) if rma else None, dispense=dispense)
    flow = CycleFlow(cycle, on_transition=audit.transitions(db, "cycle", cycle.id))
    return flow.fire(event, context)


def expire_if_overdue(db: Session, rma: Rma, now: datetime) -> bool:
    """Mark an unused RMA past its DNDPA date as expired (not committed); True if it was."""
    today = now.astimezone(program(rma.program).zone).date()
    if rma.status != RmaStatus.ISSUED or today <= rma.do_not_dispense_after:
        return False
    rma.status, rma.expired_at = RmaStatus.EXPIRED.value, now
    _quietly(db, rma, CycleEvent.EXPIRE, now)
    audit.record(db, "rma.expired", "rma", rma.rma_number, actor_role="system")
    return True


def void_live_rmas(db: Session, course: Course, now: datetime, *, why: str) -> int:
    """Void every issued RMA of the course at once (locked first, so a dispense racing this
    waits and then finds it voided); returns how many. `why` is the stop, for the log."""
    live = db.scalars(select(Rma).where(
        Rma.course_id == course.id, Rma.status == RmaStatus.ISSUED)
        .order_by(Rma.id).with_for_update()).all()
    for rma in live:
        rma.status, rma.voided_at = RmaStatus.VOIDED.value, now
        db.add(rma)
        _quietly(db, rma, CycleEvent.VOID, now)
        audit.record(db, "rma.voided", "rma", rma.rma_number, summary={"because": why})
    db.flush()
    return len(live)


def close_missed_month(db: Session, course: Course, specimen_on: date, now: datetime) -> bool:
    """A new test taken after the current month's window closed starts a new month: the old
    one expires (its RMA first, if one is still issued), so nothing of it is reused."""
    rows = load_rows(db, [course])[0]
    cycle = rows.cycle
    if cycle is None:
        return False
    prog = program(course.program)
    today = now.astimezone(prog.zone).date()
    window = current_window(rows.facts(), program_version_for(prog, today), today)
    if window is None or specimen_on <= window.closes_on:
        return False
    for rma in rows.cycle_rmas:
        expire_if_overdue(db, rma, now)
    result = _quietly(db, cycle, CycleEvent.EXPIRE, now, as_cycle=True)
    db.flush()
    return bool(result and result.accepted)


def _quietly(db: Session, target, event: CycleEvent, now: datetime, *,
             as_cycle: bool = False) -> TransitionResult | None:
    """Move an RMA's month (or a month) when its state allows; a month already moved on
    (a new month, say) keeps its state, and the RMA's own status rules."""
    cycle = target if as_cycle else db.get(Cycle, target.cycle_id)
    try:
        return fire(db, cycle, event, now, rma=None if as_cycle else target)
    except InvalidTransition:
        return None
