"""The planner: what is due next, and by when."""

from dataclasses import replace
from datetime import date

import pytest

from tests.workflows.rules_builders import (
    IPLEDGE,
    LENALIDOMIDE,
    V2023,
    a_test,
    days,
    first_fill,
    later_fill,
    lenalidomide_first_fill,
    two_methods,
)
from workflows.facts import CertificationFact, FillFact, TestKind, TestResult
from workflows.findings import Actor
from workflows.planner import PlanItemKind, next_test_due, plan_course

F = date(2026, 1, 5)  # a first dose


@pytest.mark.parametrize(
    ("last_test_day", "irregular", "next_day"),
    [
        (-1, False, 6),  # the test before the first dose starts the weekly phase
        (0, False, 7),
        (7, False, 14),
        (14, False, 21),
        (21, False, 28),  # four weekly tests...
        (28, False, 56),  # ...then every 4 weeks
        (56, False, 84),
        (28, True, 42),  # or every 2 weeks with irregular cycles
        (42, True, 56),
    ],
)
def test_lenalidomide_cadence_weekly_then_every_4_or_2_weeks(last_test_day, irregular, next_day):
    """Weekly for the first 4 weeks of treatment, then every 4 weeks (2 if irregular)?"""
    phases = V2023.cadence_for(irregular).value
    assert next_test_due(F, F + days(last_test_day), phases) == F + days(next_day)


def test_first_the_screening_test():
    """With nothing on file, is the screening test due now?"""
    day = date(2026, 9, 1)
    facts = first_fill(day, tests=())
    item = plan_course(facts, IPLEDGE, day).get(PlanItemKind.PREGNANCY_TEST)
    assert (item.starts_on, item.ends_on, item.actor) == (day, None, Actor.PRESCRIBER)


@pytest.mark.parametrize(
    ("methods_since", "expected_start"),
    [(-60, 19), (-10, 20)],  # 19 days after screening, or the end of the 30-day lead-in
)
def test_the_confirmation_test_is_due_after_19_days_and_the_lead_in(methods_since, expected_start):
    """Is the confirmation test planned no earlier than every rule allows?"""
    screening_on = date(2026, 9, 1)
    facts = first_fill(
        screening_on,
        tests=(a_test(TestKind.SCREENING, screening_on),),
        methods=two_methods(screening_on + days(methods_since)),
    )
    plan = plan_course(facts, IPLEDGE, screening_on + days(1))
    assert plan.get(PlanItemKind.PREGNANCY_TEST).starts_on == screening_on + days(expected_start)


def test_after_a_missed_first_window_the_lockout_sets_the_date():
    """Version 2021: after missing the first window, is the next test planned 19 days later?"""
    confirmation_on = date(2025, 6, 2)
    plan = plan_course(first_fill(confirmation_on), IPLEDGE, confirmation_on + days(9))
    assert plan.rule_version == "2021"
    assert plan.get(PlanItemKind.PREGNANCY_TEST).starts_on == confirmation_on + days(19)
    assert plan.get(PlanItemKind.DISPENSING_WINDOW) is None


def test_lenalidomide_second_pretest_range():
    """Lenalidomide class: after the first test, the second between day 9 and day 14?"""
    first_on = date(2026, 3, 2)
    facts = lenalidomide_first_fill(
        first_on + days(12), tests=(a_test(TestKind.SCREENING, first_on, sensitivity_miu=50),)
    )
    item = plan_course(facts, LENALIDOMIDE, first_on + days(1)).get(PlanItemKind.PREGNANCY_TEST)
    assert (item.starts_on, item.ends_on) == (first_on + days(9), first_on + days(14))


def test_an_open_window_is_planned_with_its_closing_instant():
    """While the first window is open, does the plan show it with the DNDPA date?"""
    day = date(2026, 11, 2)
    window = plan_course(first_fill(day), IPLEDGE, day).get(PlanItemKind.DISPENSING_WINDOW)
    assert (window.starts_on, window.ends_on) == (day, date(2026, 11, 8))
    assert window.ends_at.isoformat() == "2026-11-08T23:59:59-05:00"


def test_the_monthly_test_range_in_treatment():
    """Test on Oct 1, 30-day fill on Oct 3: next test Oct 20 to Oct 31, refill from Oct 26?"""
    facts = later_fill(date(2026, 10, 1), last_fill_on=date(2026, 10, 3))
    plan = plan_course(facts, IPLEDGE, date(2026, 10, 5))
    test = plan.get(PlanItemKind.PREGNANCY_TEST)
    refill = plan.get(PlanItemKind.REFILL)
    assert (test.starts_on, test.ends_on) == (date(2026, 10, 20), date(2026, 10, 31))
    assert (refill.starts_on, refill.ends_on) == (date(2026, 10, 26), date(2026, 11, 2))


def test_an_overdue_test_is_due_today():
    """When the next test's date has passed, is it due today rather than in the past?"""
    facts = later_fill(date(2026, 10, 1), last_fill_on=date(2026, 10, 3))
    item = plan_course(facts, IPLEDGE, date(2026, 11, 5)).get(PlanItemKind.PREGNANCY_TEST)
    assert (item.starts_on, item.ends_on) == (date(2026, 11, 5), date(2026, 11, 5))


def test_lenalidomide_weekly_test_comes_before_the_refill_window():
    """In the first weeks, is the weekly test due even though no refill is near?"""
    rx = date(2026, 3, 2)
    facts = lenalidomide_first_fill(rx, fills=(FillFact(rx, 28),))
    facts = replace(
        facts, tests=(*facts.tests, a_test(TestKind.MONTHLY, rx + days(7), sensitivity_miu=50))
    )
    item = plan_course(facts, LENALIDOMIDE, rx + days(8)).get(PlanItemKind.PREGNANCY_TEST)
    assert item.ends_on == rx + days(14)


def test_after_the_last_dose():
    """iPLEDGE: post-treatment test 30 days after the last dose; contraception, no blood?"""
    last = date(2026, 12, 15)
    facts = later_fill(date(2026, 11, 20), last_fill_on=date(2026, 11, 22), last_dose_on=last)
    plan = plan_course(facts, IPLEDGE, last + days(1))
    assert plan.get(PlanItemKind.POST_TREATMENT_TEST).starts_on == date(2027, 1, 14)
    assert plan.get(PlanItemKind.CONTRACEPTION_AFTER_TREATMENT).ends_on == date(2027, 1, 14)
    assert plan.get(PlanItemKind.NO_BLOOD_DONATION).ends_on == date(2027, 1, 14)
    assert plan.get(PlanItemKind.PREGNANCY_TEST) is None


def test_after_the_last_dose_lenalidomide():
    """Lenalidomide class: no post-treatment test, 4 weeks of contraception?"""
    last = date(2026, 6, 1)
    facts = lenalidomide_first_fill(date(2026, 3, 2), last_dose_on=last)
    plan = plan_course(facts, LENALIDOMIDE, last)
    assert plan.get(PlanItemKind.POST_TREATMENT_TEST) is None
    assert plan.get(PlanItemKind.CONTRACEPTION_AFTER_TREATMENT).ends_on == last + days(28)


def test_a_positive_test_empties_the_plan_of_tests_and_windows():
    """After a positive result, is nothing planned but certifications?"""
    day = date(2026, 9, 1)
    facts = first_fill(day)
    facts = replace(facts, tests=(*facts.tests, a_test(TestKind.MONTHLY, day, TestResult.POSITIVE)))
    kinds = {item.kind for item in plan_course(facts, IPLEDGE, day).items}
    assert kinds == {PlanItemKind.PRESCRIBER_REACTIVATION, PlanItemKind.PHARMACY_REACTIVATION}


def test_reactivation_dates():
    """Activated September 1, 2025: renew by August 31, 2026 (12 months, our policy)?"""
    day = date(2026, 3, 1)
    facts = first_fill(day, prescriber=CertificationFact(date(2025, 9, 1)), pharmacy=None)
    item = plan_course(facts, IPLEDGE, day).get(PlanItemKind.PRESCRIBER_REACTIVATION)
    assert item.ends_on == date(2026, 8, 31)
    assert plan_course(facts, IPLEDGE, day).get(PlanItemKind.PHARMACY_REACTIVATION) is None
