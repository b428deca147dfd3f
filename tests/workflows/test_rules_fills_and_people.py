"""Supply, the monthly order, enrollment and certification."""

from dataclasses import replace
from datetime import date

import pytest

from tests.workflows.rules_builders import (
    IPLEDGE,
    LENALIDOMIDE,
    V2021,
    V2026,
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
from workflows.facts import (
    AuthorizationFact,
    CertificationFact,
    CycleFacts,
    DispenseFacts,
    FillFact,
    RequestFacts,
    TestKind,
)
from workflows.findings import Actor, ReasonCode
from workflows.rules.certification import check_pharmacy, check_prescriber
from workflows.rules.supply import check_dispense

DAY = date(2026, 9, 1)  # version 2026


@pytest.mark.parametrize(
    ("facts", "program", "days_supply", "ok"),
    [
        (first_fill(DAY), IPLEDGE, 30, True),
        (first_fill(DAY), IPLEDGE, 31, False),
        (lenalidomide_first_fill(DAY), LENALIDOMIDE, 28, True),
        (lenalidomide_first_fill(DAY), LENALIDOMIDE, 29, False),
    ],
)
def test_at_most_30_or_28_days_supply(facts, program, days_supply, ok):
    """30 days for iPLEDGE, 28 for the lenalidomide class, not a day more?"""
    facts = replace(facts, request=RequestFacts(days_supply=days_supply, quantity=days_supply))
    decision = evaluate_authorization(facts, program, eastern(DAY, 16))
    assert decision.authorized is ok
    if not ok:
        assert codes(decision.findings) == {ReasonCode.SUPPLY_TOO_LONG}


def test_no_refills():
    """Is a prescription with a refill refused, naming the prescriber?"""
    facts = first_fill(DAY, request=RequestFacts(days_supply=30, quantity=60, refills=1))
    decision = evaluate_authorization(facts, IPLEDGE, eastern(DAY, 16))
    assert [(f.code, f.actor) for f in decision.unmet] == [
        (ReasonCode.REFILLS_NOT_ALLOWED, Actor.PRESCRIBER)
    ]


@pytest.mark.parametrize("year", [2025, 2026])
@pytest.mark.parametrize(("asked_on", "ok"), [((11, 1), False), ((11, 2), True)])
def test_no_new_rma_while_more_than_7_days_remain(year, asked_on, ok):
    """A 30-day fill on October 10 runs out on November 9: an RMA from November 2, not before?"""
    facts = later_fill(date(year, 11, 1), last_fill_on=date(year, 10, 10))
    decision = evaluate_authorization(facts, IPLEDGE, eastern(date(year, *asked_on), 16))
    assert decision.rule_version == {2025: "2021", 2026: "2026"}[year]
    assert decision.authorized is ok
    if not ok:
        early = decision.unmet[0]
        assert early.code is ReasonCode.EARLY_REFILL
        assert early.eligible_on == date(year, 11, 2)  # time alone stands in the way


@pytest.mark.parametrize(("days_left", "ok"), [(8, False), (7, True)])
def test_lenalidomide_next_fill_when_at_most_7_days_of_therapy_remain(days_left, ok):
    """Lenalidomide class: a 28-day fill; the next RMA only with 7 days or fewer left (the
    weekly tests of the first weeks taken)?"""
    rx = date(2026, 4, 1)
    first = lenalidomide_first_fill(rx)
    today = rx + days(28 - days_left)
    weekly = (a_test(TestKind.MONTHLY, rx + days(day), sensitivity_miu=50) for day in (7, 14))
    facts = replace(
        first,
        fills=(FillFact(rx, 28),),
        tests=(*first.tests, *weekly, a_test(TestKind.MONTHLY, today, sensitivity_miu=50)),
        cycle=ready_cycle(today),
    )
    decision = evaluate_authorization(facts, LENALIDOMIDE, eastern(today, 16))
    assert decision.authorized is ok, decision.unmet


def test_one_rma_per_cycle_unless_reversed():
    """Is a second RMA in the same month refused, and allowed once the first is reversed?"""
    issued = AuthorizationFact(DAY + days(6))
    facts = first_fill(DAY)
    twice = replace(facts, cycle=replace(facts.cycle, authorizations=(issued,)))
    assert codes(evaluate_authorization(twice, IPLEDGE, eastern(DAY, 16)).findings) == {
        ReasonCode.CYCLE_ALREADY_AUTHORIZED
    }
    reversed_ = replace(issued, reversed=True)
    again = replace(facts, cycle=replace(facts.cycle, authorizations=(reversed_,)))
    assert evaluate_authorization(again, IPLEDGE, eastern(DAY, 16)).authorized


@pytest.mark.parametrize(
    ("cycle", "expected"),
    [
        (
            CycleFacts(),
            {ReasonCode.PRESCRIBER_CONFIRMATION_MISSING, ReasonCode.PATIENT_ATTESTATION_MISSING},
        ),
        (
            CycleFacts(prescriber_confirmed_at=eastern(DAY, 10)),
            {ReasonCode.PATIENT_ATTESTATION_MISSING},
        ),
        (
            CycleFacts(
                prescriber_confirmed_at=eastern(DAY, 10),
                patient_attested_at=eastern(DAY, 9),
                quiz_passed=True,
                patient_confirmed_methods=("implant", "male_latex_condom"),
            ),
            {ReasonCode.ATTESTATION_OUT_OF_ORDER},
        ),
        (
            CycleFacts(
                prescriber_confirmed_at=eastern(DAY, 10),
                patient_attested_at=eastern(DAY, 11),
                quiz_passed=False,
                patient_confirmed_methods=("implant", "male_latex_condom"),
            ),
            {ReasonCode.QUIZ_NOT_PASSED},
        ),
    ],
)
def test_the_monthly_order(cycle, expected):
    """Prescriber first, then the patient (who passes the quiz), then the pharmacy?"""
    decision = evaluate_authorization(first_fill(DAY, cycle=cycle), IPLEDGE, eastern(DAY, 16))
    assert codes(decision.findings) == expected


def test_the_patients_missing_answers_are_the_patients_to_give():
    """Does the attestation denial name the patient, in the API's words?"""
    cycle = CycleFacts(prescriber_confirmed_at=eastern(DAY, 10))
    decision = evaluate_authorization(first_fill(DAY, cycle=cycle), IPLEDGE, eastern(DAY, 16))
    (reason,) = decision.unmet
    assert (reason.actor, reason.message) == (
        Actor.PATIENT,
        "The patient has not answered this month's questions.",
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"enrollment_signed": False}, {ReasonCode.ENROLLMENT_NOT_SIGNED}),
        ({"counseled_on": None}, {ReasonCode.COUNSELING_MISSING}),
        ({"category": "adult_male"}, {ReasonCode.CATEGORY_UNKNOWN}),
        ({"last_dose_on": DAY - days(1)}, {ReasonCode.TREATMENT_ENDED}),
    ],
)
def test_enrollment_and_category(changes, expected):
    """Signed enrollment, recorded counseling, a category of this program, treatment running?"""
    decision = evaluate_authorization(first_fill(DAY, **changes), IPLEDGE, eastern(DAY, 16))
    assert codes(decision.findings) == expected


@pytest.mark.parametrize(
    ("certification", "on", "ok"),
    [
        (CertificationFact(date(2025, 9, 1)), date(2026, 8, 31), True),
        (CertificationFact(date(2025, 9, 1)), date(2026, 9, 1), False),  # 12 months later
        (CertificationFact(date(2024, 2, 29)), date(2025, 2, 27), True),
        (CertificationFact(date(2024, 2, 29)), date(2025, 2, 28), False),
        (CertificationFact(date(2026, 1, 1), revoked_on=date(2026, 3, 1)), date(2026, 3, 1), False),
        (CertificationFact(date(2026, 5, 1)), date(2026, 4, 30), False),
        (None, date(2026, 4, 30), False),
    ],
)
def test_prescriber_certification_in_force(certification, on, ok):
    """Activated every 12 months (29 February included), revocable, required?"""
    facts = first_fill(on, prescriber=certification)
    (finding,) = check_prescriber(facts, V2021, on)
    assert finding.met is ok
    assert finding.code is ReasonCode.PRESCRIBER_NOT_CERTIFIED


@pytest.mark.parametrize(
    ("version", "trained_on", "expected"),
    [
        (V2021, None, set()),
        (V2026, None, {ReasonCode.PHARMACY_TRAINING_MISSING}),
        (V2026, DAY - days(300), set()),
        (V2026, DAY - days(400), {ReasonCode.PHARMACY_TRAINING_MISSING}),
    ],
)
def test_pharmacy_certification_and_2026_training(version, trained_on, expected):
    """From 2026, does a pharmacy also need a staff-training record from the last 12 months?"""
    pharmacy = CertificationFact(DAY - days(30), staff_trained_on=trained_on)
    facts = first_fill(DAY, pharmacy=pharmacy)
    assert codes(check_pharmacy(facts, version, DAY)) == expected


@pytest.mark.parametrize(
    ("dispensed_at", "guide", "days_supply", "expected"),
    [
        (eastern(DAY + days(6), 23, 59, 59), True, 30, set()),
        (eastern(DAY + days(7), 0), True, 30, {ReasonCode.WINDOW_EXPIRED}),
        (eastern(DAY, 17), False, 30, {ReasonCode.MEDICATION_GUIDE_NOT_GIVEN}),
        (eastern(DAY, 17), True, 31, {ReasonCode.SUPPLY_TOO_LONG}),
    ],
)
def test_a_dispense_under_an_rma(dispensed_at, guide, days_supply, expected):
    """By the DNDPA date, within the supply cap, with the Medication Guide?"""
    rma = AuthorizationFact(DAY + days(6))
    dispense = DispenseFacts(dispensed_at, days_supply, guide)
    assert codes(check_dispense(rma, dispense, V2026)) == expected
