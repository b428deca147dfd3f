"""Contraception: two methods by class, abstinence, refused methods, lead-in, the patient's word."""

from dataclasses import replace
from datetime import date, timedelta

import pytest

from tests.workflows.rules_builders import (
    IPLEDGE,
    LENALIDOMIDE,
    V2021,
    V2023,
    codes,
    days,
    eastern,
    first_fill,
    lenalidomide_first_fill,
    ready_cycle,
)
from workflows.decision import evaluate_authorization
from workflows.facts import CycleFacts, MethodFact
from workflows.findings import ReasonCode
from workflows.rules.contraception import check_contraception, covered_since

DAY = date(2025, 6, 2)  # version 2021
LONG_AGO = DAY - timedelta(days=60)


def using(*names: str, since: date = LONG_AGO) -> tuple[MethodFact, ...]:
    """Methods in use from ``since``."""
    return tuple(MethodFact(name, since) for name in names)


@pytest.mark.parametrize(
    ("methods", "expected"),
    [
        (("implant", "male_latex_condom"), set()),  # primary + secondary
        (("intrauterine_device", "partner_vasectomy"), set()),  # two primary
        (("abstinence",), set()),  # committed abstinence
        (
            ("male_latex_condom", "diaphragm_with_spermicide"),
            {ReasonCode.CONTRACEPTION_INSUFFICIENT},
        ),
        (("implant",), {ReasonCode.CONTRACEPTION_INSUFFICIENT}),
        (
            ("progestin_only_pill", "male_latex_condom"),
            {ReasonCode.CONTRACEPTION_INSUFFICIENT, ReasonCode.UNACCEPTABLE_METHOD},
        ),
        (
            ("crystals", "male_latex_condom"),
            {ReasonCode.CONTRACEPTION_INSUFFICIENT, ReasonCode.UNKNOWN_METHOD},
        ),
        # a stray unacceptable entry does not block a patient who is otherwise covered
        (("implant", "male_latex_condom", "progestin_only_pill"), set()),
    ],
)
def test_two_methods_by_class(methods, expected):
    """Two primary, or a primary and a secondary, or abstinence; never the mini-pill?"""
    facts = first_fill(DAY, methods=using(*methods))
    findings = check_contraception(facts, V2021, DAY)
    assert codes(findings) == expected


def test_the_unacceptable_method_is_named_as_the_reason():
    """Is the progestin-only pill shown as the reason when chosen?"""
    facts = first_fill(DAY, methods=using("progestin_only_pill", "male_latex_condom"))
    reason = [
        f
        for f in check_contraception(facts, V2021, DAY)
        if f.code is ReasonCode.UNACCEPTABLE_METHOD
    ]
    assert "progestin only pill" in reason[0].message


@pytest.mark.parametrize(("days_on_methods", "counts"), [(29, False), (30, True)])
@pytest.mark.parametrize("confirmation_on", [DAY, date(2026, 9, 1)])
def test_30_day_lead_in_before_the_confirmation_test(days_on_methods, counts, confirmation_on):
    """29 days on two methods before the confirmation test is too few, 30 enough (both versions)?"""
    facts = first_fill(
        confirmation_on,
        methods=using(
            "implant", "male_latex_condom", since=confirmation_on - days(days_on_methods)
        ),
    )
    decision = evaluate_authorization(facts, IPLEDGE, eastern(confirmation_on, 16))
    assert decision.authorized is counts
    if not counts:
        assert codes(decision.findings) == {ReasonCode.CONTRACEPTION_LEAD_IN}
        lead_in = next(f for f in decision.unmet if f.code is ReasonCode.CONTRACEPTION_LEAD_IN)
        assert lead_in.eligible_on is None  # a new confirmation test is needed, not just time


def test_a_gap_in_cover_restarts_the_lead_in():
    """Does a week without a second method restart the 30 days?"""
    methods = (
        MethodFact("implant", DAY - days(90)),
        MethodFact("male_latex_condom", DAY - days(90), stopped_on=DAY - days(40)),
        MethodFact("diaphragm_with_spermicide", DAY - days(20)),
    )
    facts = first_fill(
        DAY, methods=methods, cycle=ready_cycle(DAY, ("diaphragm_with_spermicide", "implant"))
    )
    assert covered_since(facts, V2021, DAY) == DAY - days(20)
    assert ReasonCode.CONTRACEPTION_LEAD_IN in codes(check_contraception(facts, V2021, DAY))


def test_switching_methods_without_a_gap_keeps_the_lead_in():
    """Does replacing one secondary method by another on the next day keep cover unbroken?"""
    methods = (
        MethodFact("implant", DAY - days(90)),
        MethodFact("male_latex_condom", DAY - days(90), stopped_on=DAY - days(40)),
        MethodFact("diaphragm_with_spermicide", DAY - days(39)),
    )
    facts = first_fill(DAY, methods=methods)
    assert covered_since(facts, V2021, DAY) == DAY - days(90)


@pytest.mark.parametrize(
    ("confirmed", "expected"),
    [
        (("implant", "male_latex_condom"), set()),
        (("male_latex_condom", "implant"), set()),
        (("implant",), {ReasonCode.CONTRACEPTION_MISMATCH}),
        (("implant", "diaphragm_with_spermicide"), {ReasonCode.CONTRACEPTION_MISMATCH}),
    ],
)
def test_the_patient_confirms_the_methods_the_prescriber_entered(confirmed, expected):
    """Must the patient's two methods match the prescriber's entry exactly?"""
    facts = first_fill(DAY, cycle=ready_cycle(DAY, confirmed))
    decision = evaluate_authorization(facts, IPLEDGE, eastern(DAY, 16))
    assert codes(decision.findings) == expected


def test_lenalidomide_lead_in_is_4_weeks_and_time_alone_can_meet_it():
    """Lenalidomide class: before the prescription exists, does the denial give the date?"""
    rx = date(2026, 3, 2)
    facts = lenalidomide_first_fill(
        rx, methods=using("implant", "male_latex_condom", since=rx - days(27)), cycle=None
    )
    findings = check_contraception(facts, V2023, rx)
    lead_in = next(f for f in findings if f.code is ReasonCode.CONTRACEPTION_LEAD_IN)
    assert not lead_in.met
    assert lead_in.eligible_on == rx + days(1)
    ready = replace(facts, methods=using("implant", "male_latex_condom", since=rx - days(28)))
    assert all(f.met for f in check_contraception(ready, V2023, rx))


@pytest.mark.parametrize(
    ("methods", "expected"),
    [((), {ReasonCode.CONDOM_COMMITMENT_MISSING}), (("male_latex_condom",), set())],
)
def test_lenalidomide_males_use_condoms(methods, expected):
    """Lenalidomide class: is a male patient's condom use required (even after vasectomy)?"""
    rx = date(2026, 3, 2)
    facts = lenalidomide_first_fill(
        rx, category="adult_male", tests=(), methods=using(*methods, since=rx - days(1))
    )
    decision = evaluate_authorization(facts, LENALIDOMIDE, eastern(rx, 12))
    assert codes(decision.findings) == expected


def test_ipledge_patients_who_cannot_get_pregnant_need_no_methods():
    """iPLEDGE, cannot get pregnant: are no contraception rules applied?"""
    facts = first_fill(DAY, category="cannot_get_pregnant", methods=(), cycle=CycleFacts())
    assert check_contraception(facts, V2021, DAY) == ()
