"""S31: a signature names the record it signs with a SHA-256 of its content; the table is
append-only; `flask audit verify` reports a signature moved to another record or a signed
record changed afterwards, and a correction through the service leaves the old version
signed and the new one unsigned."""

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DatabaseError

from compliance.models import Cycle, PregnancyTest, Signature
from compliance.services import courses, signed_records
from tests.course_helpers import METHODS, at, local, ready_for_first_fill

pytestmark = pytest.mark.db


@pytest.fixture
def world(app, db, factory):
    """A patient ready for a first fill: enrollment, the prescriber's and the patient's
    signatures of month 1, all through the services (which audit, in a request)."""
    with app.test_request_context():
        world = ready_for_first_fill(db, factory)
        db.commit()
        yield world


def verify(app):
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def month(db, world, number: int = 1) -> Cycle:
    db.expire_all()
    return db.scalar(select(Cycle).where(Cycle.course_id == world.course.id,
                                         Cycle.number == number))


def test_each_signature_names_its_record_and_the_hash_of_what_it_signed(app, db, world):
    cycle = month(db, world)
    held = {"enrollment": (world.course, world.course.enrollment_signature_id),
            "prescriber_monthly": (cycle, cycle.prescriber_signature_id),
            "patient_monthly": (cycle, cycle.patient_signature_id)}
    for kind, (record, signature_id) in held.items():
        signature = db.get(Signature, signature_id)
        assert (signature.kind, signature.record_id) == (kind, record.id)
        assert signature.record_hash == signed_records.digest(db, kind, record,
                                                              signature.signed_at)
        assert len(signature.record_hash) == 64
    assert verify(app) == (0, verify(app)[1])
    assert "Every signature stands on the record it signed" in verify(app)[1]


def test_a_signature_moved_to_another_record_is_reported(app, db, factory, world):
    other = ready_for_first_fill(db, factory, email="other@example.com")
    theirs = month(db, other).prescriber_signature_id
    db.execute(update(Cycle).where(Cycle.id == month(db, world).id)
               .values(prescriber_signature_id=theirs))
    db.commit()
    code, output = verify(app)
    assert code == 1
    assert f"signature #{theirs} on cycle #{month(db, world).id}" in output
    assert f"made for cycle #{month(db, other).id} (prescriber_monthly)" in output


@pytest.mark.parametrize("edit", ["test result", "confirmed methods", "enrollment"])
def test_a_signed_record_changed_afterwards_is_reported(app, db, world, edit):
    cycle = month(db, world)
    if edit == "test result":
        db.execute(update(PregnancyTest).where(PregnancyTest.course_id == world.course.id)
                   .values(result="positive"))
        reported = f"on cycle #{cycle.id}"
    elif edit == "confirmed methods":
        db.execute(update(Cycle).where(Cycle.id == cycle.id)
                   .values(patient_confirmed_methods=[METHODS[0]]))
        reported = f"signature #{cycle.patient_signature_id} on cycle #{cycle.id}"
    else:
        db.execute(text("UPDATE course SET program = 'other' WHERE id = :id"),
                   {"id": world.course.id})
        reported = f"signature #{world.course.enrollment_signature_id} on course"
    db.commit()
    code, output = verify(app)
    assert code == 1
    assert reported in output and "changed after it was signed" in output


def test_a_correction_leaves_the_old_version_signed_and_the_new_one_unsigned(app, db, world):
    """Marking a test in error and entering the right one changes no signed field: the
    signature still stands on what was signed, and the new test is not under it."""
    test = db.scalar(select(PregnancyTest).where(PregnancyTest.course_id == world.course.id,
                                                 PregnancyTest.kind == "confirmation"))
    courses.mark_in_error(db, course=world.course, kind="test", entry_id=test.id,
                          reason="Wrong date typed.", now=at(21))
    courses.record_test(db, course=world.course, entered_by=world.prescriber_user.id,
                        now=at(21), today=local(21),
                        data={"kind": "confirmation", "specimen_on": local(20),
                              "result": "negative", "setting": "laboratory"})
    db.commit()
    assert verify(app)[0] == 0
    signature = db.get(Signature, month(db, world).prescriber_signature_id)
    newest = max(db.scalars(select(PregnancyTest.id)))
    signed = signed_records.content(db, "prescriber_monthly", month(db, world),
                                    signature.signed_at)
    assert newest not in [row[0] for row in signed["tests"]]
    assert test.id in [row[0] for row in signed["tests"]]


@pytest.mark.parametrize("statement", [
    "UPDATE signature SET signer_name = 'Someone Else'",
    "UPDATE signature SET record_hash = 'x'",
    "DELETE FROM signature",
])
def test_signature_rows_cannot_be_changed_or_deleted(db, world, statement):
    with pytest.raises(DatabaseError, match="append-only"):
        db.execute(text(statement))
    db.rollback()
    assert db.scalar(select(Signature.signer_name).limit(1)) != "Someone Else"
