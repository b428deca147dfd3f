"""Facts for the rules tests: a patient who is ready, which each test then spoils in one way.

Named for what they build, with dates passed in, so a test reads as its boundary: "the
confirmation test on March 3, the pharmacy asking on March 9 at 23:59:59 Eastern".
"""

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from workflows.facts import (
    CertificationFact,
    CourseFacts,
    CycleFacts,
    FillFact,
    MethodFact,
    RequestFacts,
    TestFact,
    TestKind,
    TestResult,
    TestSetting,
)
from workflows.programs import load_programs

EASTERN = ZoneInfo("America/New_York")
PROGRAMS = load_programs()
IPLEDGE = PROGRAMS["ipledge"]
LENALIDOMIDE = PROGRAMS["lenalidomide"]
V2021 = IPLEDGE.version("2021")
V2026 = IPLEDGE.version("2026")
V2023 = LENALIDOMIDE.version("2023")


def days(n: int) -> timedelta:
    """Shorthand for a number of days."""
    return timedelta(days=n)


def eastern(day: date, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    """An aware instant on ``day`` in the iPLEDGE zone."""
    return datetime.combine(day, time(hour, minute, second), tzinfo=EASTERN)


def a_test(
    kind: TestKind,
    specimen_on: date,
    result: TestResult = TestResult.NEGATIVE,
    setting: TestSetting = TestSetting.LABORATORY,
    sensitivity_miu: int = 25,
    verified: bool = False,
) -> TestFact:
    """A test; by default negative, in a laboratory, at 25 mIU/mL."""
    return TestFact(kind, specimen_on, result, setting, sensitivity_miu, verified)


def two_methods(started_on: date) -> tuple[MethodFact, ...]:
    """A primary and a secondary method, both from ``started_on``."""
    return (MethodFact("implant", started_on), MethodFact("male_latex_condom", started_on))


def ready_cycle(
    day: date, methods: tuple[str, ...] = ("implant", "male_latex_condom")
) -> CycleFacts:
    """A cycle the prescriber confirmed at 10:00 and the patient attested at 11:00 on ``day``."""
    return CycleFacts(
        prescriber_confirmed_at=eastern(day, 10),
        patient_attested_at=eastern(day, 11),
        quiz_passed=True,
        patient_confirmed_methods=methods,
    )


def certified(since: date) -> CertificationFact:
    """A certification activated on ``since`` with a staff-training record the same day."""
    return CertificationFact(activated_on=since, staff_trained_on=since)


def first_fill(confirmation_on: date, **changes: object) -> CourseFacts:
    """iPLEDGE, can get pregnant, ready for the first RMA on the confirmation day.

    Screening 19 days before the confirmation, two methods for 60 days, a confirmed and
    attested cycle, a 30-day request, certifications from 100 days before.
    """
    facts = CourseFacts(
        category="can_get_pregnant",
        enrollment_signed=True,
        counseled_on=confirmation_on - days(19),
        methods=two_methods(confirmation_on - days(60)),
        tests=(
            a_test(TestKind.SCREENING, confirmation_on - days(19), setting=TestSetting.OFFICE),
            a_test(TestKind.CONFIRMATION, confirmation_on),
        ),
        cycle=ready_cycle(confirmation_on),
        request=RequestFacts(days_supply=30, quantity=60),
        prescriber=certified(confirmation_on - days(100)),
        pharmacy=certified(confirmation_on - days(100)),
    )
    return replace(facts, **changes)


def later_fill(specimen_on: date, last_fill_on: date, **changes: object) -> CourseFacts:
    """iPLEDGE, can get pregnant, in treatment: a monthly laboratory test on ``specimen_on``.

    The first fill was 30 days before the last one; both were 30-day fills.
    """
    facts = first_fill(
        last_fill_on - days(32),
        fills=(FillFact(last_fill_on - days(30), 30), FillFact(last_fill_on, 30)),
        cycle=ready_cycle(specimen_on),
    )
    tests = (*facts.tests, a_test(TestKind.MONTHLY, specimen_on))
    return replace(replace(facts, tests=tests), **changes)


def cannot_get_pregnant(day: date, **changes: object) -> CourseFacts:
    """iPLEDGE, cannot get pregnant, prescriber confirmed on ``day`` (no tests, no methods)."""
    facts = CourseFacts(
        category="cannot_get_pregnant",
        enrollment_signed=True,
        counseled_on=day - days(10),
        cycle=CycleFacts(prescriber_confirmed_at=eastern(day, 10)),
        request=RequestFacts(days_supply=30, quantity=30),
        prescriber=certified(day - days(100)),
        pharmacy=certified(day - days(100)),
    )
    return replace(facts, **changes)


def lenalidomide_first_fill(prescription_on: date, **changes: object) -> CourseFacts:
    """Lenalidomide class, adult who can get pregnant, ready on the prescription day.

    First test 12 days before, second the same day, two methods for 40 days.
    """
    facts = CourseFacts(
        category="adult_can_get_pregnant",
        enrollment_signed=True,
        counseled_on=prescription_on - days(14),
        methods=two_methods(prescription_on - days(40)),
        tests=(
            a_test(TestKind.SCREENING, prescription_on - days(12), sensitivity_miu=50),
            a_test(TestKind.CONFIRMATION, prescription_on, sensitivity_miu=50),
        ),
        cycle=ready_cycle(prescription_on),
        request=RequestFacts(days_supply=28, quantity=28),
        prescriber=certified(prescription_on - days(100)),
        pharmacy=certified(prescription_on - days(100)),
    )
    return replace(facts, **changes)


def codes(findings: tuple) -> set[str]:
    """The reason codes of the unmet findings."""
    return {finding.code for finding in findings if not finding.met}
