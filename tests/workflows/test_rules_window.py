"""The window: day 1 is the specimen date, day 7 ends at 23:59:59 Eastern, whatever the season."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.workflows.rules_builders import (
    IPLEDGE,
    LENALIDOMIDE,
    V2021,
    a_test,
    cannot_get_pregnant,
    codes,
    days,
    eastern,
    first_fill,
    later_fill,
    lenalidomide_first_fill,
)
from workflows.dates import add_months, local_date
from workflows.decision import evaluate_authorization
from workflows.facts import TestKind
from workflows.findings import ReasonCode
from workflows.rules.window import current_window


def utc(*fields: int) -> datetime:
    """An instant in UTC, as a server in another zone would pass it."""
    return datetime(*fields, tzinfo=UTC)


@pytest.mark.parametrize(
    ("specimen", "last_inside", "first_outside", "offset_hours"),
    [
        # an ordinary winter week
        (date(2026, 1, 21), utc(2026, 1, 28, 4, 59, 59), utc(2026, 1, 28, 5), -5),
        # March: clocks go forward on Sunday March 8, 2026, inside the window
        (date(2026, 3, 3), utc(2026, 3, 10, 3, 59, 59), utc(2026, 3, 10, 4), -4),
        # the window's last day is the day the clocks go forward
        (date(2026, 3, 2), utc(2026, 3, 9, 3, 59, 59), utc(2026, 3, 9, 4), -4),
        # November: clocks go back on Sunday November 1, 2026, inside the window
        (date(2026, 10, 28), utc(2026, 11, 4, 4, 59, 59), utc(2026, 11, 4, 5), -5),
        # the window's last day is the day the clocks go back
        (date(2026, 10, 26), utc(2026, 11, 2, 4, 59, 59), utc(2026, 11, 2, 5), -5),
        # 29 February inside the window (2028 is a leap year)
        (date(2028, 2, 24), utc(2028, 3, 2, 4, 59, 59), utc(2028, 3, 2, 5), -5),
        # the window starts on 29 February
        (date(2028, 2, 29), utc(2028, 3, 7, 4, 59, 59), utc(2028, 3, 7, 5), -5),
        # year end
        (date(2026, 12, 28), utc(2027, 1, 4, 4, 59, 59), utc(2027, 1, 4, 5), -5),
        # version 2021 in summer time
        (date(2025, 7, 1), utc(2025, 7, 8, 3, 59, 59), utc(2025, 7, 8, 4), -4),
    ],
)
def test_day_7_at_235959_eastern_is_inside_and_day_8_is_outside(
    specimen, last_inside, first_outside, offset_hours
):
    """Is the last second of day 7 (Eastern, in UTC terms) inside, and the next one outside?"""
    facts = first_fill(specimen)
    inside = evaluate_authorization(facts, IPLEDGE, last_inside)
    outside = evaluate_authorization(facts, IPLEDGE, first_outside)
    assert inside.authorized, inside.unmet
    assert inside.do_not_dispense_after == specimen + days(6)
    assert inside.window_closes_at == last_inside
    assert inside.window_closes_at.utcoffset() == timedelta(hours=offset_hours)
    assert inside.window_closes_at.astimezone(inside.window_closes_at.tzinfo).hour == 23
    assert codes(outside.findings) == {ReasonCode.WINDOW_EXPIRED}


@pytest.mark.parametrize("hour", [0, 12, 23])
def test_day_1_is_the_specimen_date(hour):
    """Is the window open through the whole specimen day, and does it close on day 7?"""
    specimen = date(2026, 5, 4)
    decision = evaluate_authorization(first_fill(specimen), IPLEDGE, eastern(specimen, hour, 30))
    assert decision.authorized, decision.unmet
    assert decision.do_not_dispense_after == date(2026, 5, 10)


def test_a_naive_instant_is_refused():
    """Is a "now" without a zone refused rather than read in the server's zone?"""
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate_authorization(first_fill(date(2026, 5, 4)), IPLEDGE, datetime(2026, 5, 5, 12))


def test_monthly_windows_follow_the_monthly_test():
    """In treatment, does the monthly test open the window?"""
    facts = later_fill(date(2026, 11, 2), last_fill_on=date(2026, 10, 8))
    assert evaluate_authorization(facts, IPLEDGE, eastern(date(2026, 11, 8), 23, 59, 59)).authorized
    late = evaluate_authorization(facts, IPLEDGE, eastern(date(2026, 11, 9), 0))
    assert codes(late.findings) == {ReasonCode.WINDOW_EXPIRED}


@pytest.mark.parametrize(
    ("first_test", "retest_gap", "on_2026", "expected"),
    [
        (date(2025, 3, 2), 18, False, {ReasonCode.LOCKOUT_19_DAY}),
        (date(2025, 3, 2), 19, False, set()),
        (date(2025, 3, 2), 8, False, {ReasonCode.LOCKOUT_19_DAY}),
        (date(2026, 9, 1), 8, True, set()),  # version 2026: no lockout
    ],
)
def test_the_19_day_lockout_after_a_missed_first_window(first_test, retest_gap, on_2026, expected):
    """After missing the first window, must the next specimen wait 19 days (2021 only)?"""
    retest = first_test + days(retest_gap)
    facts = first_fill(retest, tests=(*first_fill(first_test).tests, *first_fill(retest).tests[1:]))
    decision = evaluate_authorization(facts, IPLEDGE, eastern(retest, 15))
    assert decision.rule_version == ("2026" if on_2026 else "2021")
    assert codes(decision.findings) == expected


def test_the_lockout_only_applies_in_the_first_month():
    """Once treatment has started, does a new test open a new window at once (2021)?"""
    facts = later_fill(date(2025, 5, 20), last_fill_on=date(2025, 5, 1))
    missed = a_test(TestKind.MONTHLY, date(2025, 5, 10))
    facts = replace(facts, tests=(*facts.tests, missed))
    decision = evaluate_authorization(facts, IPLEDGE, eastern(date(2025, 5, 24)))
    assert decision.rule_version == "2021"
    assert ReasonCode.LOCKOUT_19_DAY not in {f.code for f in decision.findings}


@pytest.mark.parametrize(
    ("asked_on", "inside"),
    [(date(2025, 4, 1) + days(29), True), (date(2025, 4, 1) + days(30), False)],
)
def test_cannot_get_pregnant_2021_window_is_30_days_from_the_confirmation(asked_on, inside):
    """Version 2021: day 30 after the office visit inside, day 31 outside?"""
    facts = cannot_get_pregnant(date(2025, 4, 1))
    decision = evaluate_authorization(facts, IPLEDGE, eastern(asked_on, 23, 59, 59))
    assert decision.rule_version == "2021"
    if inside:
        assert decision.authorized, decision.unmet
        assert decision.do_not_dispense_after == date(2025, 4, 30)
    else:
        assert codes(decision.findings) == {ReasonCode.WINDOW_EXPIRED}


def test_cannot_get_pregnant_2026_window_is_7_days_from_issue():
    """Version 2026: no monthly confirmation; the RMA stays valid 7 days from issue?"""
    facts = cannot_get_pregnant(date(2026, 9, 1), cycle=None)
    decision = evaluate_authorization(facts, IPLEDGE, eastern(date(2026, 9, 20)))
    assert decision.authorized, decision.unmet
    assert decision.do_not_dispense_after == date(2026, 9, 26)


def test_cannot_get_pregnant_2021_needs_the_monthly_confirmation():
    """Version 2021: without this month's confirmation, is the RMA refused?"""
    facts = cannot_get_pregnant(date(2025, 4, 1), cycle=None)
    decision = evaluate_authorization(facts, IPLEDGE, eastern(date(2025, 4, 2)))
    assert codes(decision.findings) == {ReasonCode.PRESCRIBER_CONFIRMATION_MISSING}


def test_lenalidomide_authorization_lasts_7_days_from_the_last_test():
    """Lenalidomide class, can get pregnant: DNDPA = day 7 from the last test?"""
    rx = date(2026, 3, 2)
    facts = lenalidomide_first_fill(rx)
    decision = evaluate_authorization(facts, LENALIDOMIDE, eastern(rx, 13))
    assert decision.authorized, decision.unmet
    assert decision.do_not_dispense_after == date(2026, 3, 8)
    assert decision.window_closes_at.utcoffset() == timedelta(hours=-4)  # DST began that day


def test_lenalidomide_others_get_30_days_from_issue():
    """Lenalidomide class, adult male: valid 30 days from issue?"""
    rx = date(2026, 3, 2)
    facts = lenalidomide_first_fill(rx, category="adult_male", tests=())
    decision = evaluate_authorization(facts, LENALIDOMIDE, eastern(rx + days(3), 13))
    assert decision.authorized, decision.unmet
    assert decision.do_not_dispense_after == rx + days(3 + 29)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
    ],
)
def test_month_arithmetic_clamps_to_the_month_end(start, months, expected):
    """Do activations counted in months land on real days (leap years, short months)?"""
    assert add_months(start, months) == expected


def test_the_local_date_is_the_program_date_not_utc():
    """At 01:00 UTC on March 10, is it still March 9 in New York?"""
    assert local_date(utc(2026, 3, 10, 1), V2021.zone) == date(2026, 3, 9)


ASKED_IN_TURN = [  # (facts, version, day): each differs from the one before in one way
    ("retested", "2026", date(2026, 3, 5)),
    ("retested", "2026", date(2026, 3, 5)),   # the same question again
    ("retested", "2026", date(2026, 3, 9)),   # later: the retest of March 6 now counts
    ("first", "2026", date(2026, 3, 9)),      # other facts: no retest, the window has closed
    ("first", "2021", date(2026, 3, 9)),      # another version
    ("retested", "2026", date(2026, 3, 5)),   # back to the first question
]


def test_the_window_follows_the_facts_version_and_day_asked_in_turn():
    """Asked in turn about other facts, another version and other days, does each answer
    belong to what was asked (a retest opens a later window; going back gives the first)?"""
    first = first_fill(date(2026, 3, 2))
    retested = replace(first, tests=(*first.tests, a_test(TestKind.CONFIRMATION,
                                                          date(2026, 3, 6))))
    facts_for = {"first": first, "retested": retested}
    windows = []
    for name, version, day in ASKED_IN_TURN:
        facts, rules = facts_for[name], IPLEDGE.version(version)
        windows.append(current_window(facts, rules, day).opens_on)
    assert windows[1:4] == [date(2026, 3, 2), date(2026, 3, 6), date(2026, 3, 2)]


@pytest.mark.parametrize(("retest_gap", "eligible_gap"), [(8, 19), (18, 19)])
def test_the_19_day_lockout_says_from_when(retest_gap, eligible_gap):
    """Does the lockout's denial carry the day a new specimen counts (day 19 after the missed
    one), so the worklist can show "Next test from ..."?"""
    first_test = date(2025, 3, 2)
    retest = first_test + days(retest_gap)
    facts = first_fill(retest, tests=(*first_fill(first_test).tests, *first_fill(retest).tests[1:]))
    decision = evaluate_authorization(facts, IPLEDGE, eastern(retest, 15))
    lockout = next(f for f in decision.unmet if f.code is ReasonCode.LOCKOUT_19_DAY)
    assert lockout.eligible_on == first_test + days(eligible_gap)
    assert lockout.actor == "prescriber"
