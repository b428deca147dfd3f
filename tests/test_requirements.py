"""Does every reason land in exactly one requirement, for each audience, and does a
requirement say "possible from" only when waiting alone meets all of it?"""

from datetime import date

import pytest

from workflows.findings import Actor, ReasonCode, SourceKind, met, unmet
from workflows.pharmacy_reasons import PharmacyCode, reason
from workflows.requirements import (
    CLINICAL,
    PHARMACY,
    Requirement,
    for_pharmacy,
    for_prescriber,
)

# The state machine's guards: they explain a refused course transition, never a decision.
GUARDS = {ReasonCode.NO_DISPENSE_YET, ReasonCode.LAST_DOSE_MISSING,
          ReasonCode.POST_TREATMENT_PERIOD_RUNNING, ReasonCode.NO_POSITIVE_TEST,
          ReasonCode.RESUME_TEST_MISSING}


def test_every_decision_code_is_in_exactly_one_clinical_requirement():
    listed = [code for codes in CLINICAL.values() for code in codes]
    assert len(listed) == len(set(listed))
    assert set(listed) == set(ReasonCode) - GUARDS


def test_every_pharmacy_code_is_in_exactly_one_pharmacy_requirement():
    listed = [code for codes in PHARMACY.values() for code in codes]
    assert sorted(listed) == sorted(PharmacyCode)


def test_a_pharmacy_is_never_given_the_clinical_requirements():
    assert set(PHARMACY).isdisjoint({Requirement.COUNSELING, Requirement.CONTRACEPTION,
                                     Requirement.PREGNANCY_TESTS})


def test_the_prescriber_reads_every_requirement_in_order_met_ones_included():
    states = for_prescriber((unmet(ReasonCode.COUNSELING_MISSING, "Counsel.", Actor.PRESCRIBER,
                                   SourceKind.PROGRAM),
                             met(ReasonCode.PRESCRIBER_NOT_CERTIFIED, "Certified.",
                                 None, SourceKind.PROGRAM)))
    assert [s.requirement for s in states] == list(Requirement)
    assert [s.requirement for s in states if not s.met] == [Requirement.COUNSELING]
    assert states[1].unmet[0].message == "Counsel."


D = date(2026, 11, 2)


@pytest.mark.parametrize("days,possible_from", [
    ((D,), D),                                  # one wait
    ((D, date(2026, 11, 3)), date(2026, 11, 3)),  # two waits: the later day
    ((D, None), None),                           # a wait and a step: someone must act
    ((None,), None),
])
def test_possible_from_only_when_every_reason_is_a_wait(days, possible_from):
    reasons = tuple(reason(code, day) for code, day in zip(
        (PharmacyCode.TOO_EARLY_TO_REFILL, PharmacyCode.SUPPLY_TOO_LONG), days, strict=False))
    supply = {s.requirement: s for s in for_pharmacy(reasons)}[Requirement.SUPPLY_TIMING]
    assert supply.possible_from == possible_from
    assert supply.actor is Actor.PHARMACY


def test_a_met_requirement_names_its_owner_and_has_no_date():
    states = {s.requirement: s for s in for_pharmacy(())}
    assert all(s.met and s.possible_from is None for s in states.values())
    assert states[Requirement.PATIENT_ATTESTATION].actor is Actor.PATIENT
