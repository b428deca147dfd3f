"""Rows to answer models: what a pharmacy may see of a decision, a fill or a reversal."""

from datetime import datetime

from sqlalchemy.orm import Session

from compliance.api import schemas
from compliance.models import Authorization, Dispense, PatientProfile, RmaRequest
from compliance.programs import program
from compliance.services.eligibility import Eligibility
from workflows.programs import program_version_for


def decision(db: Session, record: RmaRequest) -> schemas.RmaDecision:
    """A recorded request as its decision; the rule version of a denial is the one that was in
    force on the day it was asked."""
    rma = db.get(Authorization, record.authorization_id) if record.authorization_id else None
    patient = db.get(PatientProfile, record.patient_id) if record.patient_id else None
    code = rma.program if rma else (patient.program if patient else None)
    version = rma.rule_version if rma else None
    if code and version is None:
        prog = program(code)
        version = program_version_for(prog, record.requested_at.astimezone(prog.zone).date()) \
            .version
    return schemas.RmaDecision(
        id=record.id, decision=record.decision,
        rma_number=rma.rma_number if rma else None,
        do_not_dispense_after=rma.do_not_dispense_after if rma else None,
        window_closes_at=local(rma.window_closes_at, rma.program) if rma else None,
        patient_id=patient.program_patient_id if patient else None,
        program=code, rule_version=version,
        reasons=[schemas.Reason(**reason) for reason in record.reasons])


def dispense(row: Dispense, rma: Authorization) -> schemas.DispenseRecord:
    return schemas.DispenseRecord(
        id=row.id, rma_number=rma.rma_number, dispensed_on=row.dispensed_on,
        quantity=row.quantity, days_supply=row.days_supply,
        medication_guide_given=row.medication_guide_given, recorded_at=row.recorded_at)


def reversal(rma: Authorization) -> schemas.Reversal:
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
        reasons=[schemas.Reason(code=str(f.code), actor=str(f.actor) if f.actor else None,
                                message=f.message, eligible_on=f.eligible_on)
                 for f in verdict.unmet],
        checked_at=found.checked_at)


def local(instant: datetime, code: str) -> datetime:
    """An instant shown with the program zone's offset (-05:00 or -04:00 in New York)."""
    return instant.astimezone(program(code).zone)
