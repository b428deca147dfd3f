"""Asking for an RMA: decide, and record the request either way.

The patient's course row is locked before its rows are read (`facts.load_locked`),
so requests for one patient, and a request and a stop (a positive test, an end of
treatment), take turns: each decides on what the one before it committed. A partial unique
index allows one live RMA per cycle, and a unique number one month per course, whatever the
code does; a request that loses a race on either is retried from the start, finds the
winner's RMA and is denied with a reason instead of failing.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.identifiers import new_rma_number, normalise_program_patient_id
from compliance.models import Cycle, PatientProfile, Pharmacy, Rma, RmaRequest, RmaStatus
from compliance.models.inputs import RmaAsk
from compliance.programs import program
from compliance.services import facts, lookups, worklist
from compliance.services.errors import validated
from compliance.services.facts import CourseRows, pharmacy_certification
from compliance.services.retries import in_retried_transaction
from workflows import pharmacy_reasons
from workflows.dates import local_date
from workflows.decision import Decision
from workflows.facts import RequestFacts
from workflows.findings import Actor
from workflows.flow import Context, InvalidTransition
from workflows.machines import CycleEvent, CycleFlow, CycleState
from workflows.pharmacy_reasons import PharmacyCode, PharmacyReason, for_pharmacy
from workflows.programs import program_version_for


@dataclass(frozen=True)
class IssuedRma:
    rma_number: str
    do_not_dispense_after: date
    window_closes_at: datetime
    status: str = "issued"


@dataclass(frozen=True)
class RecordedRequest:
    """A request for an RMA as recorded: the decision, every reason, and the RMA if issued.

    `program` and `rule_version` are those the decision was made under (for a denial, the
    version in force that day); all three are None when no patient matched.
    """

    id: str
    decision: str
    reasons: list[dict]
    requested_at: datetime
    program_patient_id: str | None
    program: str | None
    rule_version: str | None
    authorization_id: int | None = None
    rma: IssuedRma | None = None


def request_rma(db: Session, *, pharmacy: Pharmacy, data: dict | RmaAsk, now: datetime,
                requested_by: int | None = None) -> RecordedRequest:
    """Decide on an RMA for the asking pharmacy and record the request either way, committed.

    `data` is the request as entered, or an `RmaAsk` already validated (`validated`).
    """
    ask = validated(RmaAsk, data)
    return in_retried_transaction(db, lambda: _decide(db, pharmacy, ask, now, requested_by))


def recorded_request(db: Session, *, pharmacy_id: int, request_id: str) -> RecordedRequest | None:
    """A request this pharmacy made, as its decision; None for any other pharmacy's."""
    found = db.execute(
        select(RmaRequest, PatientProfile, Rma)
        .outerjoin(PatientProfile, PatientProfile.id == RmaRequest.patient_id)
        .outerjoin(Rma, Rma.id == RmaRequest.authorization_id)
        .where(RmaRequest.id == request_id, RmaRequest.pharmacy_id == pharmacy_id)).first()
    return _recorded(*found) if found is not None else None


def held_elsewhere(cycle_rmas: list[Rma], pharmacy_id: int) -> bool:
    """The month's unused RMA belongs to another pharmacy (only that one can reverse it)."""
    live = [r for r in cycle_rmas if r.status == RmaStatus.ISSUED]
    return bool(live) and all(r.pharmacy_id != pharmacy_id for r in live)


def _decide(db: Session, pharmacy: Pharmacy, ask: RmaAsk, now: datetime,
            requested_by: int | None) -> RecordedRequest:
    request = RmaRequest(id=str(uuid4()), pharmacy_id=pharmacy.id, requested_by_id=requested_by,
                         requested_at=now, decision="denied", request=ask.model_dump(mode="json"))
    card_id = normalise_program_patient_id(ask.patient_id or "")
    asker = lookups.asker(pharmacy_id=pharmacy.id, user_id=requested_by)
    lookups.refuse_if_throttled(db, asker=asker, patient_id=card_id, now=now)
    rows = card_id and facts.load_locked(db, card_id, ask.patient_date_of_birth)
    if not rows:
        lookups.record_miss(db, asker=asker, patient_id=card_id, pharmacy_id=pharmacy.id,
                            now=now)
        return _save(db, request, [_reason(
            "PATIENT_NOT_FOUND", Actor.PHARMACY, "No patient matches this patient ID and date "
            "of birth; check both with the patient's program card.")])
    request.patient_id = rows.patient.id
    if rows.prescriber.npi != ask.prescriber_npi:
        return _save(db, request, [_reason(
            "PRESCRIBER_MISMATCH", Actor.PHARMACY, "This NPI is not the prescriber of record "
            "for this patient; check the prescription.")], rows, evaluated=False)
    # With no month in progress the request opens one, saved only if an RMA is issued, so
    # a denial leaves no empty month behind.
    rows.cycle = rows.cycle or Cycle(course_id=rows.course.id, number=rows.cycle_count + 1,
                                     state=CycleState.OPEN.value, opened_at=now)
    known = replace(rows.facts(), pharmacy=pharmacy_certification(pharmacy),
                    request=RequestFacts(days_supply=ask.days_supply, quantity=ask.quantity))
    moves = []
    elsewhere = held_elsewhere(rows.cycle_rmas, pharmacy.id)
    try:
        result = CycleFlow(rows.cycle, on_transition=moves.append).fire(
            CycleEvent.AUTHORIZE, Context(known, program(rows.course.program), now))
    except InvalidTransition:
        held = pharmacy_reasons.reason(PharmacyCode.RMA_OPEN_ELSEWHERE if elsewhere
                                       else PharmacyCode.RMA_ALREADY_OPEN)
        return _save(db, request, [_told(held)], rows)
    if not result.accepted:
        told = for_pharmacy(result.decision.findings, held_elsewhere=elsewhere)
        return _save(db, request, [_told(r) for r in told], rows, decided=result.decision)
    rma = _issue(db, request, rows, ask, result.decision, now)
    for move in moves:
        audit.transitions(db, "cycle", rows.cycle.id)(move)
    return _save(db, request, [], rows, rma=rma, decided=result.decision)


def _issue(db: Session, request: RmaRequest, rows: CourseRows, ask: RmaAsk,
           decision: Decision, now: datetime) -> Rma:
    """The RMA, in the month the flow just moved to `authorized` (saved first if new)."""
    db.add(rows.cycle)
    db.flush()
    rma = Rma(rma_number=new_rma_number(), cycle_id=rows.cycle.id, course_id=rows.course.id,
              pharmacy_id=request.pharmacy_id, requested_by_id=request.requested_by_id,
              status=RmaStatus.ISSUED.value, prescriber_npi=ask.prescriber_npi, ndc=ask.ndc,
              strength_mg=ask.strength_mg, quantity=ask.quantity, days_supply=ask.days_supply,
              do_not_dispense_after=decision.do_not_dispense_after,
              window_closes_at=decision.window_closes_at, program=decision.program,
              rule_version=decision.rule_version, issued_at=now)
    db.add(rma)
    db.flush()
    request.decision, request.authorization_id = "authorized", rma.id
    rows.cycle_rmas.append(rma)
    return rma


def _save(db: Session, request: RmaRequest, reasons: list[dict],
          rows: CourseRows | None = None, *, evaluated: bool = True, rma: Rma | None = None,
          decided: Decision | None = None) -> RecordedRequest:
    """Record the request, its audit event and, for an evaluated course, its next action
    (from `decided`, the decision just made, when there is one)."""
    request.reasons = reasons
    db.add(request)
    found = [str(f.code) for f in decided.unmet] if decided else [r["code"] for r in reasons]
    audit.record(db, "rma.requested", "rma_request", request.id,
                 summary={"decision": request.decision, "reasons": found})
    if rows is not None and evaluated:
        course = rows.course
        action = worklist.next_action(rows, request.requested_at, decided)
        if (action.code, action.on) != (course.next_action, course.next_action_on):
            course.next_action, course.next_action_on = action.code, action.on
    db.flush()
    return _recorded(request, rows.patient if rows else None, rma)


def _recorded(request: RmaRequest, patient: PatientProfile | None,
              rma: Rma | None) -> RecordedRequest:
    code = patient.program if patient else None
    issued = IssuedRma(rma.rma_number, rma.do_not_dispense_after, rma.window_closes_at,
                       rma.status) if rma else None
    return RecordedRequest(
        id=request.id, decision=request.decision, reasons=request.reasons,
        requested_at=request.requested_at,
        program_patient_id=patient.program_patient_id if patient else None, program=code,
        rule_version=rma.rule_version if rma else _version_in_force(code, request.requested_at),
        authorization_id=request.authorization_id, rma=issued)


def _version_in_force(code: str | None, instant: datetime) -> str | None:
    """The rule version a decision on `instant` was made under."""
    if code is None:
        return None
    prog = program(code)
    return program_version_for(prog, local_date(instant, prog.zone)).version


def _told(told: PharmacyReason) -> dict:
    return _reason(told.code, told.actor, told.message, told.eligible_on)


def _reason(code: str, actor, message: str, eligible_on=None) -> dict:
    return {"code": str(code), "actor": str(actor) if actor else None, "message": message,
            "eligible_on": eligible_on.isoformat() if eligible_on else None}
