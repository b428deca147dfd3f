"""Exactly once under concurrency, on PostgreSQL: many pharmacists asking for the same
month at the same moment get one RMA between them, and one RMA gets one fill.

Threads share a process (and its connection pool); forked processes share nothing but the
database, as gunicorn workers do. Each scenario runs 20 times to give races room to show.
"""

import multiprocessing
import threading
from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from compliance import create_app
from compliance.db import get_engine
from compliance.models import Cycle, Dispense, Rma
from compliance.services import rma, rma_requests
from compliance.services.errors import Refused
from tests.conftest import ON_POSTGRES, app_config
from tests.course_helpers import (
    at,
    certified_pharmacy,
    local,
    qualified_with_no_month_open,
    ready_for_first_fill,
    rma_ask,
)

pytestmark = [pytest.mark.db,
              pytest.mark.skipif(not ON_POSTGRES, reason="exactly-once is proven on PostgreSQL")]
PARALLEL = 50
REPEATS = 20


def ask_once(app, pharmacy_id: int, data: dict, now: datetime) -> str:
    """One pharmacy request in its own session; returns the decision."""
    from compliance.models import Pharmacy

    with app.app_context(), Session(get_engine(app), expire_on_commit=False) as db:
        return rma_requests.request_rma(db, pharmacy=db.get(Pharmacy, pharmacy_id), data=data,
                               now=now).decision


def fill_once(app, pharmacy_id: int, data: dict, now: datetime) -> str:
    from compliance.models import Pharmacy

    with app.app_context(), Session(get_engine(app), expire_on_commit=False) as db:
        try:
            rma.record_dispense(db, pharmacy=db.get(Pharmacy, pharmacy_id), data=data, now=now)
        except Refused as exc:
            return type(exc).__name__
        return "dispensed"


def in_threads(work, app, *args) -> Counter:
    """PARALLEL threads released together by a barrier; their outcomes counted."""
    barrier = threading.Barrier(PARALLEL)
    results: list[str] = []

    def run():
        barrier.wait()
        results.append(work(app, *args))

    threads = [threading.Thread(target=run) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Counter(results)


class ProcessCrew:
    """PARALLEL forked processes, kept for all repetitions (forking 1,000 would dominate
    the run); each round they wait at a barrier, act together and report."""

    def __init__(self, work, app):
        context = multiprocessing.get_context("fork")
        self.barrier, self.results = context.Barrier(PARALLEL), context.Queue()
        self.inboxes = [context.Queue() for _ in range(PARALLEL)]
        self.processes = [context.Process(target=self._serve, args=(work, app, inbox))
                          for inbox in self.inboxes]
        for process in self.processes:
            process.start()

    def _serve(self, work, app, inbox) -> None:
        get_engine(app).dispose(close=False)  # leave the parent's connections to it
        while (args := inbox.get()) is not None:
            self.barrier.wait()
            self.results.put(work(app, *args))

    def run(self, *args) -> Counter:
        for inbox in self.inboxes:
            inbox.put(args)
        return Counter(self.results.get(timeout=60) for _ in self.inboxes)

    def close(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for process in self.processes:
            process.join(timeout=60)


@pytest.fixture
def app(database_url, tmp_path):
    """The tests' app with a pool that holds every thread at once: here threads race for
    rows, not for connections (tests/test_overload.py covers an exhausted pool)."""
    application = create_app(app_config(database_url, tmp_path,
                                             DATABASE_POOL_SIZE=PARALLEL,
                                             DATABASE_POOL_TIMEOUT=30))
    yield application
    get_engine(application).dispose()


@pytest.fixture
def fire(app, request):
    """fire(work, *args) runs `work` PARALLEL times at once in the parametrized runner."""
    crews: dict = {}

    def run(work, *args) -> Counter:
        if request.node.callspec.params["runner"] == "threads":
            return in_threads(work, app, *args)
        crew = crews.get(work) or crews.setdefault(work, ProcessCrew(work, app))
        return crew.run(*args)

    yield run
    for crew in crews.values():
        crew.close()


@pytest.fixture
def scenario(app, db, factory):
    """A fresh patient ready for a first fill, and a certified pharmacy, per repetition;
    `opening=True`: a patient with no month in progress (the request opens it)."""
    made = 0

    def make(opening: bool = False):
        nonlocal made
        made += 1
        email = f"patient{made}@example.com"
        with app.test_request_context():
            build = qualified_with_no_month_open if opening else ready_for_first_fill
            return build(db, factory, email=email), certified_pharmacy(factory)

    return make


@pytest.mark.parametrize("runner", ["threads", "processes"])
def test_fifty_simultaneous_requests_give_exactly_one_rma(db, scenario, fire, runner):
    """Of 50 simultaneous requests for one month, is exactly one authorized, every time?"""
    for _ in range(REPEATS):
        world, pharmacy = scenario()
        outcomes = fire(ask_once, pharmacy.id, rma_ask(world), at(20))
        assert outcomes == Counter({"authorized": 1, "denied": PARALLEL - 1})
        live = db.scalar(select(func.count()).select_from(Rma)
                         .where(Rma.course_id == world.course.id))
        assert live == 1


@pytest.mark.parametrize("runner", ["threads", "processes"])
def test_fifty_simultaneous_requests_opening_a_month_give_one_rma_and_one_month(
        db, scenario, fire, runner):
    """With no month in progress, do 50 simultaneous requests open exactly one month and get
    exactly one RMA in it, every time?"""
    for _ in range(REPEATS):
        world, pharmacy = scenario(opening=True)
        outcomes = fire(ask_once, pharmacy.id, rma_ask(world), at(20))
        assert outcomes == Counter({"authorized": 1, "denied": PARALLEL - 1})
        months = db.scalars(select(Cycle.id).where(Cycle.course_id == world.course.id)).all()
        rmas = db.scalars(select(Rma.cycle_id)
                          .where(Rma.course_id == world.course.id)).all()
        assert len(months) == 1 and rmas == months


@pytest.mark.parametrize("runner", ["threads", "processes"])
def test_fifty_simultaneous_fills_give_exactly_one_dispense(app, db, scenario, fire, runner):
    """Of 50 simultaneous fills on one RMA, is exactly one recorded, every time?"""
    for _ in range(REPEATS):
        world, pharmacy = scenario()
        with app.app_context():
            issued = rma_requests.request_rma(db, pharmacy=pharmacy, data=rma_ask(world),
                                              now=at(20))
        number = issued.rma.rma_number
        fill = {"rma_number": number, "quantity": 30, "days_supply": 30,
                "dispensed_on": local(21).isoformat(), "medication_guide_given": True}
        outcomes = fire(fill_once, pharmacy.id, fill, at(21))
        assert outcomes == Counter({"dispensed": 1, "Conflict": PARALLEL - 1})
        fills = db.scalar(select(func.count()).select_from(Dispense)
                          .where(Dispense.course_id == world.course.id))
        assert fills == 1
