"""Does a pharmacy get exactly one RMA per month, one fill per RMA, and a reason for every
"no"?"""

import threading

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from compliance.models import AuditEvent, Course, Cycle, Rma, RmaRequest
from compliance.services import courses, facts, rma, rma_requests
from compliance.services.errors import Conflict, NotFound, Refused
from tests.course_helpers import (
    at,
    certified_pharmacy,
    local,
    qualified_with_no_month_open,
    ready_for_first_fill,
    rma_ask,
)


@pytest.fixture
def ready(app, db, factory):
    with app.test_request_context():
        yield ready_for_first_fill(db, factory), certified_pharmacy(factory)


def test_authorized_request_gets_an_rma_with_the_day_7_dndpa(ready, db):
    """Is the first fill authorized on the confirmation day with DNDPA on day 7?"""
    world, pharmacy = ready
    request = rma_requests.request_rma(db, pharmacy=pharmacy, data=rma_ask(world), now=at(20))
    assert request.decision == "authorized", request.reasons
    issued = db.get(Rma, request.authorization_id)
    assert issued.do_not_dispense_after == local(26)
    assert issued.window_closes_at.isoformat() == "2026-10-28T03:59:59+00:00"  # 23:59:59 EDT


def test_second_request_in_the_same_month_is_denied_with_a_reason(ready, db):
    """Does a second request for the same cycle say the month already has an RMA?"""
    world, pharmacy = ready
    rma_requests.request_rma(db, pharmacy=pharmacy, data=rma_ask(world), now=at(20))
    again = rma_requests.request_rma(db, pharmacy=pharmacy, data=rma_ask(world), now=at(20))
    assert again.decision == "denied"
    assert [r["code"] for r in again.reasons] == ["RMA_ALREADY_OPEN"]
    assert db.query(RmaRequest).count() == 2


@pytest.mark.parametrize("override,code", [
    ({"patient_date_of_birth": "2004-05-18"}, "PATIENT_NOT_FOUND"),
    ({"patient_id": "ZZZZZ-ZZZZZ"}, "PATIENT_NOT_FOUND"),
    ({"prescriber_npi": "1234567893"}, "PRESCRIBER_MISMATCH"),
    ({"days_supply": 31}, "SUPPLY_TOO_LONG"),
])
def test_denials_name_what_is_wrong(ready, db, override, code):
    """Is each bad request recorded as denied with its own reason code?"""
    world, pharmacy = ready
    request = rma_requests.request_rma(db, pharmacy=pharmacy,
                                       data=rma_ask(world, **override), now=at(20))
    assert request.decision == "denied"
    assert code in [r["code"] for r in request.reasons]


@pytest.fixture
def while_deciding(monkeypatch):
    """while_deciding(act) runs `act(rows)` once, right after a request has read its course
    and before it writes its decision, as a concurrent request would."""
    read = facts.load_locked

    def start(act):
        acted = []

        def reading(db, *args):
            rows = read(db, *args)
            if not acted:
                acted.append(act(rows))
            return rows

        monkeypatch.setattr(facts, "load_locked", reading)
        return acted

    return start


def _write_without_waiting(engine, statement) -> str:
    """Try `statement` on another connection without waiting for a lock: 'written' or
    'locked'."""
    with engine.connect() as other:
        if other.dialect.name == "postgresql":
            other.exec_driver_sql("SET lock_timeout = '50ms'")
        else:
            other.exec_driver_sql("PRAGMA busy_timeout = 0")
        other.commit()
        try:
            with other.begin():
                other.execute(statement)
        except OperationalError:
            return "locked"
    return "written"


def test_a_deciding_request_holds_the_course_until_its_decision_is_written(
        ready, db, engine, while_deciding):
    """While a request decides, can another writer change the course or its month (a
    positive test's suspension, a reset of the month)? It must wait for the decision."""
    world, pharmacy = ready
    acted = while_deciding(lambda rows: [
        _write_without_waiting(engine, update(Course).where(Course.id == rows.course.id)
                               .values(state="suspended")),
        _write_without_waiting(engine, update(Cycle).where(Cycle.id == rows.cycle.id)
                               .values(state="prescriber_confirmed"))])
    request = rma_requests.request_rma(db, pharmacy=pharmacy, data=rma_ask(world), now=at(20))
    assert request.decision == "authorized", request.reasons
    assert acted == [["locked", "locked"]]


def test_a_positive_test_reported_while_deciding_waits_and_then_voids_the_rma(
        app, ready, db, engine, while_deciding):
    """A positive test entered while the request decides: does it wait for the decision,
    then void the RMA just issued, so nothing dispensable outlives the stop?"""
    world, pharmacy = ready

    def positive_test():
        with app.test_request_context(), Session(engine, expire_on_commit=False) as other:
            courses.report_pregnancy(
                other, course=other.get(Course, world.course.id), now=at(20),
                today=local(20), entered_by=world.prescriber_user.id,
                data={"kind": "monthly", "specimen_on": local(20), "setting": "laboratory"})

    reporter = threading.Thread(target=positive_test)
    while_deciding(lambda rows: reporter.start())
    request = rma_requests.request_rma(db, pharmacy=pharmacy, data=rma_ask(world), now=at(20))
    reporter.join()
    assert request.decision == "authorized", request.reasons
    db.expire_all()
    assert db.get(Course, world.course.id).state == "suspended"
    assert db.get(Rma, request.authorization_id).status == "voided"


def test_one_dispense_per_rma_and_the_course_becomes_active(ready, db):
    """Does the fill activate the course, and a second fill on the same RMA conflict?"""
    world, pharmacy = ready
    number = db.get(Rma, rma_requests.request_rma(
        db, pharmacy=pharmacy, data=rma_ask(world), now=at(20)).authorization_id).rma_number
    fill = {"rma_number": number, "quantity": 30, "days_supply": 30,
            "dispensed_on": local(21).isoformat(), "medication_guide_given": True}
    rma.record_dispense(db, pharmacy=pharmacy, data=fill, now=at(21))
    assert db.get(Course, world.course.id).state == "active"
    with pytest.raises(Conflict, match="already been dispensed"):
        rma.record_dispense(db, pharmacy=pharmacy, data=fill, now=at(21))


@pytest.mark.parametrize("day,outcome", [(26, "dispensed"), (27, "expired")])
def test_dispense_on_day_7_vs_day_8(ready, db, day, outcome):
    """Can the RMA be filled on its DNDPA date but not the day after?"""
    world, pharmacy = ready
    number = db.get(Rma, rma_requests.request_rma(
        db, pharmacy=pharmacy, data=rma_ask(world), now=at(20)).authorization_id).rma_number
    fill = {"rma_number": number, "quantity": 30, "days_supply": 30,
            "dispensed_on": local(day).isoformat(), "medication_guide_given": True}
    if outcome == "expired":
        with pytest.raises(Conflict, match="expired"):
            rma.record_dispense(db, pharmacy=pharmacy, data=fill, now=at(day))
    else:
        rma.record_dispense(db, pharmacy=pharmacy, data=fill, now=at(day))
    assert rma.find_rma(db, pharmacy=pharmacy, rma_number=number, now=at(day)).status == outcome


def test_reversal_frees_the_month_for_a_new_rma(ready, db):
    """After reversing an unused RMA, can the pharmacy get a new one in the same window?"""
    world, pharmacy = ready
    first = db.get(Rma, rma_requests.request_rma(
        db, pharmacy=pharmacy, data=rma_ask(world), now=at(20)).authorization_id)
    rma.reverse(db, pharmacy=pharmacy, rma_number=first.rma_number, now=at(21))
    with pytest.raises(Conflict):
        rma.reverse(db, pharmacy=pharmacy, rma_number=first.rma_number, now=at(21))
    again = rma_requests.request_rma(db, pharmacy=pharmacy, data=rma_ask(world), now=at(21))
    assert again.decision == "authorized", again.reasons


def test_another_pharmacy_cannot_touch_the_rma(ready, db, factory):
    """Does another pharmacy get 'not found' for an RMA it was not issued?"""
    world, pharmacy = ready
    number = db.get(Rma, rma_requests.request_rma(
        db, pharmacy=pharmacy, data=rma_ask(world), now=at(20)).authorization_id).rma_number
    other = certified_pharmacy(factory)
    with pytest.raises(NotFound):
        rma.reverse(db, pharmacy=other, rma_number=number, now=at(21))
    with pytest.raises(Refused, match="check its digits"):
        rma.reverse(db, pharmacy=pharmacy, rma_number=number[:-1] + "0"
                    if number[-1] != "0" else number[:-1] + "1", now=at(21))


def test_the_scheduler_expires_overdue_rmas_once(ready, db):
    """Does the expiry command expire an unused RMA after its DNDPA, and do nothing twice?"""
    world, pharmacy = ready
    rma_requests.request_rma(db, pharmacy=pharmacy, data=rma_ask(world), now=at(20))
    assert rma.expire_overdue(db, now=at(26)) == 0
    assert rma.expire_overdue(db, now=at(27.5)) == 1
    assert rma.expire_overdue(db, now=at(28)) == 0


def test_the_expiry_command_reports_what_it_did(ready, app, db):
    """Can a scheduler run `flask maintenance expire-rmas` twice with the same result?"""
    import freezegun

    world, pharmacy = ready
    rma_requests.request_rma(db, pharmacy=pharmacy, data=rma_ask(world), now=at(20))
    with freezegun.freeze_time(at(28)):
        first = app.test_cli_runner().invoke(args=["maintenance", "expire-rmas"])
        second = app.test_cli_runner().invoke(args=["maintenance", "expire-rmas"])
    assert "Expired 1 unused" in first.output
    assert "Expired 0 unused" in second.output


@pytest.fixture
def cannot_get_pregnant(app, db, factory):
    """A patient with no month open when the pharmacy asks."""
    with app.test_request_context():
        yield qualified_with_no_month_open(db, factory), certified_pharmacy(factory)


def _cycles(db, world) -> list[tuple[int, str]]:
    return [(c.number, c.state) for c in db.scalars(
        select(Cycle).where(Cycle.course_id == world.course.id).order_by(Cycle.number))]


def test_a_granted_request_opens_the_month_it_authorizes(cannot_get_pregnant, db):
    """With no month in progress, does an authorized request open one, already authorized,
    with the RMA and the month's audit event naming it?"""
    world, pharmacy = cannot_get_pregnant
    assert _cycles(db, world) == []
    request = rma_requests.request_rma(db, pharmacy=pharmacy, data=rma_ask(world), now=at(20))
    assert request.decision == "authorized", request.reasons
    assert _cycles(db, world) == [(1, "authorized")]
    issued = db.get(Rma, request.authorization_id)
    assert db.get(Cycle, issued.cycle_id).number == 1
    events = db.scalars(select(AuditEvent).where(AuditEvent.object_type == "cycle")).all()
    assert [(e.action, e.object_id, e.summary["state"]) for e in events] == [
        ("cycle.authorize", str(issued.cycle_id), ["open", "authorized"])]
    assert issued.do_not_dispense_after == local(26)  # valid 7 days from issue [P]


def test_a_denied_request_leaves_no_empty_month_behind(cannot_get_pregnant, db):
    """Does a denial (here: too long a supply) record the request but open no month?"""
    world, pharmacy = cannot_get_pregnant
    request = rma_requests.request_rma(db, pharmacy=pharmacy,
                                       data=rma_ask(world, days_supply=31), now=at(20))
    assert request.decision == "denied"
    assert _cycles(db, world) == []
    assert db.get(RmaRequest, request.id).patient_id == world.patient.id


def test_the_next_month_opens_after_the_fill(cannot_get_pregnant, db):
    """After the first fill, is the next RMA refused while more than 7 days of supply remain,
    then granted in a second month?"""
    world, pharmacy = cannot_get_pregnant
    first = rma_requests.request_rma(db, pharmacy=pharmacy, data=rma_ask(world), now=at(20))
    rma.record_dispense(db, pharmacy=pharmacy, now=at(20), data={
        "rma_number": first.rma.rma_number, "quantity": 30, "days_supply": 30,
        "dispensed_on": local(20).isoformat(), "medication_guide_given": True})
    early = rma_requests.request_rma(db, pharmacy=pharmacy, data=rma_ask(world), now=at(42))
    assert [r["code"] for r in early.reasons] == ["TOO_EARLY_TO_REFILL"]
    assert _cycles(db, world) == [(1, "dispensed")]
    second = rma_requests.request_rma(db, pharmacy=pharmacy, data=rma_ask(world), now=at(43))
    assert second.decision == "authorized", second.reasons
    assert _cycles(db, world) == [(1, "dispensed"), (2, "authorized")]
