"""Does a patient's record export hold everything, load back to what is stored, reach only
the prescriber of record, the administrator and the patient, and leave an audit trail?"""

import json

import freezegun
import pytest
from sqlalchemy import func, select

from compliance.models import (
    AuditEvent,
    ContraceptionMethod,
    Cycle,
    Dispense,
    PregnancyTest,
    Rma,
    RmaRequest,
    Signature,
)
from compliance.services import records, rma
from tests.course_helpers import at, certified_pharmacy, local, ready_for_first_fill
from tests.pharmacy_helpers import issue, signed_in


@pytest.fixture
def filled(app, db, factory):
    """A course through its first fill on day 20."""
    with freezegun.freeze_time(at(20)):
        with app.test_request_context():
            world = ready_for_first_fill(db, factory)
            site = certified_pharmacy(factory)
        number = issue(app, db, world, site, day=20).rma_number
        with app.test_request_context():
            rma.record_dispense(db, pharmacy=site, now=at(20), data={
                "rma_number": number, "quantity": 30, "days_supply": 30,
                "dispensed_on": local(20), "medication_guide_given": True})
        yield world


def stored(db, model, **where) -> dict[int, dict]:
    rows = db.scalars(select(model).filter_by(**where)) if where else db.scalars(select(model))
    return {row.id: row.model_dump(mode="json") for row in rows}


def test_the_prescribers_download_is_the_whole_record_and_loads_back(app, client, db, filled):
    world = filled
    with freezegun.freeze_time(at(21)):
        browser = signed_in(client, db, world.prescriber_user)
        response = browser.get(f"/prescriber/patients/{world.patient.id}/record.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    record = json.loads(response.data)
    assert set(record) == set(records.SECTIONS)
    course = world.course.id
    db.expire_all()
    for section, model in [("pregnancy_tests", PregnancyTest), ("methods", ContraceptionMethod),
                           ("months", Cycle), ("rmas", Rma), ("dispenses", Dispense)]:
        assert {row["id"]: row for row in record[section]} == stored(db, model, course_id=course), \
            section
    assert {r["id"] for r in record["rma_requests"]} == set(stored(
        db, RmaRequest, patient_id=world.patient.id))
    assert len(record["signatures"]) >= 3  # enrollment, the prescriber's and the patient's month
    for signature in record["signatures"]:
        assert stored(db, Signature)[signature["id"]] == signature
        assert signature["signer_name"] and signature["signed_at"] and signature["meaning"]
    actions = {event["action"] for event in record["audit_trail"]}
    assert {"course.enrollment_signed", "signature.recorded"} <= actions
    assert record["patient"]["program_patient_id"] == world.patient.program_patient_id


def test_the_page_prints_every_section_with_dates_in_words(app, client, db, filled):
    world = filled
    with freezegun.freeze_time(at(21)):
        page = signed_in(client, db, world.prescriber_user).get(
            f"/prescriber/patients/{world.patient.id}/record")
    assert page.status_code == 200
    for section in records.SECTIONS:
        assert f'id="section-{section}"' in page.text
    assert "October" in page.text and "record.json" in page.text


def test_the_patients_own_copy_leaves_out_the_prescribers_methods(app, client, db, filled):
    world = filled
    with freezegun.freeze_time(at(21)):
        record = signed_in(client, db, world.patient_user).get("/patient/record.json").json
    assert record["methods"] == []
    assert record["months"] and record["months"][0]["patient_confirmed_methods"]
    assert record["pregnancy_tests"]


def test_only_the_prescriber_of_record_may_export(app, client, db, factory, filled):
    world = filled
    other = factory.prescriber()
    with freezegun.freeze_time(at(21)):
        from compliance.models import User

        browser = signed_in(client, db, db.get(User, other.user_id))
        assert browser.get(f"/prescriber/patients/{world.patient.id}/record.json"
                           ).status_code == 404


def test_every_export_is_audited(app, client, db, factory, filled):
    world = filled
    admin = factory.user("admin")
    with freezegun.freeze_time(at(21)):
        browser = signed_in(client, db, admin)
        assert browser.get(f"/admin/users/{world.patient_user.id}/record.json").status_code == 200
        assert browser.get(f"/admin/users/{admin.id}/record").status_code == 404
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "patient.record_exported",
        AuditEvent.actor_user_id == admin.id)) == 1
