"""Does the pharmacy API do what docs/api.md promises: keys, decisions, fills, reversals,
eligibility, idempotent retries, problem answers, audit, and nothing beyond a fill's needs?"""

import json
from datetime import timedelta

import freezegun
import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import OperationalError

from compliance.api import auth
from compliance.models import ApiKey, AuditEvent, IdempotencyKey, Pharmacy, Rma, RmaRequest
from compliance.models.inputs import RmaAsk
from compliance.services import api_keys
from tests.api_helpers import fill, issued_rma, pharmacy_system
from tests.course_helpers import (
    DOB,
    METHODS,
    at,
    build_world,
    complete_month,
    local,
    qualify,
    ready_for_first_fill,
    rma_ask,
)
from tests.form_helpers import fast_sign_in

DAY = 20
PROBLEM = "application/problem+json"


@pytest.fixture
def ready(app, db, factory):
    """A patient ready for a first fill, a certified pharmacy's system, the clock at day 20."""
    with app.test_request_context():
        world = ready_for_first_fill(db, factory)
    system = pharmacy_system(db, factory)
    with freezegun.freeze_time(at(DAY)):
        yield world, system


def _issue(app, db, world, system, day=DAY):
    with app.test_request_context():
        return issued_rma(db, world, system.pharmacy, day)


def _eligibility_url(world, dob=DOB):
    return f"/api/v1/patients/{world.patient.program_patient_id}/eligibility?date_of_birth={dob}"


# --- Authentication -------------------------------------------------------------------------

@pytest.mark.parametrize("header", [
    None, "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer rems_nope_nope", "Bearer garbage",
    "Token rems_x_y",
])
def test_a_missing_or_malformed_key_is_401_with_a_bearer_challenge(ready, client, header):
    """Is a call without a usable key refused 401 with WWW-Authenticate: Bearer?"""
    response = client.post("/api/v1/rma-requests", json={},
                           headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.mimetype == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["status"] == 401


def test_a_revoked_key_is_401(ready, client, db):
    """Does revoking a key shut it out at once, though it was just used (and so is kept)?"""
    world, system = ready
    assert client.get(_eligibility_url(world), headers=system.headers).status_code == 200
    key = db.scalar(select(ApiKey).where(ApiKey.pharmacy_id == system.pharmacy.id))
    api_keys.revoke_key(db, pharmacy=system.pharmacy, key_id=key.id, now=at(DAY))
    assert client.get(_eligibility_url(world), headers=system.headers).status_code == 401


def test_a_key_revoked_by_another_worker_is_refused_on_the_next_call(ready, client, engine):
    """A key revoked by another process (a commit this one hears nothing of): is the very
    next call refused, though the key was used a moment before?"""
    world, system = ready
    assert client.get(_eligibility_url(world), headers=system.headers).status_code == 200
    _revoke_elsewhere(engine, system)
    assert client.get(_eligibility_url(world), headers=system.headers).status_code == 401


def test_a_pharmacy_suspended_by_another_worker_is_refused_on_the_next_call(
        ready, client, engine):
    """A certification suspended in another process: is the next call 403?"""
    world, system = ready
    assert client.get(_eligibility_url(world), headers=system.headers).status_code == 200
    table = Pharmacy.__table__
    with engine.begin() as other:
        other.execute(update(table).where(table.c.id == system.pharmacy.id)
                      .values(certification_status="suspended"))
    assert client.get(_eligibility_url(world), headers=system.headers).status_code == 403


def test_a_used_key_still_needs_its_secret(ready, client):
    """Once a key was used, is its prefix with another secret still 401?"""
    world, system = ready
    assert client.get(_eligibility_url(world), headers=system.headers).status_code == 200
    scheme, _, key = system.headers["Authorization"].partition(" ")
    forged = key[:-1] + ("A" if key[-1] != "A" else "B")
    answer = client.get(_eligibility_url(world), headers={"Authorization": f"{scheme} {forged}"})
    assert answer.status_code == 401


def _revoke_elsewhere(engine, system) -> None:
    """Revoke the system's keys as another worker would: a commit outside this process's
    ORM sessions."""
    table = ApiKey.__table__
    with engine.begin() as other:
        other.execute(update(table).where(table.c.pharmacy_id == system.pharmacy.id)
                      .values(revoked_at=at(DAY)))


@pytest.mark.parametrize("change", ["pending", "suspended", "lapsed", "not_yet"])
def test_a_pharmacy_whose_certification_is_not_in_force_is_403(ready, client, db, change):
    """Is a pending, suspended, lapsed or not-yet-started certification refused 403, on the
    call right after the change?"""
    world, system = ready
    assert client.get(_eligibility_url(world), headers=system.headers).status_code == 200
    pharmacy = system.pharmacy
    if change in ("pending", "suspended"):
        pharmacy.certification_status = change
    elif change == "lapsed":
        pharmacy.certification_expires_on = local(DAY) - timedelta(days=1)
    else:
        pharmacy.certified_on = local(DAY) + timedelta(days=1)
    db.commit()
    response = client.get(_eligibility_url(world), headers=system.headers)
    assert response.status_code == 403
    assert response.mimetype == PROBLEM


def test_last_used_is_written_at_most_once_a_minute(ready, client, db):
    """Does a burst of calls write `last_used_at` once, and again only a minute later?"""
    world, system = ready
    seen = []
    for seconds in (0, 10, 59, 61):
        with freezegun.freeze_time(at(DAY) + timedelta(seconds=seconds)):
            client.get(_eligibility_url(world), headers=system.headers)
        db.expire_all()
        seen.append(db.scalar(select(ApiKey.last_used_at)))
    assert seen[0] == seen[1] == seen[2] == at(DAY)
    assert seen[3] == at(DAY) + timedelta(seconds=61)


def test_a_failure_to_note_the_keys_use_leaves_no_rma_behind(ready, client, db, monkeypatch):
    """If writing `last_used_at` fails, is the call failed with nothing decided, rather
    than answered 500 over an RMA already issued?"""
    world, system = ready

    def fails(*_args):
        raise OperationalError("UPDATE api_key", {}, Exception("lock timeout"))

    monkeypatch.setattr(auth, "_note_use", fails)
    response = client.post("/api/v1/rma-requests", json=rma_ask(world), headers=system.headers)
    assert response.status_code == 500 and response.mimetype == PROBLEM
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(RmaRequest)) == 0
    assert db.scalar(select(func.count()).select_from(Rma)) == 0


# --- RMA requests ---------------------------------------------------------------------------

def test_an_authorized_request_is_201_with_the_decision_of_api_md(ready, client):
    """Does a good request get 201 with every field of the decision, in the program's zone?"""
    world, system = ready
    response = client.post("/api/v1/rma-requests", json=rma_ask(world), headers=system.headers)
    assert response.status_code == 201, response.json
    body = response.json
    assert set(body) == {"id", "decision", "rma_number", "do_not_dispense_after",
                         "window_closes_at", "patient_id", "program", "rule_version", "reasons",
                         "status", "status_reason"}
    assert body["decision"] == "authorized" and body["reasons"] == []
    assert (body["status"], body["status_reason"]) == ("issued", None)
    assert body["do_not_dispense_after"] == local(26).isoformat()
    assert body["window_closes_at"] == "2026-10-27T23:59:59-04:00"  # EDT
    assert (body["patient_id"], body["program"], body["rule_version"]) == \
        (world.patient.program_patient_id, "ipledge", "2026")


def test_a_request_is_recorded_as_entered_at_the_counter(ready, client, db):
    """Is a body with padded fields decided and recorded as the counter's form would record
    it (the API's strict body and the service's input normalise alike)?"""
    world, system = ready
    padded = rma_ask(world) | {"patient_id": f"  {world.patient.program_patient_id} ",
                               "ndc": " 0555-0101-02 "}
    response = client.post("/api/v1/rma-requests", json=padded, headers=system.headers)
    assert response.json["decision"] == "authorized", response.json
    recorded = db.get(RmaRequest, response.json["id"])
    assert recorded.request == RmaAsk.model_validate(padded).model_dump(mode="json")
    assert recorded.request["patient_id"] == world.patient.program_patient_id


def test_the_window_closes_at_carries_the_winter_offset(app, db, factory, client):
    """Is a window closing after the November change shown at -05:00?"""
    with app.test_request_context():
        world = build_world(db, factory)
        qualify(db, world, confirmation_day=40)
        complete_month(db, world, 40)
    system = pharmacy_system(db, factory)
    with freezegun.freeze_time(at(40)):
        body = client.post("/api/v1/rma-requests", json=rma_ask(world),
                           headers=system.headers).json
    assert body["decision"] == "authorized", body["reasons"]
    assert body["window_closes_at"].endswith("T23:59:59-05:00")
    assert body["window_closes_at"].startswith(body["do_not_dispense_after"])


@pytest.mark.parametrize("override,code", [
    ({"patient_date_of_birth": "2004-05-18"}, "PATIENT_NOT_FOUND"),
    ({"prescriber_npi": "1234567893"}, "PRESCRIBER_MISMATCH"),
    ({"days_supply": 31}, "SUPPLY_TOO_LONG"),
])
def test_a_denial_is_201_with_reasons(ready, client, override, code):
    """Is a request the rules refuse still answered 201, denied, with its reason?"""
    world, system = ready
    body = client.post("/api/v1/rma-requests", json=rma_ask(world, **override),
                       headers=system.headers).json
    assert body["decision"] == "denied" and body["rma_number"] is None
    reason = next(r for r in body["reasons"] if r["code"] == code)
    assert set(reason) == {"code", "actor", "message", "eligible_on"}


def test_a_decision_can_be_read_again_only_by_its_pharmacy(ready, client, db, factory):
    """Does GET return the same decision to its pharmacy and 404 to any other?"""
    world, system = ready
    made = client.post("/api/v1/rma-requests", json=rma_ask(world), headers=system.headers).json
    again = client.get(f"/api/v1/rma-requests/{made['id']}", headers=system.headers)
    assert again.status_code == 200 and again.json == made
    other = pharmacy_system(db, factory)
    for request_id in (made["id"], "00000000-0000-0000-0000-000000000000", "x%00y"):
        response = client.get(f"/api/v1/rma-requests/{request_id}", headers=other.headers)
        assert response.status_code == 404 and response.mimetype == PROBLEM


# --- Dispenses and reversals ----------------------------------------------------------------

def test_a_fill_is_201_and_a_second_fill_409_naming_why(ready, app, client, db):
    """Is the first fill recorded and the second refused 409 'already dispensed'?"""
    world, system = ready
    rma = _issue(app, db, world, system)
    first = client.post("/api/v1/dispenses", json=fill(rma.rma_number, local(DAY).isoformat()),
                        headers=system.once())
    assert first.status_code == 201, first.json
    assert first.json["rma_number"] == rma.rma_number
    second = client.post("/api/v1/dispenses", json=fill(rma.rma_number, local(DAY).isoformat()),
                         headers=system.once())
    assert second.status_code == 409 and second.mimetype == PROBLEM
    assert "already been dispensed" in second.json["detail"]


def test_a_fill_after_the_dndpa_is_409_expired(ready, app, client, db):
    """On day 8 (after the DNDPA), is the fill refused 409 naming the expiry?"""
    world, system = ready
    rma = _issue(app, db, world, system)
    with freezegun.freeze_time(at(27)):
        response = client.post("/api/v1/dispenses", json=fill(rma.rma_number,
                                                              local(27).isoformat()),
                               headers=system.once())
    assert response.status_code == 409 and "expired" in response.json["detail"]


def test_a_reversal_is_200_and_then_blocks_the_fill_and_a_second_reversal(ready, app, client,
                                                                         db):
    """Is an unused RMA reversed, and a fill or reversal of it afterwards a 409?"""
    world, system = ready
    rma = _issue(app, db, world, system)
    reversed_ = client.post(f"/api/v1/rmas/{rma.rma_number}/reversal", headers=system.headers)
    assert reversed_.status_code == 200
    assert reversed_.json["status"] == "reversed"
    filled = client.post("/api/v1/dispenses", json=fill(rma.rma_number, local(DAY).isoformat()),
                         headers=system.once())
    assert filled.status_code == 409 and "reversed" in filled.json["detail"]
    again = client.post(f"/api/v1/rmas/{rma.rma_number}/reversal", headers=system.headers)
    assert again.status_code == 409


@pytest.mark.parametrize("number,status", [("000000000000", 404), ("12", 422)])
def test_reversing_an_unknown_or_invalid_number(ready, client, number, status):
    """Is an unknown RMA number a 404 and a malformed one a 422 naming the field?"""
    response = client.post(f"/api/v1/rmas/{number}/reversal", headers=ready[1].headers)
    assert response.status_code == status and response.mimetype == PROBLEM


# --- Eligibility ----------------------------------------------------------------------------

def test_eligibility_says_what_is_missing_without_asking_for_an_rma(ready, client, db):
    """Does the read answer eligible with the window, and record no request?"""
    world, system = ready
    response = client.get(_eligibility_url(world), headers=system.headers)
    assert response.status_code == 200
    body = response.json
    assert body["eligible"] is True and body["reasons"] == []
    assert body["window_closes_at"] == "2026-10-27T23:59:59-04:00"
    assert db.scalar(select(RmaRequest.id)) is None


def test_eligibility_names_the_missing_steps(app, db, factory, client):
    """Before the month's steps, does the read list who must act?"""
    with app.test_request_context():
        world = build_world(db, factory)
        qualify(db, world)
    system = pharmacy_system(db, factory)
    with freezegun.freeze_time(at(DAY)):
        body = client.get(_eligibility_url(world), headers=system.headers).json
    assert body["eligible"] is False
    assert {r["actor"] for r in body["reasons"]} >= {"patient", "prescriber"}


@pytest.mark.parametrize("query,status", [
    ("?date_of_birth=2004-05-18", 404), ("", 422), ("?date_of_birth=17/05/2004", 422),
    ("?date_of_birth=2004-05-17&extra=1", 422),
])
def test_eligibility_needs_the_matching_date_of_birth(ready, client, query, status):
    """Is a wrong DOB a 404 (telling nothing) and a missing or malformed one a 422?"""
    world, system = ready
    url = f"/api/v1/patients/{world.patient.program_patient_id}/eligibility{query}"
    response = client.get(url, headers=system.headers)
    assert response.status_code == status and response.mimetype == PROBLEM


# --- Bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("data,content_type,status,field", [
    ("{not json", "application/json", 400, None),
    ("", "application/json", 400, None),
    ("patient_id=x", "application/x-www-form-urlencoded", 400, None),
    ("[]", "application/json", 422, ""),
    (json.dumps({"quantity": "30"}), "application/json", 422, "quantity"),
    (json.dumps({"surprise": 1}), "application/json", 422, "surprise"),
    (json.dumps({"days_supply": 0}), "application/json", 422, "days_supply"),
    (json.dumps({"strength_mg": 1e308}), "application/json", 422, "strength_mg"),
    (json.dumps({"patient_date_of_birth": "yesterday"}), "application/json", 422,
     "patient_date_of_birth"),
    (json.dumps({"prescriber_npi": "1234567890"}), "application/json", 422, "prescriber_npi"),
])
def test_bad_bodies_are_400_or_422_naming_the_field(ready, client, data, content_type, status,
                                                    field):
    """Malformed JSON, a wrong type, an unknown field, a value out of range: 400/422, not 500?"""
    world, system = ready
    if data.startswith("{") and not data.startswith("{not"):
        data = json.dumps({**rma_ask(world), **json.loads(data)})
    response = client.post("/api/v1/rma-requests", data=data, content_type=content_type,
                           headers=system.headers)
    assert response.status_code == status, response.json
    assert response.mimetype == PROBLEM
    assert {"type", "title", "status", "detail"} <= set(response.json)
    if field is not None:
        assert field in [e["field"] for e in response.json["errors"]]


def test_a_dispense_without_the_medication_guide_is_refused(ready, app, client, db):
    """Is `medication_guide_given: false` refused rather than recorded?"""
    world, system = ready
    rma = _issue(app, db, world, system)
    response = client.post("/api/v1/dispenses", headers=system.once(), json=fill(
        rma.rma_number, local(DAY).isoformat(), medication_guide_given=False))
    assert response.status_code in (409, 422)
    assert db.get(Rma, rma.id).status == "issued"


# --- Idempotency ----------------------------------------------------------------------------

def test_the_same_key_and_body_replays_the_first_answer_without_acting_twice(ready, client, db):
    """Does a retry get the first decision back, and only one request and RMA exist?"""
    world, system = ready
    headers = {**system.headers, "Idempotency-Key": "order-1"}
    first = client.post("/api/v1/rma-requests", json=rma_ask(world), headers=headers)
    again = client.post("/api/v1/rma-requests", json=rma_ask(world), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert len(db.scalars(select(RmaRequest.id)).all()) == 1


def test_the_same_key_with_a_different_body_is_422(ready, client):
    world, system = ready
    headers = {**system.headers, "Idempotency-Key": "order-2"}
    client.post("/api/v1/rma-requests", json=rma_ask(world), headers=headers)
    other = client.post("/api/v1/rma-requests", json=rma_ask(world, quantity=20), headers=headers)
    assert other.status_code == 422 and other.mimetype == PROBLEM


def test_the_same_key_while_the_first_is_in_flight_is_409(ready, client, db):
    """Does a duplicate sent while the first is being handled get 409, acting not at all?"""
    world, system = ready
    body = client.post("/api/v1/rma-requests", json=rma_ask(world), headers={
        **system.headers, "Idempotency-Key": "probe"})
    claimed = db.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "probe"))
    db.add(IdempotencyKey(pharmacy_id=system.pharmacy.id, key="busy",
                          request_hash=claimed.request_hash, created_at=at(DAY)))
    db.commit()
    busy = client.post("/api/v1/rma-requests", json=rma_ask(world),
                       headers={**system.headers, "Idempotency-Key": "busy"})
    assert busy.status_code == 409 and busy.headers["Retry-After"] == "1"
    assert body.status_code == 201
    assert len(db.scalars(select(RmaRequest.id)).all()) == 1


@pytest.mark.parametrize(("age", "status"), [(59, 409), (60, 409), (61, 201)])
def test_a_key_left_in_flight_by_a_dead_worker_is_taken_over_after_a_minute(
        ready, client, db, age, status):
    """A worker killed mid-request never answers nor releases its key; after the lease a
    retry with that key acts (once), before it the retry waits."""
    world, system = ready
    headers = {**system.headers, "Idempotency-Key": "orphan"}
    probe = client.post("/api/v1/rma-requests", json=rma_ask(world),
                        headers={**system.headers, "Idempotency-Key": "probe"})
    fingerprint = db.scalar(select(IdempotencyKey.request_hash)
                            .where(IdempotencyKey.key == "probe"))
    db.execute(delete(RmaRequest).where(RmaRequest.id == probe.get_json()["id"]))
    db.execute(delete(Rma))
    db.add(IdempotencyKey(pharmacy_id=system.pharmacy.id, key="orphan",
                          request_hash=fingerprint,
                          created_at=at(DAY) - timedelta(seconds=age)))
    db.commit()
    retry = client.post("/api/v1/rma-requests", json=rma_ask(world), headers=headers)
    assert retry.status_code == status
    assert len(db.scalars(select(RmaRequest.id)).all()) == (1 if status == 201 else 0)


def test_keys_belong_to_one_pharmacy_and_are_remembered_a_day(ready, client, db, factory):
    """Can another pharmacy use the same key, and is a key forgotten after 24 hours only?"""
    world, system = ready
    headers = {**system.headers, "Idempotency-Key": "shared"}
    first = client.post("/api/v1/rma-requests", json=rma_ask(world), headers=headers)
    other = pharmacy_system(db, factory)
    theirs = client.post("/api/v1/rma-requests", json=rma_ask(world),
                         headers={**other.headers, "Idempotency-Key": "shared"})
    assert theirs.json["id"] != first.json["id"]
    with freezegun.freeze_time(at(DAY) + timedelta(hours=23, minutes=59)):
        assert client.post("/api/v1/rma-requests", json=rma_ask(world),
                           headers=headers).json["id"] == first.json["id"]
    with freezegun.freeze_time(at(DAY) + timedelta(hours=24, minutes=1)):
        assert client.post("/api/v1/rma-requests", json=rma_ask(world),
                           headers=headers).json["id"] != first.json["id"]


def test_a_failed_request_releases_its_key(ready, client, db, monkeypatch):
    """After a 500, can the client retry with the same key and get a real answer?"""
    world, system = ready
    from compliance.services import rma_requests as rma

    real = rma.request_rma
    monkeypatch.setattr(rma, "request_rma", lambda *a, **k: 1 / 0)
    headers = {**system.headers, "Idempotency-Key": "flaky"}
    assert client.post("/api/v1/rma-requests", json=rma_ask(world),
                       headers=headers).status_code == 500
    monkeypatch.setattr(rma, "request_rma", real)
    assert client.post("/api/v1/rma-requests", json=rma_ask(world),
                       headers=headers).status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9"])
def test_a_malformed_idempotency_key_is_400(ready, client, key):
    world, system = ready
    response = client.post("/api/v1/rma-requests", json=rma_ask(world),
                           headers={**system.headers, "Idempotency-Key": key})
    assert response.status_code == 400 and response.mimetype == PROBLEM


# --- Audit and scope ------------------------------------------------------------------------

def test_every_call_is_audited_reads_and_refusals_included(ready, client, db):
    """Is each call, by whichever pharmacy, written to the audit log with its status?"""
    world, system = ready
    client.post("/api/v1/rma-requests", json=rma_ask(world), headers=system.headers)
    client.get(_eligibility_url(world), headers=system.headers)
    client.get(_eligibility_url(world, "1999-01-01"), headers=system.headers)
    client.get(_eligibility_url(world))
    calls = db.scalars(select(AuditEvent).where(AuditEvent.action.like("api.%"))
                       .order_by(AuditEvent.id)).all()
    assert [(c.action, c.summary["status"]) for c in calls] == [
        ("api.create_rma_request", 201), ("api.patient_eligibility", 200),
        ("api.patient_eligibility", 404), ("api.patient_eligibility", 401)]
    assert {c.actor_role for c in calls[:3]} == {"pharmacy_system"}
    assert db.scalar(select(AuditEvent).where(AuditEvent.action ==
                                              "patient.eligibility_checked")) is not None


def test_a_browser_session_does_not_reach_the_api(ready, client, db, factory):
    """Does a call from a signed-in browser, without a key, count as anonymous, set no
    cookie, and leave the browser signed in?"""
    world, system = ready
    fast_sign_in(client, db, factory.pharmacist(system.pharmacy))
    response = client.get(_eligibility_url(world))
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers
    call = db.scalars(select(AuditEvent)
                      .where(AuditEvent.action == "api.patient_eligibility")).one()
    assert (call.actor_user_id, call.actor_role) == (None, "anonymous")
    assert client.get("/pharmacist/").status_code == 200


def test_a_failure_after_the_commit_is_audited_with_the_status_sent(ready, app, client, db,
                                                                     monkeypatch):
    """When storing the answer fails after the RMA was committed, does the call keep its
    one event (written with the RMA) and get a second saying the client was sent a 500?"""
    from compliance.api import idempotency

    world, system = ready

    def lost(*_args):
        raise RuntimeError("the answer could not be stored")

    monkeypatch.setattr(idempotency, "_complete", lost)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    answer = client.post("/api/v1/rma-requests", json=rma_ask(world),
                         headers={**system.headers, "Idempotency-Key": "stored-later"})
    assert answer.status_code == 500
    calls = db.scalars(select(AuditEvent).where(AuditEvent.action.like("api.%"))
                       .order_by(AuditEvent.id)).all()
    assert [(c.action, c.summary["status"]) for c in calls] == [
        ("api.create_rma_request", 201), ("api.answered_after_commit", 500)]
    assert db.scalar(select(RmaRequest.decision)) == "authorized"


def test_no_answer_shows_methods_tests_or_history(ready, app, client, db):
    """Do decisions, fills, reversals and eligibility carry reasons only?"""
    world, system = ready
    bodies = [client.post("/api/v1/rma-requests", json=rma_ask(world),
                          headers=system.headers).text,
              client.get(_eligibility_url(world), headers=system.headers).text]
    number = json.loads(bodies[0])["rma_number"]
    bodies.append(client.post("/api/v1/dispenses", headers=system.once(),
                              json=fill(number, local(DAY).isoformat())).text)
    text = " ".join(bodies).lower()
    for secret in (*METHODS, "method", "pregnancy_test", "negative", "laboratory", "history",
                   "specimen", world.patient.family_name.lower()):
        assert secret not in text


# --- The description ------------------------------------------------------------------------

def test_the_openapi_document_describes_every_route_with_bearer_and_problems(client, app):
    """Is every API route in the 3.1 document, with the bearer scheme, bodies, every answer
    and the Idempotency-Key header on each POST?"""
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"] == "3.1.0"
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "An API key of the pharmacy."}
    routes = {(m, r.rule.replace("<", "{").replace(">", "}")) for r in app.url_map.iter_rules()
              if r.endpoint.startswith("api.") for m in r.methods - {"HEAD", "OPTIONS"}}
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert routes == documented
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method == "post":
                assert "requestBody" in op or path.endswith("/reversal")
                assert "Idempotency-Key" in [p["name"] for p in op["parameters"]]
            if op.get("security") != []:
                assert {"401", "403"} <= set(op["responses"])
                problem = op["responses"]["401"]["content"][PROBLEM]["schema"]
                assert problem == {"$ref": "#/components/schemas/Problem"}


def test_a_dispense_without_an_idempotency_key_is_400_and_records_nothing(ready, app, client,
                                                                           db):
    """A fill sent without a key could be recorded twice by a retry after a timeout: is it
    refused, naming the header, with the RMA still unfilled?"""
    world, system = ready
    rma = _issue(app, db, world, system)
    response = client.post("/api/v1/dispenses", json=fill(rma.rma_number,
                                                          local(DAY).isoformat()),
                           headers=system.headers)
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert response.json["type"].endswith("/idempotency-key-required")
    assert "Idempotency-Key" in response.json["detail"]
    db.expire_all()
    assert db.get(Rma, rma.id).status == "issued"


@pytest.mark.parametrize(("sent", "recorded"), [
    (None, {}),
    ("1234567893", {"pharmacist_npi": "1234567893"}),
    ("12345", {"pharmacist_npi_malformed": "12345"}),
])
def test_a_call_records_the_pharmacist_the_system_names(ready, client, db, sent, recorded):
    """With X-Pharmacist-NPI the audit event names the person at the counter, not only
    the key; a malformed value is kept as malformed, never taken for an NPI."""
    world, system = ready
    headers = {**system.headers, **({"X-Pharmacist-NPI": sent} if sent else {})}
    assert client.get(_eligibility_url(world), headers=headers).status_code == 200
    call = db.scalars(select(AuditEvent).where(AuditEvent.action == "api.patient_eligibility")
                      ).one()
    assert {k: v for k, v in call.summary.items() if k.startswith("pharmacist")} == recorded
    assert call.summary["key"]
