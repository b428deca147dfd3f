"""Pregnancy tests: which results count, before and during treatment.

A test counts when it is negative, sensitive enough and taken in a setting the version
accepts for its kind (a home test also needs the prescriber to have enabled home testing
and verified the result). Before the first fill the program wants a screening test and a
confirmation test timed against it or against the prescription; afterwards, a test for each
fill. A positive result stops everything and is never outweighed by a later negative one.
"""

from datetime import date

from workflows.dates import add_days, days_between, human
from workflows.facts import CourseFacts, TestFact, TestKind, TestResult, TestSetting
from workflows.findings import Actor, Finding, Findings, ReasonCode, SourceKind, met, unmet
from workflows.programs import ProgramVersion
from workflows.rules.common import (
    before_first_fill,
    can_get_pregnant,
    prescription_date,
)


def check_no_positive_test(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """Any positive result, for any patient, blocks every authorization (until the prescriber
    resumes the course on a negative test taken after it)."""
    positive = facts.open_positives
    if positive:
        first = min(t.specimen_on for t in positive)
        return (
            unmet(
                ReasonCode.POSITIVE_PREGNANCY_TEST,
                f"A pregnancy test of {human(first)} was positive: no authorization can be "
                "given, and the prescriber must report it to the pregnancy registry.",
                Actor.PRESCRIBER,
                SourceKind.PROGRAM,
            ),
        )
    if not can_get_pregnant(facts, version):
        return ()
    return (
        met(
            ReasonCode.POSITIVE_PREGNANCY_TEST,
            "No positive pregnancy test is on file.",
            Actor.PRESCRIBER,
            SourceKind.PROGRAM,
        ),
    )


def check_positive_on_file(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """The reverse question, for suspending a course: is there a positive result to act on?"""
    positive = facts.open_positives
    if positive:
        message = "A positive pregnancy test is on file."
        return (met(ReasonCode.NO_POSITIVE_TEST, message, Actor.PRESCRIBER, SourceKind.PROGRAM),)
    message = "No positive pregnancy test is on file, so the course cannot be suspended for one."
    return (unmet(ReasonCode.NO_POSITIVE_TEST, message, Actor.PRESCRIBER, SourceKind.PROGRAM),)


def check_resumable(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """A suspended course resumes only on a counting negative test taken after the latest
    positive one [P] (the prescriber's signed statement is the service's to ask)."""
    positives = [t.specimen_on for t in facts.open_positives]
    latest = max(positives, default=None)
    after = [
        t
        for t in facts.tests
        if latest is not None
        and t.result is TestResult.NEGATIVE
        and latest < t.specimen_on <= today
        and counts(t, facts, version)
    ]
    if after:
        message = f"A negative test of {human(after[-1].specimen_on)} follows the positive one."
        return (met(ReasonCode.RESUME_TEST_MISSING, message, Actor.PRESCRIBER, SourceKind.POLICY),)
    message = (
        "The course can resume only on a negative pregnancy test taken after the positive one."
        if latest is not None
        else "No positive test stops this course."
    )
    return (unmet(ReasonCode.RESUME_TEST_MISSING, message, Actor.PRESCRIBER, SourceKind.POLICY),)


def check_current_test(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """A counting negative test for this fill: the confirmation test first, then monthly."""
    if not can_get_pregnant(facts, version):
        return ()
    test = window_test(facts, version, today)
    if test is not None:
        return (
            met(
                ReasonCode.PREGNANCY_TEST_MISSING,
                f"A negative {test.kind.replace('_', ' ')} test of {human(test.specimen_on)} "
                "is on file.",
                Actor.PRESCRIBER,
                SourceKind.PROGRAM,
            ),
        )
    candidates = _candidates(facts, today)
    if candidates:
        return test_problems(candidates[-1], facts, version)
    kind = current_test_kind(facts)
    return (
        unmet(
            ReasonCode.PREGNANCY_TEST_MISSING,
            f"No negative {kind.replace('_', ' ')} pregnancy test is on file for this fill.",
            Actor.PRESCRIBER,
            SourceKind.PROGRAM,
        ),
    )


def check_pretreatment_tests(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """Before the first fill: a screening test, and the confirmation timed as the version says."""
    if not (can_get_pregnant(facts, version) and before_first_fill(facts)):
        return ()
    confirmation = window_test(facts, version, today)
    screening = latest_screening(
        facts, version, confirmation.specimen_on if confirmation else today
    )
    if screening is None:
        return (
            unmet(
                ReasonCode.SCREENING_TEST_MISSING,
                "No negative screening pregnancy test is on file.",
                Actor.PRESCRIBER,
                SourceKind.PROGRAM,
            ),
        )
    findings = [
        met(
            ReasonCode.SCREENING_TEST_MISSING,
            f"A negative screening test of {human(screening.specimen_on)} is on file.",
            Actor.PRESCRIBER,
            SourceKind.PROGRAM,
        )
    ]
    if confirmation is not None:
        findings += _confirmation_interval(screening, confirmation, version)
        rx_day = prescription_date(facts, version, today)
        findings += _timed_before_prescription(screening, confirmation, rx_day, version)
    return tuple(findings)


def window_test(facts: CourseFacts, version: ProgramVersion, today: date) -> TestFact | None:
    """The latest counting negative test for this fill: the one whose window applies."""
    tests = counting_tests(facts, version, today)
    return tests[-1] if tests else None


def counting_tests(facts: CourseFacts, version: ProgramVersion, today: date
                   ) -> tuple[TestFact, ...]:
    """Negative tests of the kind this fill needs that count, taken by today, oldest first."""
    return tuple(t for t in _candidates(facts, today) if counts(t, facts, version))


def latest_screening(facts: CourseFacts, version: ProgramVersion, until: date) -> TestFact | None:
    """The latest counting negative screening test taken on or before ``until``."""
    screenings = [
        t
        for t in facts.tests
        if t.kind is TestKind.SCREENING
        and t.result is TestResult.NEGATIVE
        and t.specimen_on <= until
        and counts(t, facts, version)
    ]
    return max(screenings, key=lambda t: t.specimen_on, default=None)


def current_test_kind(facts: CourseFacts) -> TestKind:
    """The first fill rests on the confirmation test, every later one on a monthly test."""
    return TestKind.CONFIRMATION if before_first_fill(facts) else TestKind.MONTHLY


def counts(test: TestFact, facts: CourseFacts, version: ProgramVersion) -> bool:
    """Whether a negative test counts, without composing the explanations (a hot path)."""
    return not _problem_codes(test, facts, version)


def test_problems(test: TestFact, facts: CourseFacts, version: ProgramVersion) -> Findings:
    """Why a negative test does not count (empty when it counts), explained."""
    settings = version.settings_for(test.kind)
    sensitivity = version.test_sensitivity_miu
    explain = {
        ReasonCode.TEST_SENSITIVITY_TOO_LOW: (
            f"The test of {human(test.specimen_on)} detects {test.sensitivity_miu} mIU/mL; "
            f"the program needs {sensitivity.value} mIU/mL or better.",
            sensitivity.source,
        ),
        ReasonCode.TEST_SETTING_NOT_ALLOWED: (
            f"A {test.kind.replace('_', ' ')} test taken in a {test.setting} setting does "
            f"not count under version {version.version}.",
            settings.source,
        ),
        ReasonCode.HOME_TEST_NOT_VERIFIED: (
            "A home test counts only when the prescriber has enabled home testing for the "
            "patient and verified the result.",
            settings.source,
        ),
    }
    return tuple(
        unmet(code, explain[code][0], Actor.PRESCRIBER, explain[code][1])
        for code in _problem_codes(test, facts, version)
    )


def _problem_codes(test: TestFact, facts: CourseFacts, version: ProgramVersion) -> list[ReasonCode]:
    """Sensitivity, then setting; a home test also needs enabling and verification."""
    problems = []
    if test.sensitivity_miu > version.test_sensitivity_miu.value:
        problems.append(ReasonCode.TEST_SENSITIVITY_TOO_LOW)
    if test.setting not in version.settings_for(test.kind).value:
        problems.append(ReasonCode.TEST_SETTING_NOT_ALLOWED)
    elif test.setting is TestSetting.HOME and not (
        facts.home_testing_enabled and test.verified_by_prescriber
    ):
        problems.append(ReasonCode.HOME_TEST_NOT_VERIFIED)
    return problems


def _candidates(facts: CourseFacts, today: date) -> list[TestFact]:
    """Negative tests of the kind this fill needs, taken by today, oldest first.

    One month, one fill: a test backs the fill after it, never a second one, so a monthly
    test counts only when its specimen was taken after the last fill's dispense date.
    """
    kind = current_test_kind(facts)
    after = last_fill_on(facts)
    tests = [
        t
        for t in facts.tests
        if t.kind is kind
        and t.result is TestResult.NEGATIVE
        and t.specimen_on <= today
        and (after is None or t.specimen_on > after)
    ]
    return sorted(tests, key=lambda t: t.specimen_on)


def last_fill_on(facts: CourseFacts) -> date | None:
    """The dispense date of the latest fill, if any."""
    return max((fill.dispensed_on for fill in facts.fills), default=None)


def _confirmation_interval(
    screening: TestFact, confirmation: TestFact, version: ProgramVersion
) -> list[Finding]:
    """iPLEDGE: the confirmation specimen at least 19 days after the screening specimen."""
    interval = version.confirmation_min_days_after_screening
    if interval.value is None:
        return []
    gap = days_between(screening.specimen_on, confirmation.specimen_on)
    if gap >= interval.value:
        message = f"The confirmation test was taken {gap} days after the screening test."
        return [met(ReasonCode.CONFIRMATION_TOO_EARLY, message, Actor.PRESCRIBER, interval.source)]
    earliest = add_days(screening.specimen_on, interval.value)
    return [
        unmet(
            ReasonCode.CONFIRMATION_TOO_EARLY,
            f"The confirmation test was taken {gap} days after the screening test; it must be "
            f"at least {interval.value} days, so a new test can be taken from {human(earliest)}.",
            Actor.PRESCRIBER,
            interval.source,
            earliest,
        )
    ]


def _timed_before_prescription(
    screening: TestFact, confirmation: TestFact, rx_day: date, version: ProgramVersion
) -> list[Finding]:
    """Lenalidomide class: screening 10-14 days before, confirmation within 24 hours before."""
    findings = []
    low = version.screening_min_days_before_first_prescription
    high = version.screening_max_days_before_first_prescription
    if low.value is not None and high.value is not None:
        before = days_between(screening.specimen_on, rx_day)
        ok = low.value <= before <= high.value
        message = (
            f"The first test was taken {before} days before the first prescription; it must be "
            f"{low.value} to {high.value} days before."
        )
        findings.append(
            Finding(ReasonCode.SCREENING_TEST_TIMING, ok, message, Actor.PRESCRIBER, low.source)
        )
    latest = version.confirmation_max_days_before_first_prescription
    if latest.value is not None:
        before = days_between(confirmation.specimen_on, rx_day)
        ok = 0 <= before <= latest.value
        message = (
            f"The second test was taken {before} days before the first prescription; it must "
            f"be at most {latest.value} day(s) before it."
        )
        code = ReasonCode.CONFIRMATION_TEST_TOO_OLD
        findings.append(Finding(code, ok, message, Actor.PRESCRIBER, latest.source))
    return findings
