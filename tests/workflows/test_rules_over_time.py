"""The rules that hold over a course's life (domain.md 3b), at their boundaries: one month per
fill, a confirmation and an attestation for this window only, the cadence as a check, stops
that lead alone, and what a pharmacy is told."""

from dataclasses import replace
from datetime import date

import pytest

from tests.workflows.rules_builders import (
    IPLEDGE,
    LENALIDOMIDE,
    a_test,
    codes,
    days,
    eastern,
    first_fill,
    later_fill,
    lenalidomide_first_fill,
    ready_cycle,
)
from workflows.decision import evaluate_authorization
from workflows.facts import AuthorizationFact, CycleFacts, FillFact, TestKind, TestResult
from workflows.findings import ReasonCode
from workflows.pharmacy_reasons import PharmacyCode, for_pharmacy

FILLED = date(2026, 11, 2)


@pytest.mark.parametrize(("specimen_gap", "counts"), [(0, False), (1, True)])
def test_a_monthly_test_counts_only_after_the_last_fill(specimen_gap, counts):
    """A test of the fill's own day backed that fill; is only a later one this month's?"""
    specimen = FILLED + days(specimen_gap)
    facts = later_fill(specimen, FILLED, fills=(FillFact(FILLED - days(30), 30),
                                                FillFact(FILLED, 5)))
    decision = evaluate_authorization(facts, IPLEDGE, eastern(specimen + days(2)))
    assert (ReasonCode.PREGNANCY_TEST_MISSING not in codes(decision.findings)) is counts


@pytest.mark.parametrize(("confirmed_gap", "counts"), [(-1, False), (0, True)])
def test_a_confirmation_counts_only_for_the_window_it_followed(confirmed_gap, counts):
    """A confirmation from the day before the window's specimen was for another month."""
    specimen = date(2026, 12, 1)
    facts = later_fill(specimen, FILLED, cycle=ready_cycle(specimen + days(confirmed_gap)))
    decision = evaluate_authorization(facts, IPLEDGE, eastern(specimen, 15))
    unmet = codes(decision.findings)
    assert (ReasonCode.PRESCRIBER_CONFIRMATION_MISSING not in unmet) is counts
    assert (ReasonCode.PATIENT_ATTESTATION_MISSING not in unmet) is counts


def test_an_attestation_before_this_windows_test_is_not_reused():
    """The prescriber confirmed after the new test, but the patient answered before it."""
    specimen = date(2026, 12, 1)
    cycle = CycleFacts(prescriber_confirmed_at=eastern(specimen, 10),
                       patient_attested_at=eastern(specimen - days(1), 11), quiz_passed=True,
                       patient_confirmed_methods=("implant", "male_latex_condom"))
    decision = evaluate_authorization(later_fill(specimen, FILLED, cycle=cycle), IPLEDGE,
                                      eastern(specimen, 15))
    assert codes(decision.findings) == {ReasonCode.PATIENT_ATTESTATION_MISSING}


def _lenalidomide_second_fill(weekly_days: tuple[int, ...], asked_day: int):
    """First fill on day 0 (28 days), weekly tests on the given days, asked on `asked_day`."""
    start = date(2026, 10, 5)
    tests = [*lenalidomide_first_fill(start).tests,
             *(a_test(TestKind.MONTHLY, start + days(d), sensitivity_miu=50) for d in weekly_days)]
    facts = lenalidomide_first_fill(start, tests=tuple(tests), fills=(FillFact(start, 28),),
                                    cycle=ready_cycle(start + days(asked_day)))
    return evaluate_authorization(facts, LENALIDOMIDE, eastern(start + days(asked_day), 15))


@pytest.mark.parametrize(("weekly_days", "kept"), [
    ((7, 14, 21), True),   # weekly in the first 4 weeks
    ((21,), False),        # only the test before the second fill: 21 days after the first
    ((7, 14, 22), False),  # day 22 is 8 days after day 14: one day late
    ((7, 15, 21), True),   # the fill's own test follows day 15 within a week
])
def test_lenalidomide_weekly_tests_are_a_check_before_the_second_fill(weekly_days, kept):
    """Is a second fill refused when its test does not follow a weekly test on time?"""
    decision = _lenalidomide_second_fill(weekly_days, weekly_days[-1])
    cadence = [f for f in decision.findings if f.code is ReasonCode.TEST_CADENCE_MISSED]
    assert [f.met for f in cadence] == [kept]
    assert decision.authorized is kept


def test_a_late_test_is_healed_by_the_next_test_on_time():
    """Not a lockout: a test taken within a week of the late one backs the fill."""
    decision = _lenalidomide_second_fill((21, 23), 23)
    assert ReasonCode.TEST_CADENCE_MISSED not in codes(decision.findings)


def test_ipledge_keeps_no_cadence_check():
    """iPLEDGE's 30-day cadence is a planner reminder: a window of its own each month."""
    facts = later_fill(FILLED + days(45), FILLED)
    decision = evaluate_authorization(facts, IPLEDGE, eastern(FILLED + days(45), 15))
    assert ReasonCode.TEST_CADENCE_MISSED not in {f.code for f in decision.findings}


@pytest.mark.parametrize("stop", ["positive", "ended"])
def test_a_stop_leads_the_denial_alone(stop):
    """A positive test or the end of treatment: no to-do list that could not help."""
    day = date(2026, 12, 1)
    facts = later_fill(day, FILLED, cycle=None)
    if stop == "positive":
        facts = replace(facts, tests=(*facts.tests, a_test(TestKind.MONTHLY, day,
                                                           TestResult.POSITIVE)))
    else:
        facts = replace(facts, last_dose_on=day - days(1))
    decision = evaluate_authorization(facts, IPLEDGE, eastern(day, 15))
    assert len(decision.unmet) == 1
    assert decision.unmet[0].code in (ReasonCode.POSITIVE_PREGNANCY_TEST,
                                      ReasonCode.TREATMENT_ENDED)
    told = for_pharmacy(decision.findings)
    assert [r.code for r in told] == [PharmacyCode.TREATMENT_STOPPED]


def test_a_pharmacy_reads_who_acts_and_from_when_only():
    """Clinical findings become one reason per pharmacy code, dated only when waiting is
    enough for all of them, with no result, method, date or category in the words."""
    confirmation = date(2026, 10, 20)
    facts = first_fill(confirmation, cycle=None)
    decision = evaluate_authorization(facts, IPLEDGE, eastern(confirmation, 15))
    told = for_pharmacy(decision.findings)
    assert [r.code for r in told] == [PharmacyCode.PRESCRIBER_ACTION_NEEDED,
                                      PharmacyCode.PATIENT_ACTION_NEEDED]
    for reason in told:
        assert reason.eligible_on is None
        assert not any(word in reason.message.lower()
                       for word in ("positive", "negative", "test", "implant", "condom", "2026"))
    held = replace(ready_cycle(confirmation),
                   authorizations=(AuthorizationFact(confirmation + days(6)),))
    decision = evaluate_authorization(replace(first_fill(confirmation), cycle=held), IPLEDGE,
                                      eastern(confirmation, 15))
    elsewhere = for_pharmacy(decision.findings, held_elsewhere=True)
    assert [r.code for r in elsewhere] == [PharmacyCode.RMA_OPEN_ELSEWHERE]


@pytest.mark.parametrize(("gap", "eligible"), [(18, True), (19, False)])
def test_the_confirmation_interval_says_from_when(gap, eligible):
    """A confirmation 18 days after the screening: is the day a new one counts given?"""
    confirmation = date(2026, 10, 20)
    facts = first_fill(confirmation)
    screening = a_test(TestKind.SCREENING, confirmation - days(gap))
    facts = replace(facts, tests=(screening, facts.tests[1]))
    decision = evaluate_authorization(facts, IPLEDGE, eastern(confirmation, 15))
    early = [f for f in decision.unmet if f.code is ReasonCode.CONFIRMATION_TOO_EARLY]
    if eligible:
        assert early[0].eligible_on == screening.specimen_on + days(19)
    else:
        assert not early
