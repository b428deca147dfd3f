"""Readings of the facts that several rule topics share.

Each topic module stays about one idea; what they all need to know first (which kind of
patient, whether treatment has started, the date of the prescription) is read here once,
the same way everywhere.
"""

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import TypeVar

from workflows.dates import local_date
from workflows.facts import CourseFacts
from workflows.programs import CategoryKind, ProgramVersion

Answer = TypeVar("Answer")


def same_question(derive: Callable[[CourseFacts, ProgramVersion, date], Answer]
                  ) -> Callable[[CourseFacts, ProgramVersion, date], Answer]:
    """Remember a reading's last answer, for the checks of one decision that ask it again.

    Three checks need the test whose window applies, and the decision needs the window the
    check just found; each asks with the same facts, version and day. Facts and versions are
    frozen, so the same objects get the same answer; the entry keeps them alive, so no other
    object can take their identity while it stands. One entry per reading is enough: the
    checks of a decision run one after another.
    """
    last: tuple | None = None

    @wraps(derive)
    def remembered(facts: CourseFacts, version: ProgramVersion, today: date) -> Answer:
        nonlocal last
        if last is not None:
            seen_facts, seen_version, seen_day, answer = last
            if seen_facts is facts and seen_version is version and seen_day == today:
                return answer
        answer = derive(facts, version, today)
        last = (facts, version, today, answer)
        return answer

    return remembered


def category_kind(facts: CourseFacts, version: ProgramVersion) -> CategoryKind | None:
    """What the patient's category means under this version, or None if it has no such code."""
    category = version.category(facts.category)
    return category.kind if category else None


def can_get_pregnant(facts: CourseFacts, version: ProgramVersion) -> bool:
    """Whether the pregnancy-prevention rules (tests, two methods, the 7-day window) apply."""
    return category_kind(facts, version) is CategoryKind.CAN_GET_PREGNANT


def before_first_fill(facts: CourseFacts) -> bool:
    """The first course month: nothing dispensed yet, so pre-treatment rules apply."""
    return not facts.fills


def prescription_date(facts: CourseFacts, version: ProgramVersion, today: date) -> date:
    """The day the prescriber confirmed this cycle's prescription, else the decision date.

    Programs that time tests "before the prescription" count from the prescriber's act;
    until it exists, the decision date is the best available stand-in.
    """
    confirmed_at = facts.cycle.prescriber_confirmed_at if facts.cycle else None
    return local_date(confirmed_at, version.zone) if confirmed_at else today


MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def human(day: date) -> str:
    """A date as people read it in a sentence: "March 9, 2026" (whatever the server locale)."""
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


def listing(items: tuple[str, ...] | list[str]) -> str:
    """Method or setting codes as words: "male latex condom, implant"."""
    return ", ".join(item.replace("_", " ") for item in items)
