"""What is due next and by when, from the same facts the decision reads.

The pages show it ("take your next test between ... and ..."), reminders are sent from it,
and a calendar export turns each item into an event. Items are plain data: a kind, a date
range (either end may be open), who must act, and a sentence.
"""

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from workflows.dates import add_days, day_n, human
from workflows.facts import CourseFacts, TestKind, TestResult
from workflows.findings import Actor
from workflows.programs import LeadInReference, Program, ProgramVersion
from workflows.programs import program_version_for as version_in_force
from workflows.rules import certification, contraception, pregnancy_tests, supply, window
from workflows.rules.cadence import next_test_due
from workflows.rules.common import before_first_fill, can_get_pregnant
from workflows.rules.treatment import post_treatment_period


class PlanItemKind(StrEnum):
    """What a plan item is about; stable, so a calendar export can key events on it."""

    PREGNANCY_TEST = "pregnancy_test"
    DISPENSING_WINDOW = "dispensing_window"
    REFILL = "refill"
    POST_TREATMENT_TEST = "post_treatment_test"
    CONTRACEPTION_AFTER_TREATMENT = "contraception_after_treatment"
    NO_BLOOD_DONATION = "no_blood_donation"
    PRESCRIBER_REACTIVATION = "prescriber_reactivation"
    PHARMACY_REACTIVATION = "pharmacy_reactivation"


@dataclass(frozen=True, slots=True)
class PlanItem:
    """Something to do (or avoid) from ``starts_on`` to ``ends_on``; None leaves an end open."""

    kind: PlanItemKind
    starts_on: date | None
    ends_on: date | None
    actor: Actor
    message: str
    ends_at: datetime | None = None  # the closing instant, for windows


@dataclass(frozen=True, slots=True)
class Plan:
    """The items due for one course, under the rule version in force on ``planned_on``."""

    program: str
    rule_version: str
    planned_on: date
    items: tuple[PlanItem, ...]

    def get(self, kind: PlanItemKind) -> PlanItem | None:
        """The item of this kind, if the plan has one."""
        return next((item for item in self.items if item.kind is kind), None)


def plan_course(facts: CourseFacts, program: Program, today: date) -> Plan:
    """The plan for ``facts`` on ``today`` (a date in the program's zone)."""
    version = version_in_force(program, today)
    if facts.open_positives:
        items: list[PlanItem] = []  # a positive test stops everything; the case takes over
    elif facts.last_dose_on is not None:
        items = _after_treatment(facts, version, facts.last_dose_on)
    else:
        items = _during_treatment(facts, version, today)
    items += _reactivations(facts, version)
    return Plan(version.program, version.version, today, tuple(items))


def _during_treatment(facts: CourseFacts, version: ProgramVersion, today: date) -> list[PlanItem]:
    """Window, next test and refill while the course runs."""
    items = []
    open_window = window.current_window(facts, version, today)
    if open_window is not None and open_window.is_open_on(today):
        items.append(
            PlanItem(
                PlanItemKind.DISPENSING_WINDOW,
                open_window.opens_on,
                open_window.closes_on,
                Actor.PHARMACY,
                f"Fill by {human(open_window.closes_on)} (the do-not-dispense-after date).",
                open_window.closes_at,
            )
        )
    if can_get_pregnant(facts, version):
        test = _next_test(facts, version, today)
        if test is not None:
            items.append(test)
    eligible_on, runs_out = (
        supply.refill_eligible_on(facts, version),
        supply.supply_runs_out_on(facts),
    )
    if eligible_on is not None and runs_out is not None:
        message = f"The next fill can be authorized from {human(eligible_on)}."
        items.append(PlanItem(PlanItemKind.REFILL, eligible_on, runs_out, Actor.PHARMACY, message))
    return items


def _next_test(facts: CourseFacts, version: ProgramVersion, today: date) -> PlanItem | None:
    """The next pregnancy test: screening, confirmation, or the next one during treatment."""
    if before_first_fill(facts):
        current = window.current_window(facts, version, today)
        if current is not None and current.is_open_on(today):
            return None  # the confirmation test counts; the next test follows the first fill
        return _next_pretreatment_test(facts, version, today)
    first_dose = facts.first_dose_on
    tests = [
        t
        for t in facts.tests
        if t.kind in (TestKind.CONFIRMATION, TestKind.MONTHLY)
        and t.result is TestResult.NEGATIVE
        and t.specimen_on <= today
        and pregnancy_tests.counts(t, facts, version)
    ]
    if first_dose is None or not tests:
        return _test_item(today, None, "Take a pregnancy test now.")
    last = max(tests, key=lambda t: t.specimen_on).specimen_on
    due = next_test_due(first_dose, last, version.cadence_for(facts.irregular_cycles).value)
    if due < today:
        return _test_item(today, today, f"The next test was due on {human(due)}; take it now.")
    earliest = add_days(last, 1)
    eligible_on = supply.refill_eligible_on(facts, version)
    if eligible_on is not None:  # a test taken earlier would open a window that closes unused
        earliest = max(earliest, add_days(eligible_on, 1 - version.window_days.value))
    earliest = max(min(earliest, due), today)  # a test the cadence wants sooner comes first
    return _test_item(earliest, due, f"Take the next test by {human(due)}.")


def _next_pretreatment_test(facts: CourseFacts, version: ProgramVersion, today: date) -> PlanItem:
    """Screening first; then the confirmation test, no earlier than every rule allows."""
    screening = pregnancy_tests.latest_screening(facts, version, today)
    if screening is None:
        return _test_item(today, None, "Take the screening pregnancy test.")
    earliest, latest = [today], None
    gap = version.confirmation_min_days_after_screening.value
    if gap is not None:
        earliest.append(add_days(screening.specimen_on, gap))
    low = version.screening_min_days_before_first_prescription.value
    high = version.screening_max_days_before_first_prescription.value
    within = version.confirmation_max_days_before_first_prescription.value
    if low is not None and high is not None and within is not None:
        earliest.append(add_days(screening.specimen_on, low - within))
        latest = add_days(screening.specimen_on, high)
    if version.lead_in_reference.value is LeadInReference.CONFIRMATION_TEST:
        start = contraception.covered_since(facts, version, today)
        if start is not None:
            earliest.append(add_days(start, version.contraception_lead_in_days.value))
    missed = pregnancy_tests.counting_tests(facts, version, today)
    lockout = version.first_cycle_lockout_days.value
    if missed and lockout is not None:
        earliest.append(add_days(missed[-1].specimen_on, lockout))
    start_on = max(earliest)
    return _test_item(start_on, latest, f"Take the confirmation test from {human(start_on)}.")


def _test_item(starts_on: date, ends_on: date | None, message: str) -> PlanItem:
    """A pregnancy-test item; the prescriber orders and enters it."""
    return PlanItem(PlanItemKind.PREGNANCY_TEST, starts_on, ends_on, Actor.PRESCRIBER, message)


def _after_treatment(
    facts: CourseFacts, version: ProgramVersion, last_dose: date
) -> list[PlanItem]:
    """The post-treatment test, contraception and blood-donation dates after the last dose."""
    items = []
    test_days = version.post_treatment_test_days.value
    if can_get_pregnant(facts, version) and test_days is not None:
        due = add_days(last_dose, test_days)
        message = f"Take your last pregnancy test on or after {human(due)}."
        items.append(PlanItem(PlanItemKind.POST_TREATMENT_TEST, due, None, Actor.PATIENT, message))
    period = post_treatment_period(facts, version)
    if period is not None:
        until = day_n(add_days(last_dose, 1), period.value)
        message = f"Keep using your birth control until {human(until)}."
        items.append(
            PlanItem(
                PlanItemKind.CONTRACEPTION_AFTER_TREATMENT, last_dose, until, Actor.PATIENT, message
            )
        )
    wait = version.blood_donation_wait_days.value
    if wait is not None:
        until = day_n(add_days(last_dose, 1), wait)
        message = f"Do not donate blood until after {human(until)}."
        items.append(
            PlanItem(PlanItemKind.NO_BLOOD_DONATION, last_dose, until, Actor.PATIENT, message)
        )
    return items


def _reactivations(facts: CourseFacts, version: ProgramVersion) -> list[PlanItem]:
    """When the prescriber's and the pharmacy's certifications must be renewed."""
    items = []
    if facts.prescriber is not None:
        ends = certification.expires_on(facts.prescriber, version.prescriber_certification_months)
        items.append(_renewal(PlanItemKind.PRESCRIBER_REACTIVATION, ends, Actor.PRESCRIBER))
    if facts.pharmacy is not None:
        ends = certification.expires_on(facts.pharmacy, version.pharmacy_certification_months)
        items.append(_renewal(PlanItemKind.PHARMACY_REACTIVATION, ends, Actor.PHARMACY))
    return items


def _renewal(kind: PlanItemKind, expires_on: date, actor: Actor) -> PlanItem:
    """Renew by the last day the certification still covers."""
    last_day = add_days(expires_on, -1)
    return PlanItem(kind, None, last_day, actor, f"Renew the certification by {human(last_day)}.")
