"""Rows to answer models: what a pharmacy may see of a decision, a fill or a reversal."""

from datetime import datetime

from compliance.api import schemas
from compliance.models import Dispense, Rma, RmaStatus
from compliance.programs import program
from compliance.services.cycles import VOIDED_REASON
from compliance.services.eligibility import Eligibility
from compliance.services.rma_requests import RecordedRequest


def decision(recorded: RecordedRequest) -> schemas.RmaDecision:
    """A recorded request as its decision."""
    rma = recorded.rma
    return schemas.RmaDecision(
        id=recorded.id, decision=recorded.decision,
        rma_number=rma.rma_number if rma else None,
        do_not_dispense_after=rma.do_not_dispense_after if rma else None,
        window_closes_at=local(rma.window_closes_at, recorded.program) if rma else None,
        patient_id=recorded.program_patient_id, program=recorded.program,
        rule_version=recorded.rule_version,
        reasons=[schemas.Reason(**reason) for reason in recorded.reasons],
        status=rma.status if rma else None,
        status_reason=VOIDED_REASON[1] if rma and rma.status == RmaStatus.VOIDED else None)


def dispense(row: Dispense, rma: Rma) -> schemas.DispenseRecord:
    return schemas.DispenseRecord(
        id=row.id, rma_number=rma.rma_number, dispensed_on=row.dispensed_on,
        quantity=row.quantity, days_supply=row.days_supply,
        medication_guide_given=row.medication_guide_given, recorded_at=row.recorded_at)


def reversal(rma: Rma) -> schemas.Reversal:
    return schemas.Reversal(rma_number=rma.rma_number, status="reversed",
                            reversed_at=rma.reversed_at)


def eligibility(found: Eligibility) -> schemas.Eligibility:
    verdict = found.decision
    return schemas.Eligibility(
        patient_id=found.patient.program_patient_id, program=verdict.program,
        rule_version=verdict.rule_version, eligible=verdict.authorized,
        do_not_dispense_after=verdict.do_not_dispense_after,
        window_closes_at=local(verdict.window_closes_at, verdict.program)
        if verdict.window_closes_at else None,
        reasons=[schemas.Reason(code=str(r.code), actor=str(r.actor), message=r.message,
                                eligible_on=r.eligible_on)
                 for r in found.reasons],
        checked_at=found.checked_at)


def local(instant: datetime, code: str) -> datetime:
    """An instant shown with the program zone's offset (-05:00 or -04:00 in New York)."""
    return instant.astimezone(program(code).zone)
