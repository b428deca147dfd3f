"""The dispensing window: the days in which an RMA may be issued and filled.

For a patient who can get pregnant, day 1 is the specimen date of the counting test and the
last day (the DNDPA date) is day 7, until 23:59:59 in the program's zone. For other patients
the window opens on the prescriber's confirmation or on the RMA's issue, as the version says.
The 2021 iPLEDGE version adds the 19-day lockout after a missed first-month window.
"""

from dataclasses import dataclass
from datetime import date, datetime

from workflows.dates import add_days, day_n, days_between, end_of_day, human, local_date
from workflows.facts import AuthorizationFact, CourseFacts
from workflows.findings import Actor, Findings, ReasonCode, SourceKind, met, unmet
from workflows.programs import CategoryKind, Param, ProgramVersion, WindowAnchor
from workflows.rules.common import (
    before_first_fill,
    can_get_pregnant,
    category_kind,
)
from workflows.rules.pregnancy_tests import counting_tests, window_test


@dataclass(frozen=True, slots=True)
class Window:
    """Day 1 to the DNDPA date, and the instant the window closes."""

    opens_on: date
    closes_on: date
    closes_at: datetime
    source: SourceKind

    def is_open_on(self, day: date) -> bool:
        """True on every day from day 1 to the DNDPA date."""
        return self.opens_on <= day <= self.closes_on


def current_window(facts: CourseFacts, version: ProgramVersion, today: date) -> Window | None:
    """The window this cycle's RMA would fall in, or None while nothing has opened one."""
    kind = category_kind(facts, version)
    if kind is None:
        return None
    if kind is CategoryKind.CAN_GET_PREGNANT:
        test = window_test(facts, version, today)
        return _window(test.specimen_on, version.window_days, version) if test else None
    length = version.non_reproductive_window_days
    if version.non_reproductive_window_anchor.value is WindowAnchor.AUTHORIZATION:
        return _window(today, length, version)
    confirmed_at = facts.cycle.prescriber_confirmed_at if facts.cycle else None
    if confirmed_at is None:
        return None
    return _window(local_date(confirmed_at, version.zone), length, version)


def check_window(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """Today must fall in the window; a closed one needs a new test or a new confirmation."""
    window = current_window(facts, version, today)
    if window is None:
        return ()  # the missing test or confirmation is reported by its own check
    if window.is_open_on(today):
        closing = f"{window.closes_at:%I:%M %p %Z}"
        message = f"The window is open until {human(window.closes_on)} at {closing}."
        return (met(ReasonCode.WINDOW_EXPIRED, message, Actor.PRESCRIBER, window.source),)
    needs = "a new pregnancy test" if can_get_pregnant(facts, version) else "a new confirmation"
    message = f"The window closed on {human(window.closes_on)}; {needs} is needed."
    return (unmet(ReasonCode.WINDOW_EXPIRED, message, Actor.PRESCRIBER, window.source),)


def check_lockout(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """First month, window missed: the next specimen at least 19 days after the previous one."""
    rule = version.first_cycle_lockout_days
    if rule.value is None or not (can_get_pregnant(facts, version) and before_first_fill(facts)):
        return ()
    *earlier, current = counting_tests(facts, version, today) or [None]  # the latest, if any
    if current is None or not earlier:
        return ()  # fewer than two counting tests: no earlier window to have missed
    previous = earlier[-1]
    if current.specimen_on <= day_n(previous.specimen_on, version.window_days.value):
        return ()  # taken while the previous window was still open: nothing was missed
    gap = days_between(previous.specimen_on, current.specimen_on)
    if gap >= rule.value:
        message = f"The new test was taken {gap} days after the test whose window was missed."
        return (met(ReasonCode.LOCKOUT_19_DAY, message, Actor.PRESCRIBER, rule.source),)
    earliest = add_days(previous.specimen_on, rule.value)
    message = (
        f"The first-month window of the test of {human(previous.specimen_on)} was missed, so the "
        f"next test must be taken at least {rule.value} days later, from {human(earliest)}."
    )
    return (unmet(ReasonCode.LOCKOUT_19_DAY, message, Actor.PRESCRIBER, rule.source, earliest),)


def check_window_closed(
    facts: CourseFacts,
    version: ProgramVersion,
    today: date,
    authorization: AuthorizationFact | None,
) -> Findings:
    """A cycle expires only once its RMA's DNDPA date (or else its window) has passed."""
    if authorization is not None:
        closes_on: date | None = authorization.do_not_dispense_after
        source = SourceKind.PROGRAM
    else:
        window = current_window(facts, version, today)
        closes_on, source = (
            (window.closes_on, window.source) if window else (None, SourceKind.PROGRAM)
        )
    if closes_on is None:
        message = "No window has opened in this cycle, so it cannot expire."
        return (unmet(ReasonCode.WINDOW_NOT_CLOSED, message, None, source),)
    if today > closes_on:
        message = f"The window closed on {human(closes_on)}."
        return (met(ReasonCode.WINDOW_NOT_CLOSED, message, None, source),)
    message = f"The window is open until {human(closes_on)}."
    after = add_days(closes_on, 1)
    return (unmet(ReasonCode.WINDOW_NOT_CLOSED, message, None, source, eligible_on=after),)


def _window(first_day: date, length: Param[int], version: ProgramVersion) -> Window:
    """A window of ``length`` days whose day 1 is ``first_day``."""
    last_day = day_n(first_day, length.value)
    return Window(first_day, last_day, end_of_day(last_day, version.zone), length.source)
