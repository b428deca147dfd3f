"""Readings of the facts that several rule topics share.

Each topic module stays about one idea; what they all need to know first (which kind of
patient, whether treatment has started, the date of the prescription) is read here once,
the same way everywhere.
"""

from datetime import date

from workflows.dates import local_date
from workflows.facts import CourseFacts
from workflows.programs import CategoryKind, ProgramVersion


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




def listing(items: tuple[str, ...] | list[str]) -> str:
    """Method or setting codes as words: "male latex condom, implant"."""
    return ", ".join(item.replace("_", " ") for item in items)
