"""Small helpers the views share: pagination, the usual ways a form page answers, dates
and stored values in words, and the patient behind an account."""

import re
from dataclasses import dataclass
from datetime import date, datetime

from flask import abort, current_app, render_template
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from compliance.db import get_session
from compliance.mailer import in_words
from compliance.models import PatientProfile
from workflows.dates import human

PER_PAGE = 50


@dataclass
class Page:
    """One page of a list view; the count runs on the same filtered query."""

    items: list
    number: int
    total: int
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @classmethod
    def of(cls, db: Session, query: Select, requested: str | None,
           per_page: int = PER_PAGE) -> "Page":
        number = parse_page(requested)
        total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
        rows = db.execute(query.limit(per_page).offset((number - 1) * per_page)).all()
        items = [row[0] if len(row) == 1 else tuple(row) for row in rows]
        return cls(items=items, number=number, total=total, per_page=per_page)


def parse_page(requested: str | None) -> int:
    """A page number from the query string; anything odd means the first page."""
    try:
        return min(max(1, int(requested or 1)), 100_000)
    except ValueError:
        return 1


def form_page(template: str, form, **context):
    """Render a form page: 200 when first shown, 422 when a submission was refused."""
    status = 422 if form.is_submitted() else 200
    return render_template(template, form=form, **context), status


def emailed(address: str, *, again: bool = False) -> str:
    """What the person who created an account is told of its activation link: where it went,
    never the link itself (only its owner may use it)."""
    days = current_app.config["INVITATION_VALID_DAYS"]
    earlier = " The earlier link no longer works." if again else ""
    return (f"An activation link was emailed to {address}; it works once, for {days} days."
            f"{earlier}")


def words(value: date | datetime | None) -> str:
    """The `words` template filter: a date as "December 8, 2026", an instant as "Dec 8,
    2026 at 5:05 pm Eastern time"; people never read ISO dates outside the API."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return in_words(value)
    return human(value)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def record_value(value) -> str:
    """The `record_value` filter: one stored value of an exported record as a person reads
    it (dates in words, nested values as "key: value", None as a dash)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "; ".join(f"{key}: {record_value(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(record_value(item) for item in value) or "—"
    if isinstance(value, str) and _ISO_DATE.match(value):
        return words(date.fromisoformat(value))
    if isinstance(value, str) and _ISO_INSTANT.match(value):
        try:
            return words(datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


def patient_of_account(user_id: int) -> PatientProfile:
    """The patient profile of this account; 404 when the account is not a patient's."""
    patient = get_session().scalar(select(PatientProfile).where(
        PatientProfile.user_id == user_id))
    if patient is None:
        abort(404)
    return patient
