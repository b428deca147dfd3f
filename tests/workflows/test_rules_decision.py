"""The decision as a whole: versions by date, every finding, and a course that spans a switch."""

from dataclasses import replace
from datetime import UTC, date, datetime

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
)
from workflows.decision import Outcome, evaluate_authorization
from workflows.facts import CycleFacts, TestKind, TestSetting
from workflows.findings import ReasonCode
from workflows.programs import load_programs

SWITCH = date(2026, 8, 8)


def test_an_authorization_carries_its_program_version_and_window():
    """Does an approval say which rules produced it, and until when it can be filled?"""
    decision = evaluate_authorization(
        first_fill(date(2026, 9, 1)), IPLEDGE, eastern(date(2026, 9, 2))
    )
    assert decision.outcome is Outcome.AUTHORIZED
    assert (decision.program, decision.rule_version) == ("ipledge", "2026")
    assert decision.do_not_dispense_after == date(2026, 9, 7)
    assert decision.window_closes_at.isoformat() == "2026-09-07T23:59:59-04:00"
    assert decision.unmet == ()
    assert len(decision.findings) > 10  # an approval explains itself too


def test_a_denial_lists_every_unmet_requirement_with_its_actor():
    """Does one denial list the patient's, the prescriber's and the pharmacy's parts at once?"""
    facts = first_fill(
        date(2026, 9, 1),
        cycle=CycleFacts(),
        pharmacy=None,
        enrollment_signed=False,
    )
    decision = evaluate_authorization(facts, IPLEDGE, eastern(date(2026, 9, 2)))
    assert decision.outcome is Outcome.DENIED
    assert decision.do_not_dispense_after is None and decision.window_closes_at is None
    assert {(f.code, f.actor) for f in decision.unmet} == {
        (ReasonCode.ENROLLMENT_NOT_SIGNED, "patient"),
        (ReasonCode.PRESCRIBER_CONFIRMATION_MISSING, "prescriber"),
        (ReasonCode.PATIENT_ATTESTATION_MISSING, "patient"),
        (ReasonCode.PHARMACY_NOT_CERTIFIED, "pharmacy"),
        (ReasonCode.PHARMACY_TRAINING_MISSING, "pharmacy"),
    }
    assert all(f.message.endswith(".") for f in decision.findings)


def home_tested_course(specimen: date) -> object:
    """A course started under 2021 whose monthly test is a verified home test."""
    facts = later_fill(specimen, last_fill_on=specimen - days(26), home_testing_enabled=True)
    home = a_test(TestKind.MONTHLY, specimen, setting=TestSetting.HOME, verified=True)
    return replace(facts, tests=(*facts.tests[:-1], home))


@pytest.mark.parametrize(
    ("asked_on", "version", "ok"),
    [(SWITCH - days(1), "2021", False), (SWITCH, "2026", True)],
)
def test_a_version_switch_in_the_middle_of_a_course(asked_on, version, ok):
    """The same home test, the day before and the day of the 2026 go-live?"""
    facts = home_tested_course(SWITCH - days(2))
    decision = evaluate_authorization(facts, IPLEDGE, eastern(asked_on, 9))
    assert decision.rule_version == version
    assert decision.authorized is ok
    if not ok:
        assert codes(decision.findings) == {ReasonCode.TEST_SETTING_NOT_ALLOWED}


def test_the_switch_follows_the_configured_go_live_date():
    """With go-live moved to October, is August still decided under 2021?"""
    delayed = load_programs(effective_overrides={"ipledge/2026": date(2026, 10, 1)})["ipledge"]
    facts = home_tested_course(SWITCH - days(2))
    decision = evaluate_authorization(facts, delayed, eastern(SWITCH, 9))
    assert decision.rule_version == "2021"
    assert not decision.authorized


def test_the_switch_happens_at_midnight_eastern():
    """At 03:59 UTC on go-live day it is still the day before in New York: version 2021?"""
    facts = home_tested_course(SWITCH - days(2))
    before = evaluate_authorization(facts, IPLEDGE, datetime(2026, 8, 8, 3, 59, tzinfo=UTC))
    after = evaluate_authorization(facts, IPLEDGE, datetime(2026, 8, 8, 4, 0, tzinfo=UTC))
    assert (before.rule_version, after.rule_version) == ("2021", "2026")


def test_the_lockout_disappears_with_the_2026_version():
    """A first-month re-test 10 days after a missed window: locked out on 2021, fine on 2026?"""
    first, retest = SWITCH - days(12), SWITCH - days(2)
    facts = first_fill(
        retest, tests=(*first_fill(first).tests, a_test(TestKind.CONFIRMATION, retest))
    )
    on_2021 = evaluate_authorization(facts, IPLEDGE, eastern(SWITCH - days(1)))
    on_2026 = evaluate_authorization(facts, IPLEDGE, eastern(SWITCH))
    assert codes(on_2021.findings) == {ReasonCode.LOCKOUT_19_DAY}
    assert on_2026.authorized, on_2026.unmet


def test_the_second_program_decides_with_its_own_numbers():
    """Lenalidomide class: authorized with 28 days and a 50 mIU/mL test, under version 2023?"""
    rx = date(2026, 3, 2)
    decision = evaluate_authorization(lenalidomide_first_fill(rx), LENALIDOMIDE, eastern(rx, 15))
    assert decision.authorized, decision.unmet
    assert (decision.program, decision.rule_version) == ("lenalidomide", "2023")


def test_a_decision_is_a_pure_function():
    """Asked twice with the same facts and instant, is the answer identical?"""
    facts, now = first_fill(date(2026, 9, 1)), eastern(date(2026, 9, 3))
    assert evaluate_authorization(facts, IPLEDGE, now) == evaluate_authorization(
        facts, IPLEDGE, now
    )
