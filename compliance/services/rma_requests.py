"""Asking for an RMA: decide, and record the request either way.

This runs for every request a pharmacy system sends, so it reads the course in one
statement (`course_records`) and, on PostgreSQL, writes in one more (`decision_writes`),
a month it opens included; each commits on its own, so a request costs four round trips
with the key lookup and the connection check, and no BEGIN or COMMIT. Exactly once under
concurrency: the writes compare and set the course's version and the cycle's state, a
partial unique index allows one live RMA per cycle, and a lost race or a serialization
failure is retried from the start, so the retry sees the winner's RMA and is denied with a
reason instead of failing.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from types import SimpleNamespace
from uuid import uuid4

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from compliance import audit
from compliance.identifiers import new_rma_number, normalise_program_patient_id
from compliance.models import (
    Course,
    Cycle,
    PatientProfile,
    Rma,
    RmaRequest,
    RmaStatus,
)
from compliance.models.inputs import RmaAsk
from compliance.programs import program
from compliance.services import course_records, worklist
from compliance.services.course_records import CourseRecords
from compliance.services.decision_writes import Writes, write
from compliance.services.errors import validated
from compliance.services.facts import pharmacy_certification
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

_REQUEST, _RMA = RmaRequest.__table__, Rma.__table__
_PATIENT = PatientProfile.__table__
_RECORDED = (
    select(_REQUEST.c.id, _REQUEST.c.decision, _REQUEST.c.reasons, _REQUEST.c.requested_at,
           _REQUEST.c.authorization_id, _PATIENT.c.program_patient_id, _PATIENT.c.program,
           _RMA.c.rma_number, _RMA.c.do_not_dispense_after, _RMA.c.window_closes_at,
           _RMA.c.rule_version, _RMA.c.status)
    .select_from(_REQUEST.outerjoin(_PATIENT, _PATIENT.c.id == _REQUEST.c.patient_id)
                 .outerjoin(_RMA, _RMA.c.id == _REQUEST.c.authorization_id))
    .where(_REQUEST.c.id == bindparam("request_id"),
           _REQUEST.c.pharmacy_id == bindparam("pharmacy_id"))
)


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


def request_rma(db: Session, *, pharmacy, data: dict | RmaAsk, now: datetime,
                requested_by: int | None = None) -> RecordedRequest:
    """Decide on an RMA and record the request either way; returns the recorded request.

    `pharmacy` is the asking pharmacy (a row or a plain record: its id and certification).
    `data` is the request as entered, or an `RmaAsk` already validated (`validated`).
    """
    ask = validated(RmaAsk, data)
    db.flush()  # plain statements do not flush the session's pending rows themselves
    recorded, changed = in_retried_transaction(
        db, lambda: _decide(db, pharmacy, ask, now, requested_by))
    if db.identity_map:  # the session's ORM copies of these rows, if any, are stale now
        for model, row_id in changed:
            if (stale := db.identity_map.get(identity_key(model, row_id))) is not None:
                db.expire(stale)
    return recorded


def recorded_request(db: Session, *, pharmacy_id: int, request_id: str) -> RecordedRequest | None:
    """A request this pharmacy made, as its decision; None for any other pharmacy's."""
    row = db.connection().execute(_RECORDED, {"request_id": request_id,
                                              "pharmacy_id": pharmacy_id}).first()
    if row is None:
        return None
    issued = IssuedRma(row.rma_number, row.do_not_dispense_after, row.window_closes_at,
                       row.status) if row.rma_number else None
    return RecordedRequest(
        id=row.id, decision=row.decision, reasons=row.reasons, requested_at=row.requested_at,
        program_patient_id=row.program_patient_id, program=row.program,
        rule_version=row.rule_version or _version_in_force(row.program, row.requested_at),
        authorization_id=row.authorization_id, rma=issued)


def _decide(db: Session, pharmacy, ask: RmaAsk, now: datetime, requested_by: int | None):
    connection = db.connection()
    writes = Writes({"id": str(uuid4()), "pharmacy_id": pharmacy.id, "patient_id": None,
                     "requested_by_id": requested_by, "requested_at": now,
                     "decision": "denied", "reasons": [],
                     "request": ask.model_dump(mode="json"), "authorization_id": None})
    patient_id = normalise_program_patient_id(ask.patient_id)
    rows = patient_id and course_records.read_for_request(connection, patient_id,
                                                          ask.patient_date_of_birth)
    if not rows:
        return _save(db, writes, [_reason(
            "PATIENT_NOT_FOUND", Actor.PHARMACY, "No patient matches this patient ID and date "
            "of birth; check both with the patient's program card.")])
    writes.request["patient_id"] = rows.patient.id
    if rows.prescriber.npi != ask.prescriber_npi:
        return _save(db, writes, [_reason(
            "PRESCRIBER_MISMATCH", Actor.PHARMACY, "This NPI is not the prescriber of record "
            "for this patient; check the prescription.")], rows, evaluated=False)
    seen = rows.cycle.state if rows.cycle else None
    rows.cycle = rows.cycle or _unsaved_cycle(rows)
    facts = replace(rows.facts(), pharmacy=pharmacy_certification(pharmacy),
                    request=RequestFacts(days_supply=ask.days_supply, quantity=ask.quantity))
    flow = CycleFlow(rows.cycle, on_transition=_kept(db, writes, rows, now))
    elsewhere = held_elsewhere(rows.cycle_rmas, pharmacy.id)
    try:
        result = flow.fire(CycleEvent.AUTHORIZE,
                           Context(facts, program(rows.course.program), now))
    except InvalidTransition:
        held = pharmacy_reasons.reason(PharmacyCode.RMA_OPEN_ELSEWHERE if elsewhere
                                       else PharmacyCode.RMA_ALREADY_OPEN)
        return _save(db, writes, [_told(held)], rows)
    if not result.accepted:
        told = for_pharmacy(result.decision.findings, held_elsewhere=elsewhere)
        return _save(db, writes, [_told(r) for r in told], rows, decided=result.decision)
    issued = _issue(writes, rows, ask, result.decision, now, moved_from=seen)
    return _save(db, writes, [], rows, issued=issued, decided=result.decision)


def held_elsewhere(cycle_rmas: list, pharmacy_id: int) -> bool:
    """The month's unused RMA belongs to another pharmacy (only that one can reverse it)."""
    live = [r for r in cycle_rmas if r.status == RmaStatus.ISSUED]
    return bool(live) and all(r.pharmacy_id != pharmacy_id for r in live)


def _told(told: PharmacyReason) -> dict:
    return _reason(told.code, told.actor, told.message, told.eligible_on)


def _issue(writes: Writes, rows: CourseRecords, ask: RmaAsk, decision: Decision,
           now: datetime, *, moved_from: str | None) -> IssuedRma:
    """The RMA to insert, and the cycle's move from `moved_from` to `authorized` (the flow
    moved the record; a cycle this request opened was inserted in that state)."""
    issued = IssuedRma(new_rma_number(), decision.do_not_dispense_after,
                       decision.window_closes_at)
    writes.rma = {
        "rma_number": issued.rma_number, "cycle_id": rows.cycle.id, "course_id": rows.course.id,
        "pharmacy_id": writes.request["pharmacy_id"],
        "requested_by_id": writes.request["requested_by_id"], "status": "issued",
        "prescriber_npi": ask.prescriber_npi, "ndc": ask.ndc, "strength_mg": ask.strength_mg,
        "quantity": ask.quantity, "days_supply": ask.days_supply,
        "do_not_dispense_after": issued.do_not_dispense_after,
        "window_closes_at": issued.window_closes_at, "program": decision.program,
        "rule_version": decision.rule_version, "issued_at": now,
        "reversed_at": None, "expired_at": None, "voided_at": None,
    }
    if moved_from is not None:
        writes.cycle = {"y_id": rows.cycle.id, "y_from": moved_from, "y_to": rows.cycle.state}
    writes.request["decision"] = "authorized"
    rows.cycle_rmas.append(SimpleNamespace(do_not_dispense_after=issued.do_not_dispense_after,
                                           status="issued",
                                           pharmacy_id=writes.request["pharmacy_id"]))
    return issued


def _unsaved_cycle(rows: CourseRecords) -> SimpleNamespace:
    """The month a request opens when none is in progress (a category with no monthly
    steps, or a month not yet begun); saved only if the request is granted (`_kept`)."""
    return SimpleNamespace(id=None, number=rows.cycle_count + 1, state=CycleState.OPEN.value,
                           prescriber_confirmed_at=None, patient_attested_at=None,
                           quiz_passed=False, failed_quiz_attempts=0,
                           patient_confirmed_methods=[])


def _kept(db: Session, writes: Writes, rows: CourseRecords, now: datetime) -> Callable:
    """The cycle's accepted transition, audited. An unsaved cycle is inserted with the
    decision's writes, in its new state, only if an RMA is issued, so a denial leaves no
    empty month behind; its event gets the id the insert gives it (`decision_writes`)."""
    def transition(change) -> None:
        cycle = rows.cycle
        if cycle.id is None:
            writes.opened = {name: value for name, value in vars(cycle).items()
                             if name != "id"} | {
                "course_id": rows.course.id, "opened_at": now,
                "prescriber_signature_id": None, "patient_signature_id": None}
            writes.opened_event = audit.transitions(db, "cycle", "")(change)
        else:
            audit.transitions(db, "cycle", cycle.id)(change)
    return transition


def _save(db: Session, writes: Writes, reasons: list[dict], rows: CourseRecords | None = None,
          *, evaluated: bool = True, issued: IssuedRma | None = None,
          decided: Decision | None = None):
    """Record the request, its audit event and, for an evaluated course, its next action
    (from `decided`, the decision just made, when there is one). An issued RMA always
    writes the course row: its compare-and-set on the version is what makes the decision
    stand (see `decision_writes`).

    Returns the recorded request and the rows changed, whose ORM copies are now stale.
    """
    request = writes.request
    request["reasons"] = reasons
    found = [str(f.code) for f in decided.unmet] if decided else [r["code"] for r in reasons]
    audit.record(db, "rma.requested", "rma_request", request["id"],
                 summary={"decision": request["decision"], "reasons": found})
    changed = []
    if rows is not None and evaluated:
        course = rows.course
        action = worklist.next_action(rows, request["requested_at"], decided)
        if issued or (action.code, action.on) != (course.next_action, course.next_action_on):
            writes.course = {"k_id": course.id, "k_version": course.version,
                             "k_code": action.code, "k_on": action.on}
        changed = [(Course, course.id)] + ([(Cycle, rows.cycle.id)] if rows.cycle.id else [])
    rma_id = write(db, writes)
    code = rows.course.program if rows else None
    recorded = RecordedRequest(
        id=request["id"], decision=request["decision"], reasons=reasons,
        requested_at=request["requested_at"],
        program_patient_id=rows.patient.program_patient_id if rows else None, program=code,
        rule_version=decided.rule_version if decided else _version_in_force(
            code, request["requested_at"]),
        authorization_id=rma_id, rma=issued)
    return recorded, changed


def _version_in_force(code: str | None, instant: datetime) -> str | None:
    """The rule version a decision on `instant` was made under."""
    if code is None:
        return None
    prog = program(code)
    return program_version_for(prog, local_date(instant, prog.zone)).version


def _reason(code: str, actor, message: str, eligible_on=None) -> dict:
    return {"code": str(code), "actor": str(actor) if actor else None, "message": message,
            "eligible_on": eligible_on.isoformat() if eligible_on else None}
