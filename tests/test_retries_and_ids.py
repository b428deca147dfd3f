"""S22: a request that loses a serialization race is run again from the start, at most 5
times, and decided once. S34: an account's email is never reused, even once the account
is deactivated (accounts are never deleted)."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from compliance.models import AuditEvent, Rma, RmaRequest, User
from compliance.services import retries, rma_requests
from tests.conftest import post_form
from tests.course_helpers import at, certified_pharmacy, ready_for_first_fill, rma_ask
from tests.form_helpers import VALID, fast_sign_in

pytestmark = pytest.mark.db


class _SerializationFailure(Exception):
    sqlstate = "40001"


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(("failures", "decided"), [(0, True), (2, True), (4, True),
                                                   (5, False)])
def test_a_lost_serialization_race_is_retried_and_decided_once(app, db, factory, monkeypatch,
                                                               failures, decided):
    with app.test_request_context():
        world = ready_for_first_fill(db, factory)
        site = certified_pharmacy(factory)
        events_before = count(db, AuditEvent)
        commit, attempts = db.commit, []

        def commit_that_loses_races():
            attempts.append(1)
            if len(attempts) <= failures:
                raise OperationalError("COMMIT", {}, _SerializationFailure())
            commit()

        monkeypatch.setattr(db, "commit", commit_that_loses_races)
        if decided:
            record = rma_requests.request_rma(db, pharmacy=site, data=rma_ask(world),
                                              now=at(20))
            assert record.decision == "authorized"
        else:
            with pytest.raises(OperationalError):
                rma_requests.request_rma(db, pharmacy=site, data=rma_ask(world), now=at(20))
        monkeypatch.undo()
    assert len(attempts) == min(failures + 1, retries.ATTEMPTS)
    assert (count(db, RmaRequest), count(db, Rma)) == ((1, 1) if decided else (0, 0))
    assert (count(db, AuditEvent) > events_before) is decided


def test_a_deactivated_accounts_email_is_not_given_again(client, db, factory, frozen):
    gone = factory.prescriber(email="left.the.practice@example.com")
    user = db.get(User, gone.user_id)
    user.is_active = False
    db.commit()
    fast_sign_in(client, db, factory.user("admin"))
    answer = post_form(client, "/admin/prescribers/new",
                       {**VALID["prescriber"], "email": "Left.The.Practice@example.com",
                        "npi": "1234567893"})
    assert answer.status_code == 422
    assert "An account with this email already exists." in answer.text
    assert count(db, User) == 2
