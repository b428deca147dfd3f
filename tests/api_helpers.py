"""Pharmacy systems for API tests: a certified pharmacy with a key, and calls made with it."""

import uuid
from dataclasses import dataclass

import freezegun

from compliance.models import Pharmacy, Rma
from compliance.services import api_keys, rma_requests
from tests.course_helpers import at, certified_pharmacy, rma_ask


@dataclass
class System:
    """A pharmacy and the bearer key its dispensing system uses."""

    pharmacy: Pharmacy
    key: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.key}"}

    def once(self) -> dict:
        """The headers with a new `Idempotency-Key` (a dispense demands one)."""
        return {**self.headers, "Idempotency-Key": uuid.uuid4().hex}


def pharmacy_system(db, factory, *, certified: bool = True) -> System:
    """A pharmacy (certified for 2026 unless told otherwise) and a new key of it."""
    pharmacy = certified_pharmacy(factory) if certified else factory.pharmacy(certified=False)
    with freezegun.freeze_time(at(0)):
        key = api_keys.create_key(db, pharmacy=pharmacy, name="dispensing system", now=at(0))
    return System(pharmacy, key.secret)


def issued_rma(db, world, pharmacy: Pharmacy, day: int = 20) -> Rma:
    """An RMA issued through the service (not the API) for `world` on `day`."""
    record = rma_requests.request_rma(db, pharmacy=pharmacy, data=rma_ask(world), now=at(day))
    assert record.decision == "authorized", record.reasons
    return db.get(Rma, record.authorization_id)


def fill(number: str, day_iso: str, **overrides) -> dict:
    """A dispense body for `number` on the given date."""
    return {"rma_number": number, "quantity": 30, "days_supply": 30, "dispensed_on": day_iso,
            "medication_guide_given": True, **overrides}
