"""A patient's whole record, for the right of access and for inspection (21 CFR 11.10(b)).

Every row the program holds about the patient, as stored: the profile, each course with
its category changes, methods and pregnancy tests (entries marked in error included), each
month with its quiz attempts, every signature with its manifestation (name, time,
meaning), every RMA request and decision, every RMA and dispense, and the audit trail of
all of them. The same dictionary is served as JSON (which loads back to equal values) and
rendered as a page that prints. Reading it is audited.

The patient's own copy leaves out the methods their prescriber entered: a patient confirms
their methods each month without being shown the prescriber's (the ones they confirmed are
in their months).
"""

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import (
    AuditEvent,
    CategoryChange,
    ContraceptionMethod,
    Course,
    Cycle,
    Dispense,
    PatientProfile,
    PregnancyTest,
    QuizAttempt,
    Rma,
    RmaRequest,
    Signature,
)

SECTIONS = ("patient", "courses", "category_changes", "methods", "pregnancy_tests", "months",
            "quiz_attempts", "signatures", "rma_requests", "rmas", "dispenses", "audit_trail")


def export(db: Session, *, patient: PatientProfile, for_patient: bool = False) -> dict:
    """The record as plain JSON values, section by section, each list in id order."""
    courses = _rows(db, Course, Course.patient_id == patient.id)
    course_ids = [c.id for c in courses]
    cycles = _rows(db, Cycle, Cycle.course_id.in_(course_ids))
    cycle_ids = [c.id for c in cycles]
    rmas = _rows(db, Rma, Rma.course_id.in_(course_ids))
    requests = _rows(db, RmaRequest, RmaRequest.patient_id == patient.id)
    signature_ids = {s for row in courses for s in (row.enrollment_signature_id,
                                                    row.resume_signature_id) if s} | \
        {s for row in cycles for s in (row.prescriber_signature_id, row.patient_signature_id)
         if s}
    record = {
        "patient": _plain(patient),
        "courses": [_plain(row) for row in courses],
        "category_changes": _listed(db, CategoryChange, CategoryChange.patient_id == patient.id),
        "methods": [] if for_patient else _listed(db, ContraceptionMethod,
                                                  ContraceptionMethod.course_id.in_(course_ids)),
        "pregnancy_tests": _listed(db, PregnancyTest, PregnancyTest.course_id.in_(course_ids)),
        "months": [_plain(row) for row in cycles],
        "quiz_attempts": _listed(db, QuizAttempt, QuizAttempt.cycle_id.in_(cycle_ids)),
        "signatures": _listed(db, Signature, Signature.id.in_(signature_ids)),
        "rma_requests": [_plain(row) for row in requests],
        "rmas": [_plain(row) for row in rmas],
        "dispenses": _listed(db, Dispense, Dispense.course_id.in_(course_ids)),
        "audit_trail": _trail(db, patient, course_ids, cycle_ids, [r.id for r in rmas],
                              [r.id for r in requests], signature_ids),
    }
    audit.record(db, "patient.record_exported", "patient", patient.id,
                 summary={"for_patient": for_patient})
    db.commit()
    return record


def _trail(db: Session, patient: PatientProfile, course_ids, cycle_ids, rma_ids, request_ids,
           signature_ids) -> list[dict]:
    objects = [("patient", patient.id), ("user", patient.user_id),
               *(("course", i) for i in course_ids), *(("cycle", i) for i in cycle_ids),
               *(("rma", i) for i in rma_ids), *(("rma_request", i) for i in request_ids),
               *(("signature", i) for i in signature_ids)]
    keys = [(kind, str(object_id)) for kind, object_id in objects]
    return _listed(db, AuditEvent, tuple_(AuditEvent.object_type, AuditEvent.object_id)
                   .in_(keys))


def _rows(db: Session, model, condition) -> list:
    return list(db.scalars(select(model).where(condition).order_by(model.id)))


def _listed(db: Session, model, condition) -> list[dict]:
    return [_plain(row) for row in _rows(db, model, condition)]


def _plain(row) -> dict:
    return row.model_dump(mode="json")
