"""A pharmacy counter for the pharmacist page tests: a patient ready for a first fill (day
20 of `course_helpers`), a certified pharmacy with its responsible pharmacist and a
colleague, and another pharmacy with an RMA of its own."""

from dataclasses import dataclass

from compliance.models import Pharmacy, Rma, User
from compliance.services import rma_requests
from tests.course_helpers import (
    World,
    at,
    build_world,
    certified_pharmacy,
    complete_month,
    qualify,
    rma_ask,
)
from tests.form_helpers import fast_sign_in


@dataclass
class Counter:
    world: World
    pharmacy: Pharmacy
    lead: User  # the responsible pharmacist
    colleague: User
    other: Pharmacy


def patient_ready(app, db, factory, *, email: str, confirmation_day: int = 20) -> World:
    """A patient whose first window opens on `confirmation_day` (DNDPA six days later)."""
    with app.test_request_context():
        world = build_world(db, factory, email=email)
        qualify(db, world, confirmation_day=confirmation_day)
        complete_month(db, world, confirmation_day)
    return world


def open_counter(app, db, factory) -> Counter:
    """The cast; call it with the clock frozen at the test's instant."""
    world = patient_ready(app, db, factory, email="casey@example.com")
    with app.test_request_context():
        site, other = certified_pharmacy(factory), certified_pharmacy(factory)
        lead = factory.pharmacist(site, name="Lee Lead")
        colleague = factory.pharmacist(site, name="Cam Colleague")
        site.responsible_pharmacist_id = lead.id
        db.add(site)
        db.commit()
    return Counter(world, site, lead, colleague, other)


def signed_in(client, db, user: User):
    fast_sign_in(client, db, user)
    return client


def issue(app, db, world: World, pharmacy: Pharmacy, day: float = 20, **ask) -> Rma:
    """An RMA issued through the service, as if asked at the counter on `day`."""
    with app.test_request_context():
        record = rma_requests.request_rma(db, pharmacy=pharmacy, data=rma_ask(world, **ask),
                                          now=at(day))
    assert record.decision == "authorized", record.reasons
    return db.get(Rma, record.authorization_id)
