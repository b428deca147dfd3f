"""Is every change and every read of patient data in the audit log, exactly once, with who
did it and under which request, and can nobody rewrite that log?"""

from datetime import date
from enum import StrEnum

import pytest
import sqlalchemy.exc
from sqlalchemy import func, select, text

from compliance import audit
from compliance.models import AuditEvent, AuditLogIsAppendOnly, User
from compliance.services import organisations
from tests.conftest import post_form
from tests.form_helpers import (
    NEW_PASSWORD,
    VALID,
    emailed_path,
    fast_sign_in,
)

REQUEST_ID = "req-7f3a.audit_test-01"



@pytest.fixture
def admin(client, factory, frozen):
    user = factory.user("admin")
    fast_sign_in(client, factory.db, user)
    return user


@pytest.fixture
def prescriber(client, factory, frozen):
    profile = factory.prescriber()
    fast_sign_in(client, factory.db, factory.db.get(User, profile.user_id))
    return profile


def last_event_id(db) -> int:
    db.rollback()
    return db.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))


def events_since(db, last_id: int) -> list[AuditEvent]:
    db.rollback()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.id > last_id)
                           .order_by(AuditEvent.id)))


def send(client, url, data, *, token_from=None):
    """Submit a form under a known request id, as a proxy in front would tag it."""
    return post_form(client, url, data, token_from=token_from,
                     headers={"X-Request-Id": REQUEST_ID})


def assert_attributed(events, actor: User, role: str) -> None:
    for event in events:
        assert (event.actor_user_id, event.actor_role) == (actor.id, role), event.action
        assert event.request_id == REQUEST_ID, event.action


def test_prescriber_created_is_audited_with_its_invitation(client, db, admin):
    """Does registering a prescriber log exactly 'prescriber.created', the email of the link
    and 'invitation.issued', by the admin, under the request's id?"""
    before = last_event_id(db)
    assert send(client, "/admin/prescribers/new", VALID["prescriber"]).status_code == 302
    events = events_since(db, before)
    assert [e.action for e in events] == ["prescriber.created", "mail.queued",
                                          "invitation.issued"]
    assert_attributed(events, admin, "admin")
    assert events[0].summary == {"npi": "1234567893", "email": "jane.doe@example.com"}
    new_user = db.scalar(select(User).where(User.email == "jane.doe@example.com"))
    assert events[1].summary == {"kind": "activation", "user": new_user.id}
    assert events[2].object_id == str(new_user.id)
    assert "expires_at" in events[2].summary


def test_pharmacy_created_is_audited(client, db, admin):
    """Does registering a pharmacy log exactly one 'pharmacy.created' with its details?"""
    before = last_event_id(db)
    assert send(client, "/admin/pharmacies/new", VALID["pharmacy"]).status_code == 302
    events = events_since(db, before)
    assert [e.action for e in events] == ["pharmacy.created"]
    assert_attributed(events, admin, "admin")
    assert events[0].summary["ncpdp_id"] == "7654321"


def test_responsible_pharmacist_created_is_audited(client, db, factory, admin):
    """Does adding a responsible pharmacist log the new responsibility, the account and its
    invitation, and nothing else?"""
    site = factory.pharmacy()
    before = last_event_id(db)
    response = send(client, f"/admin/pharmacies/{site.id}", VALID["pharmacist"])
    assert response.status_code == 302
    events = events_since(db, before)
    assert [e.action for e in events] == ["pharmacy.responsible_changed", "pharmacist.created",
                                          "mail.queued", "invitation.issued"]
    assert_attributed(events, admin, "admin")
    pharmacist = db.scalar(select(User).where(User.email == VALID["pharmacist"]["email"]))
    assert events[0].summary == {"responsible_pharmacist_id": [None, pharmacist.id]}
    assert events[1].summary == {"pharmacy_id": site.id, "email": "pat.pharm@example.com"}


@pytest.mark.parametrize("kind", ["prescriber", "pharmacy"])
def test_certification_change_records_old_and_new_values(client, db, factory, admin, kind):
    """Does a certification decision log one event with each changed value, old and new?"""
    target = factory.prescriber(certified=False) if kind == "prescriber" else \
        factory.pharmacy(certified=False)
    url = (f"/admin/prescribers/{target.id}/certification" if kind == "prescriber"
           else f"/admin/pharmacies/{target.id}/certification")
    before = last_event_id(db)
    assert send(client, url, VALID[f"{kind}_certification"]).status_code == 302
    events = events_since(db, before)
    assert [e.action for e in events] == [f"{kind}.certification_changed"]
    assert_attributed(events, admin, "admin")
    assert events[0].object_type == kind
    assert events[0].object_id == str(target.id)
    assert events[0].summary == {"status": ["pending", "certified"],
                                 "certified_on": [None, "2026-11-01"],
                                 "expires_on": [None, "2027-11-01"]}


def test_patient_registered_and_invitation_accepted_are_audited(app, client, db, prescriber):
    """Does enrolling a patient log the registration and the link (by the prescriber), and
    does activating log 'invitation.accepted' by the patient themself?"""
    before = last_event_id(db)
    response = send(client, "/prescriber/patients/new", VALID["patient"])
    assert response.status_code == 302
    events = events_since(db, before)
    assert [e.action for e in events] == ["patient.registered", "course.opened",
                                          "mail.queued", "invitation.issued"]
    me = db.get(User, prescriber.user_id)
    assert_attributed(events, me, "prescriber")
    assert events[0].summary["category"] == "can_get_pregnant"

    link = emailed_path(db, VALID["patient"]["email"])
    before = last_event_id(db)
    accepted = send(app.test_client(), link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                              "date_of_birth": VALID["patient"]["date_of_birth"]})
    assert accepted.status_code == 302
    events = events_since(db, before)
    assert [e.action for e in events] == ["mail.cancelled", "invitation.accepted"]
    patient_user = db.scalar(select(User).where(User.email == VALID["patient"]["email"]))
    assert_attributed(events, patient_user, "patient")


def test_deactivation_and_reactivation_are_audited(client, db, factory, admin):
    """Do deactivating and reactivating each log one event with the before/after state, and
    does a repeated deactivation log nothing?"""
    person = factory.user("pharmacist")
    before = last_event_id(db)
    why = {"reason": "Left the pharmacy."}
    send(client, f"/admin/users/{person.id}/deactivate", why)
    send(client, f"/admin/users/{person.id}/deactivate", why)
    send(client, f"/admin/users/{person.id}/reactivate", {}, token_from="/admin/users")
    events = events_since(db, before)
    assert [(e.action, e.summary) for e in events] == [
        ("user.deactivated", {"is_active": [True, False], "reason": "Left the pharmacy."}),
        ("user.reactivated", {"is_active": [False, True]}),
    ]
    assert_attributed(events, admin, "admin")
    assert {e.object_id for e in events} == {str(person.id)}


@pytest.mark.parametrize("kind,changes", [
    ("prescriber", {"email": "taken@example.com"}),
    ("prescriber", {"npi": "TAKEN_NPI"}),
    ("pharmacist", {"email": "taken@example.com"}),
    ("patient", {"email": "taken@example.com"}),
    ("patient", {"date_of_birth": "2030-01-01"}),
])
def test_refused_changes_leave_no_event(client, db, factory, frozen, kind, changes):
    """Does a refused registration (duplicate, bad date) leave no audit event behind?"""
    taken = factory.prescriber(email="taken@example.com")
    site = factory.pharmacy()
    if kind == "patient":
        fast_sign_in(client, db, db.get(User, taken.user_id))
        url = "/prescriber/patients/new"
    else:
        fast_sign_in(client, db, factory.user("admin"))
        url = "/admin/prescribers/new" if kind == "prescriber" else f"/admin/pharmacies/{site.id}"
    data = {**VALID[kind], **changes}
    data = {k: taken.npi if v == "TAKEN_NPI" else v for k, v in data.items()}
    before = last_event_id(db)
    assert send(client, url, data).status_code == 422
    assert events_since(db, before) == []


def test_self_deactivation_refusal_leaves_no_event(client, db, admin):
    """Is a refused self-deactivation left out of the log (nothing changed)?"""
    before = last_event_id(db)
    send(client, f"/admin/users/{admin.id}/deactivate", {"reason": "Testing"})
    assert events_since(db, before) == []


@pytest.mark.parametrize("failure", [RuntimeError("disk on fire"),
                                     organisations.Refused("Simulated refusal.")])
def test_failure_after_the_event_was_added_leaves_neither(client, db, admin, monkeypatch,
                                                          failure):
    """If the use case fails after adding its audit event, are the event and the change
    both gone (one transaction)?"""
    def broken_invitation(*_args, **_kwargs):
        raise failure

    monkeypatch.setattr(organisations, "issue_invitation", broken_invitation)
    before = last_event_id(db)
    response = send(client, "/admin/prescribers/new", VALID["prescriber"])
    assert response.status_code in (422, 500)
    assert events_since(db, before) == []
    assert db.scalar(select(User).where(User.email == VALID["prescriber"]["email"])) is None


def test_prescriber_reading_a_patient_is_audited(client, db, factory, prescriber):
    """Does opening a patient's page log a 'patient.viewed' by the prescriber?"""
    patient = factory.patient(prescriber)
    before = last_event_id(db)
    page = client.get(f"/prescriber/patients/{patient.id}", headers={"X-Request-Id": REQUEST_ID})
    assert page.status_code == 200
    events = events_since(db, before)
    assert [(e.action, e.object_type, e.object_id) for e in events] == [
        ("patient.viewed", "patient", str(patient.id))]
    assert_attributed(events, db.get(User, prescriber.user_id), "prescriber")


def test_patient_reading_their_own_home_is_audited(client, db, factory, frozen):
    """Does a patient's own home page log a 'patient.viewed' by the patient?"""
    patient = factory.patient(factory.prescriber())
    account = db.get(User, patient.user_id)
    fast_sign_in(client, db, account)
    before = last_event_id(db)
    assert client.get("/patient/", headers={"X-Request-Id": REQUEST_ID}).status_code == 200
    events = events_since(db, before)
    assert [(e.action, e.object_id) for e in events] == [("patient.viewed", str(patient.id))]
    assert_attributed(events, account, "patient")


def test_prescriber_patient_list_is_audited(client, db, factory, prescriber):
    """Does the prescriber's patient list log one 'patient.list_viewed' with what it showed?"""
    factory.patient(prescriber)
    factory.patient(prescriber)
    before = last_event_id(db)
    assert client.get("/prescriber/", headers={"X-Request-Id": REQUEST_ID}).status_code == 200
    events = events_since(db, before)
    assert [(e.action, e.summary) for e in events] == [
        ("patient.list_viewed", {"page": 1, "shown": 2})]
    assert_attributed(events, db.get(User, prescriber.user_id), "prescriber")


@pytest.mark.parametrize("incoming,reused", [
    ("abc-123_X.y", True),
    ("a" * 64, True),
    ("a" * 65, False),
    ("has spaces", False),
    ("semi;colon", False),
    ("<script>", False),
    ("", False),
])
def test_request_id_is_reused_only_when_well_formed(client, db, factory, prescriber,
                                                    incoming, reused):
    """Is a well-formed X-Request-Id carried into the audit event and the response, and a
    malformed one replaced by a fresh id?"""
    before = last_event_id(db)
    page = client.get("/prescriber/", headers={"X-Request-Id": incoming})
    (event,) = events_since(db, before)
    assert event.request_id == page.headers["X-Request-Id"]
    if reused:
        assert event.request_id == incoming
    else:
        assert event.request_id != incoming
        assert len(event.request_id) == 32


def test_each_request_gets_its_own_id(client, db, prescriber):
    """Without an incoming id, do two requests get two different ids?"""
    before = last_event_id(db)
    client.get("/prescriber/")
    client.get("/prescriber/")
    first, second = events_since(db, before)
    assert first.request_id and second.request_id
    assert first.request_id != second.request_id


@pytest.fixture
def recorded(db):
    """One audit event, committed outside any request."""
    audit.record(db, "test.recorded", "test", 1, summary={"n": 1})
    db.commit()
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "test.recorded"))
    assert event.actor_role == "system"
    return event


def test_orm_refuses_to_change_an_audit_event(db, recorded):
    """Does the ORM refuse to update a recorded event?"""
    recorded.summary = {"n": 2}
    recorded.action = "test.rewritten"
    db.add(recorded)
    with pytest.raises(AuditLogIsAppendOnly):
        db.flush()
    db.rollback()
    assert db.get(AuditEvent, recorded.id).action == "test.recorded"


def test_orm_refuses_to_delete_an_audit_event(db, recorded):
    """Does the ORM refuse to delete a recorded event?"""
    db.delete(recorded)
    with pytest.raises(AuditLogIsAppendOnly):
        db.flush()
    db.rollback()
    assert db.get(AuditEvent, recorded.id) is not None


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET action = 'test.rewritten'",
    "UPDATE audit_event SET summary = '{}' WHERE id = :id",
    "DELETE FROM audit_event WHERE id = :id",
    "DELETE FROM audit_event",
])
def test_database_refuses_raw_updates_and_deletes(engine, recorded, statement):
    """Do the database triggers refuse UPDATE and DELETE even in raw SQL?"""
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement), {"id": recorded.id})
    with engine.connect() as conn:
        row = conn.execute(text("SELECT action, summary FROM audit_event WHERE id = :id"),
                           {"id": recorded.id}).one()
    assert row.action == "test.recorded"


def test_events_wait_for_the_outermost_commit(app, db, engine):
    """Does releasing a savepoint leave the events pending (they roll back with the outer
    transaction), and is recording inside a savepoint refused rather than kept wrongly?"""
    with app.app_context():
        audit.record(db, "test.outer", "test", 1)
        savepoint = db.begin_nested()
        with pytest.raises(RuntimeError, match="savepoint"):
            audit.record(db, "test.inside", "test", 2)
        savepoint.commit()
        with engine.connect() as other:
            assert other.scalar(select(func.count()).select_from(AuditEvent)) == 0
        assert audit.has_pending(db)
        db.commit()
    assert [e.action for e in db.scalars(select(AuditEvent))] == ["test.outer"]


class _Kind(StrEnum):
    SHOWN = "shown"


@pytest.mark.parametrize("summary, stored", [
    ({"status": 201, "ok": True, "share": 0.5, "key": None}, None),
    ({"on": date(2024, 2, 29), "kinds": (_Kind.SHOWN, "other")},
     {"on": "2024-02-29", "kinds": ["shown", "other"]}),
    ({"nested": {"states": ["open", "authorized"]}, 7: "seven"},
     {"nested": {"states": ["open", "authorized"]}, "7": "seven"}),
])
def test_a_summary_is_stored_as_json_gives_it_back(app, db, summary, stored):
    """Is a summary stored as a snapshot, as JSON would give it back (dates and enums as
    strings, tuples as lists, keys as strings), untouched by later changes to the dict?"""
    with app.app_context():
        audit.record(db, "test.summary", "test", 1, summary=summary)
        summary["added later"] = True
        db.commit()
    assert db.scalar(select(AuditEvent.summary)) == (stored or {
        key: value for key, value in summary.items() if key != "added later"})
