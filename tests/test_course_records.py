"""Does the one-statement read behind every RMA request give the rules exactly what the ORM
rows give them, for a patient at every stage, and does a request store the next action a
fresh look would find?"""

import pytest
from sqlalchemy import func, select

from compliance.models import Course, Cycle, PatientProfile, Pharmacy, PrescriberProfile
from compliance.services import course_records, rma_requests, worklist
from compliance.services.facts import load_rows
from tests.conftest import MONDAY_NOON


@pytest.fixture
def demo(app, db, frozen):
    """The demo data: patients at every stage, mid-course and post-treatment included."""
    loaded = app.test_cli_runner().invoke(args=["demo", "load"])
    assert loaded.exit_code == 0, loaded.output
    return list(db.scalars(select(PatientProfile).order_by(PatientProfile.id)))


def _latest_course(db, patient: PatientProfile) -> Course:
    return db.scalar(select(Course).where(Course.patient_id == patient.id)
                     .order_by(Course.id.desc()).limit(1))


def test_every_stage_reads_the_same_facts_as_the_orm_rows(app, db, demo):
    """Same facts, same current cycle, same next action and the same count of months?"""
    assert len(demo) >= 10
    with app.app_context():
        for patient in demo:
            course = _latest_course(db, patient)
            rows = load_rows(db, [course])[0]
            records = course_records.read_for_request(
                db.connection(), patient.program_patient_id, patient.date_of_birth)
            assert records.facts() == rows.facts(), patient.family_name
            assert (records.cycle.id if records.cycle else None) == \
                (rows.cycle.id if rows.cycle else None)
            assert worklist.next_action(records, MONDAY_NOON) == \
                worklist.next_action(rows, MONDAY_NOON)
            assert records.cycle_count == db.scalar(
                select(func.count()).select_from(Cycle).where(Cycle.course_id == course.id))
            assert (records.course.next_action, records.course.next_action_on) == \
                (course.next_action, course.next_action_on)


@pytest.mark.parametrize("change", ["program_patient_id", "date_of_birth"])
def test_both_identifiers_must_match(db, demo, change):
    """Does a right ID with a wrong date of birth (or the reverse) read nothing at all?"""
    patient = demo[0]
    typed = {"program_patient_id": patient.program_patient_id,
             "born": patient.date_of_birth}
    if change == "program_patient_id":
        other = next(p for p in demo if p.date_of_birth != patient.date_of_birth)
        typed["program_patient_id"] = other.program_patient_id
    else:
        typed["born"] = patient.date_of_birth.replace(year=patient.date_of_birth.year - 1)
    assert course_records.read_for_request(db.connection(), typed["program_patient_id"],
                                           typed["born"]) is None


def test_a_request_stores_the_next_action_a_fresh_look_finds(app, db, demo):
    """After a granted or a denied request, is the worklist's stored next action the one a
    fresh evaluation of the course finds (the request's own decision is reused for it)?"""
    site = db.scalar(select(Pharmacy).where(Pharmacy.certification_status == "certified"))
    granted = 0
    with app.test_request_context():
        for patient in demo:
            prescriber = db.get(PrescriberProfile, patient.prescriber_id)
            asked = rma_requests.request_rma(db, pharmacy=site, now=MONDAY_NOON, data={
                "patient_id": patient.program_patient_id,
                "patient_date_of_birth": patient.date_of_birth.isoformat(),
                "prescriber_npi": prescriber.npi, "ndc": "0555-0101-02", "strength_mg": 40,
                "quantity": 30, "days_supply": 30})
            granted += asked.decision == "authorized"
            course = _latest_course(db, patient)
            fresh = worklist.next_action(load_rows(db, [course])[0], MONDAY_NOON)
            assert (course.next_action, course.next_action_on) == (fresh.code, fresh.on), \
                (patient.family_name, asked.decision)
    assert granted >= 2
