"""Pregnancy tests: which results count, when, where, and what a positive result does."""

from dataclasses import replace
from datetime import date

import pytest

from tests.workflows.rules_builders import (
    IPLEDGE,
    LENALIDOMIDE,
    V2021,
    V2023,
    V2026,
    a_test,
    codes,
    days,
    eastern,
    first_fill,
    later_fill,
    lenalidomide_first_fill,
)
from workflows.decision import evaluate_authorization
from workflows.facts import TestKind, TestResult, TestSetting
from workflows.findings import Actor, ReasonCode
from workflows.rules.pregnancy_tests import check_current_test, check_pretreatment_tests

IN_2021 = date(2025, 6, 2)
IN_2026 = date(2026, 9, 1)


@pytest.mark.parametrize(
    ("gap", "expected"),
    [(18, {ReasonCode.CONFIRMATION_TOO_EARLY}), (19, set()), (20, set())],
)
@pytest.mark.parametrize("confirmation_on", [IN_2021, IN_2026])
def test_confirmation_at_least_19_days_after_screening(gap, expected, confirmation_on):
    """Specimens 18 days apart refused, 19 accepted, in both iPLEDGE versions?"""
    facts = first_fill(confirmation_on)
    screening = a_test(TestKind.SCREENING, confirmation_on - days(gap), setting=TestSetting.OFFICE)
    facts = replace(facts, tests=(screening, facts.tests[1]))
    decision = evaluate_authorization(facts, IPLEDGE, eastern(confirmation_on, 16))
    assert codes(decision.findings) == expected


def test_too_early_confirmation_says_when_a_new_test_can_be_taken():
    """Does the denial give the date from which a new confirmation test would count?"""
    facts = first_fill(IN_2021)
    screening = a_test(TestKind.SCREENING, IN_2021 - days(18), setting=TestSetting.OFFICE)
    findings = check_pretreatment_tests(
        replace(facts, tests=(screening, facts.tests[1])), V2021, IN_2021
    )
    unmet = [f for f in findings if not f.met]
    assert "June 3, 2025" in unmet[0].message
    assert unmet[0].actor is Actor.PRESCRIBER


def test_no_screening_test_is_reported():
    """Without a screening test, is the first RMA refused for that reason?"""
    facts = first_fill(IN_2021)
    facts = replace(facts, tests=facts.tests[1:])
    decision = evaluate_authorization(facts, IPLEDGE, eastern(IN_2021, 16))
    assert codes(decision.findings) == {ReasonCode.SCREENING_TEST_MISSING}


@pytest.mark.parametrize(
    ("day", "kind", "setting", "counts"),
    [
        (IN_2021, TestKind.CONFIRMATION, TestSetting.LABORATORY, True),
        (IN_2021, TestKind.CONFIRMATION, TestSetting.OFFICE, False),  # 2021: CLIA laboratory
        (IN_2026, TestKind.CONFIRMATION, TestSetting.OFFICE, True),  # 2026: medical setting
        (IN_2026, TestKind.CONFIRMATION, TestSetting.CLINIC, True),
        (IN_2026, TestKind.CONFIRMATION, TestSetting.HOME, False),  # not before the first dose
    ],
)
def test_settings_before_the_first_dose(day, kind, setting, counts):
    """Which settings does each version accept for the confirmation test?"""
    facts = first_fill(day)
    facts = replace(facts, tests=(facts.tests[0], a_test(kind, day, setting=setting)))
    decision = evaluate_authorization(facts, IPLEDGE, eastern(day, 16))
    assert decision.authorized is counts
    if not counts:
        assert codes(decision.findings) == {ReasonCode.TEST_SETTING_NOT_ALLOWED}


@pytest.mark.parametrize(
    ("enabled", "verified", "expected"),
    [
        (True, True, set()),
        (True, False, {ReasonCode.HOME_TEST_NOT_VERIFIED}),
        (False, True, {ReasonCode.HOME_TEST_NOT_VERIFIED}),
    ],
)
def test_home_tests_in_2026_need_enabling_and_verification(enabled, verified, expected):
    """Does a monthly home test count only when enabled for the patient and verified?"""
    specimen = date(2026, 11, 2)
    facts = later_fill(specimen, last_fill_on=date(2026, 10, 8), home_testing_enabled=enabled)
    home = a_test(TestKind.MONTHLY, specimen, setting=TestSetting.HOME, verified=verified)
    facts = replace(facts, tests=(*facts.tests[:-1], home))
    decision = evaluate_authorization(facts, IPLEDGE, eastern(specimen, 16))
    assert codes(decision.findings) == expected


def test_home_tests_do_not_count_in_2021():
    """Version 2021: is a verified home test still not a laboratory test?"""
    specimen = date(2025, 11, 3)
    facts = later_fill(specimen, last_fill_on=date(2025, 10, 9), home_testing_enabled=True)
    home = a_test(TestKind.MONTHLY, specimen, setting=TestSetting.HOME, verified=True)
    facts = replace(facts, tests=(*facts.tests[:-1], home))
    decision = evaluate_authorization(facts, IPLEDGE, eastern(specimen, 16))
    assert codes(decision.findings) == {ReasonCode.TEST_SETTING_NOT_ALLOWED}


def test_a_counting_test_is_not_hidden_by_a_later_one_that_does_not_count():
    """Does an unverified home test after a good lab test leave the lab test's window open?"""
    specimen = date(2026, 11, 2)
    facts = later_fill(specimen, last_fill_on=date(2026, 10, 8))
    home = a_test(TestKind.MONTHLY, specimen + days(1), setting=TestSetting.HOME)
    facts = replace(facts, tests=(*facts.tests, home))
    assert evaluate_authorization(facts, IPLEDGE, eastern(specimen + days(2))).authorized


@pytest.mark.parametrize(
    ("version", "sensitivity", "counts"),
    [
        (V2021, 20, True),
        (V2021, 25, True),
        (V2021, 50, False),
        (V2023, 50, True),
        (V2023, 100, False),
    ],
)
def test_sensitivity(version, sensitivity, counts):
    """Must a test detect hCG at 25 (iPLEDGE) or 50 (lenalidomide class) mIU/mL or lower?"""
    day = date(2025, 6, 2)
    facts = first_fill(day) if version.program == "ipledge" else lenalidomide_first_fill(day)
    test = a_test(TestKind.CONFIRMATION, day, sensitivity_miu=sensitivity)
    facts = replace(facts, tests=(facts.tests[0], test))
    findings = check_current_test(facts, version, day)
    assert all(f.met for f in findings) is counts
    if not counts:
        assert {f.code for f in findings} == {ReasonCode.TEST_SENSITIVITY_TOO_LOW}


@pytest.mark.parametrize("when", [-30, 0, 3])
def test_a_positive_result_stops_everything(when):
    """Is any positive result, even before a later negative one, a denial for the prescriber?"""
    specimen = date(2026, 11, 2)
    facts = later_fill(specimen, last_fill_on=date(2026, 10, 8))
    positive = a_test(TestKind.MONTHLY, specimen + days(when), result=TestResult.POSITIVE)
    facts = replace(facts, tests=(*facts.tests, positive))
    decision = evaluate_authorization(facts, IPLEDGE, eastern(specimen + days(4)))
    assert not decision.authorized
    blocking = [f for f in decision.unmet if f.code is ReasonCode.POSITIVE_PREGNANCY_TEST]
    assert blocking and blocking[0].actor is Actor.PRESCRIBER


def test_an_invalid_result_is_no_test():
    """Does an invalid result leave the patient without a test rather than with a negative?"""
    day = IN_2026
    facts = first_fill(day)
    invalid = a_test(TestKind.CONFIRMATION, day, result=TestResult.INVALID)
    facts = replace(facts, tests=(facts.tests[0], invalid))
    decision = evaluate_authorization(facts, IPLEDGE, eastern(day, 16))
    assert ReasonCode.PREGNANCY_TEST_MISSING in codes(decision.findings)


@pytest.mark.parametrize(
    ("screening_days_before", "expected"),
    [
        (9, {ReasonCode.SCREENING_TEST_TIMING}),
        (10, set()),
        (14, set()),
        (15, {ReasonCode.SCREENING_TEST_TIMING}),
    ],
)
def test_lenalidomide_first_test_10_to_14_days_before(screening_days_before, expected):
    """Is the first test 10 to 14 days before the first prescription?"""
    rx = date(2026, 3, 2)
    facts = lenalidomide_first_fill(rx)
    first = a_test(TestKind.SCREENING, rx - days(screening_days_before), sensitivity_miu=50)
    facts = replace(facts, tests=(first, facts.tests[1]))
    decision = evaluate_authorization(facts, LENALIDOMIDE, eastern(rx, 14))
    assert codes(decision.findings) == expected


@pytest.mark.parametrize(
    ("second_days_before", "expected"),
    [(0, set()), (1, set()), (2, {ReasonCode.CONFIRMATION_TEST_TOO_OLD})],
)
def test_lenalidomide_second_test_within_24_hours_before(second_days_before, expected):
    """Is the second pre-test within 24 hours (the same or the previous day) of the prescription?"""
    rx = date(2026, 3, 2)
    facts = lenalidomide_first_fill(rx)
    second = a_test(TestKind.CONFIRMATION, rx - days(second_days_before), sensitivity_miu=50)
    facts = replace(facts, tests=(facts.tests[0], second))
    decision = evaluate_authorization(facts, LENALIDOMIDE, eastern(rx, 14))
    assert codes(decision.findings) == expected


def test_the_prescription_date_is_the_prescribers_confirmation():
    """When the pharmacy asks days later, are the tests still timed from the prescription?"""
    rx = date(2026, 3, 2)
    decision = evaluate_authorization(
        lenalidomide_first_fill(rx), LENALIDOMIDE, eastern(rx + days(3))
    )
    assert decision.authorized, decision.unmet


def test_monthly_test_missing_in_treatment():
    """In treatment without this month's test, is the missing test named?"""
    facts = later_fill(date(2026, 11, 2), last_fill_on=date(2026, 10, 8))
    facts = replace(facts, tests=facts.tests[:-1])
    decision = evaluate_authorization(facts, IPLEDGE, eastern(date(2026, 11, 2), 16))
    assert codes(decision.findings) == {ReasonCode.PREGNANCY_TEST_MISSING}
    assert V2026.version == decision.rule_version
