"""S36 break-glass: a covering prescriber reads another prescriber's patient for 60
minutes after naming the patient by card and saying why; administrators are emailed, each
read is audited, the hour ends in 403, and nothing can be changed through it."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from compliance.models import AuditEvent, LookupMiss, OutboxMessage, User
from tests.conftest import post_form
from tests.form_helpers import fast_sign_in

pytestmark = pytest.mark.db

REASON = "Covering for Dr. Rivera; the patient called about a positive home test."


@pytest.fixture
def scene(factory, db, client):
    admin = factory.user("admin")
    own_doctor, covering = factory.prescriber(), factory.prescriber()
    patient = factory.patient(own_doctor)
    fast_sign_in(client, db, db.get(User, covering.user_id))
    return admin, covering, patient


def ask(client, patient, **changes):
    data = {"patient_id": patient.program_patient_id,
            "date_of_birth": patient.date_of_birth.isoformat(), "reason": REASON} | changes
    return post_form(client, "/prescriber/emergency/", data)


def actions(db) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


@pytest.mark.parametrize(("minutes", "status"), [(0, 200), (59, 200), (60, 403), (61, 403)])
def test_the_record_opens_for_sixty_minutes(frozen, client, db, scene, minutes, status):
    admin, _covering, patient = scene
    granted = ask(client, patient)
    record = f"/prescriber/emergency/{patient.id}/record"
    assert granted.headers["Location"].endswith(record)
    frozen.tick(timedelta(minutes=minutes))
    fast_sign_in(client, db, db.get(User, _covering.user_id))  # past the idle timeout too
    for path in (record, f"{record}.json"):
        assert client.get(path).status_code == status
    alert = db.scalar(select(OutboxMessage).where(OutboxMessage.kind == "security_alert"))
    assert alert.user_id == admin.id and "Emergency access" in alert.context["reason"]
    assert REASON not in alert.context["reason"]  # the reason stays in the audit log
    assert {"emergency_access.granted", "security.alert"} <= set(actions(db))
    assert actions(db).count("emergency_access.used") == (2 if status == 200 else 0)


def test_each_read_is_audited_and_changes_stay_with_the_prescriber_of_record(
        frozen, client, db, scene):
    _admin, _covering, patient = scene
    ask(client, patient)
    page = client.get(f"/prescriber/emergency/{patient.id}/record")
    assert patient.program_patient_id in page.text
    used = db.scalar(select(AuditEvent).where(AuditEvent.action == "emergency_access.used"))
    assert used.object_id == str(patient.id) and "grant" in used.summary
    assert client.get(f"/prescriber/patients/{patient.id}").status_code == 404
    counseling = post_form(client, f"/prescriber/patients/{patient.id}/counseling", {},
                           token_from="/prescriber/emergency/")
    assert counseling.status_code == 404


def test_without_a_grant_the_record_is_not_found(client, scene):
    _admin, _covering, patient = scene
    assert client.get(f"/prescriber/emergency/{patient.id}/record").status_code == 404


def test_a_wrong_date_of_birth_opens_nothing_and_counts_as_a_missed_lookup(frozen, client,
                                                                           db, scene):
    _admin, covering, patient = scene
    wrong = patient.date_of_birth + timedelta(days=1)
    answer = ask(client, patient, date_of_birth=wrong.isoformat())
    assert answer.status_code == 422
    assert "No patient has this program ID and date of birth" in answer.text
    assert REASON in answer.text  # what was typed stays
    assert db.scalar(select(LookupMiss.asker)) == f"user:{covering.user_id}"
    for _ in range(9):
        ask(client, patient, date_of_birth=wrong.isoformat())
    throttled = ask(client, patient)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert "emergency_access.granted" not in actions(db)


@pytest.mark.parametrize(("changes", "message"), [
    ({"reason": "Need it."}, "at least 20 characters"),
    ({"reason": ""}, "This field is required."),
])
def test_a_reason_is_required(frozen, client, db, scene, changes, message):
    _admin, _covering, patient = scene
    answer = ask(client, patient, **changes)
    assert answer.status_code == 422 and message in answer.text
    assert "emergency_access.granted" not in actions(db)


def test_a_prescriber_opens_their_own_patient_from_the_worklist(frozen, client, db, factory):
    doctor = factory.prescriber()
    patient = factory.patient(doctor)
    fast_sign_in(client, db, db.get(User, doctor.user_id))
    answer = ask(client, patient)
    assert answer.status_code == 422 and "This is your own patient" in answer.text
