"""Is guessing a patient's date of birth kept slow and seen, wherever a pharmacy looks a
patient up (the find form, an RMA request, the API's eligibility and RMA requests)?

Per asker: the tenth miss in 15 minutes stops that pharmacist's (or system's) lookups
until the window has passed. Per patient ID: after five misses from anyone, that ID is
tried once a minute. Every miss writes an audit event.
"""

from datetime import timedelta

import freezegun
import pytest
from sqlalchemy import func, select

from compliance.identifiers import new_program_patient_id
from compliance.models import AuditEvent
from compliance.services import lookups
from tests.api_helpers import pharmacy_system
from tests.conftest import csrf_token
from tests.course_helpers import DOB, at, rma_ask
from tests.form_helpers import assert_error_next_to
from tests.pharmacy_helpers import open_counter, signed_in

FIND = "/pharmacist/patients/find"
DAY = 20


def wrong_birth(n: int) -> str:
    return f"19{50 + n % 40:02d}-0{1 + n % 9}-1{n % 10}"


@pytest.fixture
def counter(app, db, factory):
    with freezegun.freeze_time(at(DAY)) as clock:
        cast = open_counter(app, db, factory)
        yield cast, clock


def find(client, patient_id: str, born: str):
    return client.post(FIND, data={"csrf_token": csrf_token(client, FIND),
                                   "patient_id": patient_id, "date_of_birth": born})


def misses(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "patient.lookup_missed"))


@pytest.mark.parametrize(("missed", "refused"), [(lookups.ASKER_LIMIT - 1, False),
                                                 (lookups.ASKER_LIMIT, True)])
def test_a_pharmacists_misses_stop_their_lookups_at_the_limit(client, db, counter, missed,
                                                              refused):
    """Nine misses (on other IDs) still let the pharmacist find a patient; the tenth
    stops every lookup of theirs, the right one too, until the window has passed."""
    cast, clock = counter
    browser = signed_in(client, db, cast.lead)
    for n in range(missed):
        assert find(browser, new_program_patient_id(), wrong_birth(n)).status_code == 422
    assert misses(db) == missed
    right = find(browser, cast.world.patient.program_patient_id, DOB)
    if refused:
        assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0
        assert_error_next_to(right.text, "patient_id", "Too many lookups matched no patient")
        clock.tick(lookups.WINDOW + timedelta(seconds=1))
        browser = signed_in(client, db, cast.lead)  # the idle session ended meanwhile
        right = find(browser, cast.world.patient.program_patient_id, DOB)
    assert right.status_code == 200 and "Ask for an RMA" in right.text
    colleague = signed_in(client.application.test_client(), db, cast.colleague)
    assert find(colleague, cast.world.patient.program_patient_id, DOB).status_code == 200


def test_misses_on_one_patient_id_slow_it_for_everyone(client, db, counter, app, factory):
    """Five misses on the patient's ID from five pharmacists: the next try of that ID, by
    anyone and even with the right date, waits a minute; then it works."""
    cast, clock = counter
    patient_id = cast.world.patient.program_patient_id
    for n in range(lookups.PATIENT_LIMIT):
        guesser = signed_in(app.test_client(), db, factory.pharmacist(cast.pharmacy))
        assert find(guesser, patient_id, wrong_birth(n)).status_code == 422
    browser = signed_in(client, db, cast.lead)
    slowed = find(browser, patient_id, DOB)
    assert_error_next_to(slowed.text, "patient_id", "try again in 1 minute")
    clock.tick(lookups.PATIENT_SLOWDOWN)
    assert find(browser, patient_id, DOB).status_code == 200


def test_the_api_counts_misses_and_answers_429_with_retry_after(app, db, factory, counter):
    """The pharmacy system's eligibility and RMA requests count as one asker: at the
    limit both answer 429 problem+json with Retry-After, and each miss is audited."""
    cast, _ = counter
    system = pharmacy_system(db, factory)
    client = app.test_client()
    for n in range(lookups.ASKER_LIMIT // 2):
        url = (f"/api/v1/patients/{new_program_patient_id()}/eligibility"
               f"?date_of_birth={wrong_birth(n)}")
        assert client.get(url, headers=system.headers).status_code == 404
        asked = client.post("/api/v1/rma-requests", headers=system.headers, json=rma_ask(
            cast.world, patient_id=new_program_patient_id()))
        assert asked.status_code == 201 and asked.json["decision"] == "denied"
    assert misses(db) == lookups.ASKER_LIMIT
    url = (f"/api/v1/patients/{cast.world.patient.program_patient_id}/eligibility"
           f"?date_of_birth={DOB}")
    for answer in (client.get(url, headers=system.headers),
                   client.post("/api/v1/rma-requests", headers=system.headers,
                               json=rma_ask(cast.world))):
        assert answer.status_code == 429 and answer.mimetype == "application/problem+json"
        assert int(answer.headers["Retry-After"]) > 0
    other = pharmacy_system(db, factory)
    assert client.get(url, headers=other.headers).status_code == 200, "another pharmacy"


@pytest.mark.usefixtures("counter")  # the clock at the counter's day
def test_pruning_forgets_misses_past_the_window_only(app, db):
    """`flask maintenance prune-lookup-misses` (and the worker's daily prune) deletes the
    misses the throttle no longer counts, and keeps the others."""
    from compliance.models import LookupMiss

    now = at(DAY)
    for age in (lookups.WINDOW + timedelta(seconds=1), lookups.WINDOW, timedelta(0)):
        db.add(LookupMiss(asker="user:1", program_patient_id="X", missed_at=now - age))
    db.commit()
    pruned = app.test_cli_runner().invoke(args=["maintenance", "prune-lookup-misses"])
    assert pruned.exit_code == 0 and "Deleted 1 old lookup misses." in pruned.output
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(LookupMiss)) == 2
