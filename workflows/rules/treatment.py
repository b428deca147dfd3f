"""Course progress: treatment starts with the first fill, ends at the recorded last dose, and
is followed by the post-treatment period (a test, or contraception, for a number of days).

These checks guard the course state machine; ``check_not_ended`` also stops authorizations
once the prescriber has recorded the end of treatment.
"""

from datetime import date

from workflows.dates import add_days, human
from workflows.facts import CourseFacts, TestKind, TestResult
from workflows.findings import Actor, Finding, Findings, ReasonCode, SourceKind, met, unmet
from workflows.programs import CategoryKind, Param, ProgramVersion
from workflows.rules.common import category_kind
from workflows.rules.pregnancy_tests import counts


def check_not_ended(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """No RMA after the prescriber has recorded the last dose."""
    if facts.last_dose_on is None:
        return ()
    message = f"The prescriber recorded the end of treatment ({human(facts.last_dose_on)})."
    return (unmet(ReasonCode.TREATMENT_ENDED, message, Actor.PRESCRIBER, SourceKind.PROGRAM),)


def check_started(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """Treatment is active once something has been dispensed."""
    if facts.first_dose_on is not None and facts.first_dose_on <= today:
        message = f"The first fill was dispensed on {human(facts.first_dose_on)}."
        return (met(ReasonCode.NO_DISPENSE_YET, message, Actor.PHARMACY, SourceKind.PROGRAM),)
    message = "Nothing has been dispensed yet."
    return (unmet(ReasonCode.NO_DISPENSE_YET, message, Actor.PHARMACY, SourceKind.PROGRAM),)


def check_last_dose(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """Treatment ends when the prescriber records a last dose that is not in the future."""
    if facts.last_dose_on is not None and facts.last_dose_on <= today:
        message = f"The last dose was on {human(facts.last_dose_on)}."
        return (met(ReasonCode.LAST_DOSE_MISSING, message, Actor.PRESCRIBER, SourceKind.PROGRAM),)
    message = "The prescriber has not recorded a past last dose."
    return (unmet(ReasonCode.LAST_DOSE_MISSING, message, Actor.PRESCRIBER, SourceKind.PROGRAM),)


def check_post_treatment(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """The course completes after the post-treatment test, or once the period after has run."""
    if facts.last_dose_on is None:
        return check_last_dose(facts, version, today)
    test_days = version.post_treatment_test_days
    kind = category_kind(facts, version)
    if kind is CategoryKind.CAN_GET_PREGNANT and test_days.value is not None:
        due = add_days(facts.last_dose_on, test_days.value)
        return (_post_treatment_test(facts, version, today, due),)
    period = post_treatment_period(facts, version)
    if period is None or today >= add_days(facts.last_dose_on, period.value):
        message = "The post-treatment period is over."
        return (met(ReasonCode.POST_TREATMENT_PERIOD_RUNNING, message, None, SourceKind.PROGRAM),)
    ends = add_days(facts.last_dose_on, period.value)
    message = f"The post-treatment period runs until {human(ends)}."
    return (
        unmet(
            ReasonCode.POST_TREATMENT_PERIOD_RUNNING, message, None, period.source, eligible_on=ends
        ),
    )


def post_treatment_period(facts: CourseFacts, version: ProgramVersion) -> Param[int] | None:
    """The days of contraception (or condom use) the category keeps after the last dose."""
    kind = category_kind(facts, version)
    if kind is CategoryKind.CAN_GET_PREGNANT:
        return version.contraception_after_days
    male = version.male_methods_after_days
    if kind is CategoryKind.MALE and male.value is not None:
        return Param(male.value, male.source)
    return None


def _post_treatment_test(
    facts: CourseFacts, version: ProgramVersion, today: date, due: date
) -> Finding:
    """A counting negative test taken on or after the day it is due."""
    rule = version.post_treatment_test_days
    done = [
        t
        for t in facts.tests
        if t.kind is TestKind.POST_TREATMENT
        and t.result is TestResult.NEGATIVE
        and due <= t.specimen_on <= today
        and counts(t, facts, version)
    ]
    if done:
        message = f"The post-treatment test of {human(done[-1].specimen_on)} was negative."
        return met(ReasonCode.POST_TREATMENT_TEST_MISSING, message, Actor.PRESCRIBER, rule.source)
    message = f"A negative post-treatment test taken on or after {human(due)} is needed."
    return unmet(ReasonCode.POST_TREATMENT_TEST_MISSING, message, Actor.PRESCRIBER, rule.source)
