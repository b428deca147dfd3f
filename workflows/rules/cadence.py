"""The test cadence during treatment, where the program makes it a rule (lenalidomide class:
weekly for the first 4 weeks, then every 4 weeks, every 2 with irregular cycles).

The test that backs a fill must follow the counting test before it within the interval of
the cadence phase that test fell in. A second fill with no weekly tests is refused; a late
test is not a lockout: the next test on time makes the chain whole again.
"""

from datetime import date

from workflows.dates import add_days, days_between, human
from workflows.facts import CourseFacts, TestKind, TestResult
from workflows.findings import Actor, Findings, ReasonCode, met, unmet
from workflows.programs import CadencePhase, ProgramVersion
from workflows.rules.common import before_first_fill, can_get_pregnant
from workflows.rules.pregnancy_tests import counts, window_test


def next_test_due(
    first_dose_on: date, last_test_on: date, phases: tuple[CadencePhase, ...]
) -> date:
    """The test after ``last_test_on``, by the cadence phase that test fell in.

    Day 0 is the first dispense; a test before it (the confirmation) falls in the first phase.
    """
    treatment_day = max(days_between(first_dose_on, last_test_on), 0)
    phase = [p for p in phases if p.from_day <= treatment_day][-1]
    return add_days(last_test_on, phase.every_days)


def check_cadence(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """This fill's test came on time after the test before it."""
    rule = version.test_cadence_checked
    first_dose = facts.first_dose_on
    if not rule.value or not can_get_pregnant(facts, version) or before_first_fill(facts):
        return ()
    current = window_test(facts, version, today)
    if current is None or first_dose is None:
        return ()  # the missing test is reported by its own check
    earlier = [
        t.specimen_on
        for t in facts.tests
        if t.kind in (TestKind.CONFIRMATION, TestKind.MONTHLY)
        and t.result is TestResult.NEGATIVE
        and t.specimen_on < current.specimen_on
        and counts(t, facts, version)
    ]
    if not earlier:
        return ()
    previous = max(earlier)
    due = next_test_due(first_dose, previous, version.cadence_for(facts.irregular_cycles).value)
    if current.specimen_on <= due:
        message = f"The tests follow the program's schedule (the last one was due by {human(due)})."
        return (met(ReasonCode.TEST_CADENCE_MISSED, message, Actor.PRESCRIBER, rule.source),)
    back_on = next_test_due(first_dose, current.specimen_on,
                            version.cadence_for(facts.irregular_cycles).value)
    message = (
        f"A pregnancy test was due by {human(due)}, after the test of {human(previous)}, and none "
        "is on file until this one: the program's testing schedule was not kept. A further "
        f"negative test taken by {human(back_on)} puts the schedule right and backs the fill."
    )
    return (unmet(ReasonCode.TEST_CADENCE_MISSED, message, Actor.PRESCRIBER, rule.source),)
