"""What a pharmacy is told of a denial: who must act and from when, in the pharmacy's words.

The prescriber and the patient read each finding's clinical sentence. A pharmacy needs only
enough to send the patient to the right person (docs/api.md, "minimum necessary"): never test
results or their dates, methods, the category, or a code that gives them away. This is the
one place that turns findings into pharmacy reasons; every pharmacy surface (the API, the
counter pages, a refused dispense) reads it.
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from workflows.findings import Actor, Finding, ReasonCode


class PharmacyCode(StrEnum):
    """The pharmacy vocabulary: stable codes, each with one sentence."""

    TREATMENT_STOPPED = "TREATMENT_STOPPED"
    PRESCRIBER_ACTION_NEEDED = "PRESCRIBER_ACTION_NEEDED"
    PATIENT_ACTION_NEEDED = "PATIENT_ACTION_NEEDED"
    NEW_TEST_NEEDED = "NEW_TEST_NEEDED"
    TOO_EARLY_TO_REFILL = "TOO_EARLY_TO_REFILL"
    RMA_ALREADY_OPEN = "RMA_ALREADY_OPEN"
    RMA_OPEN_ELSEWHERE = "RMA_OPEN_ELSEWHERE"
    SUPPLY_TOO_LONG = "SUPPLY_TOO_LONG"
    REFILLS_NOT_ALLOWED = "REFILLS_NOT_ALLOWED"
    RMA_PAST_FILL_BY_DATE = "RMA_PAST_FILL_BY_DATE"
    MEDICATION_GUIDE_NOT_GIVEN = "MEDICATION_GUIDE_NOT_GIVEN"
    PRESCRIBER_NOT_CERTIFIED = "PRESCRIBER_NOT_CERTIFIED"
    PHARMACY_NOT_CERTIFIED = "PHARMACY_NOT_CERTIFIED"
    PHARMACY_TRAINING_MISSING = "PHARMACY_TRAINING_MISSING"


SENTENCES = {
    PharmacyCode.TREATMENT_STOPPED: "The program has stopped authorizations for this patient; "
    "do not dispense. The patient should contact their prescriber.",
    PharmacyCode.PRESCRIBER_ACTION_NEEDED: "The prescriber must complete a program step before "
    "an RMA can be issued.",
    PharmacyCode.PATIENT_ACTION_NEEDED: "The patient must complete this month's program step "
    "(online or by phone) before an RMA can be issued.",
    PharmacyCode.NEW_TEST_NEEDED: "This month's authorization period has passed; the "
    "prescriber must start a new one before an RMA can be issued.",
    PharmacyCode.TOO_EARLY_TO_REFILL: "It is too early for the next fill: the previous fill "
    "still covers more than the program allows.",
    PharmacyCode.RMA_ALREADY_OPEN: "Your pharmacy already holds an unused RMA for this patient "
    "this month: fill it, or reverse it before asking again.",
    PharmacyCode.RMA_OPEN_ELSEWHERE: "Another pharmacy holds an unused RMA for this patient "
    "this month; that pharmacy must reverse it before you can ask.",
    PharmacyCode.SUPPLY_TOO_LONG: "The days' supply is longer than the program allows for one "
    "fill.",
    PharmacyCode.REFILLS_NOT_ALLOWED: "The prescription may carry no refills: every fill needs "
    "its own RMA.",
    PharmacyCode.RMA_PAST_FILL_BY_DATE: "This RMA is past its do-not-dispense-after date; ask "
    "for a new one.",
    PharmacyCode.MEDICATION_GUIDE_NOT_GIVEN: "The Medication Guide must be given with every "
    "fill.",
    PharmacyCode.PRESCRIBER_NOT_CERTIFIED: "The prescriber's certification is not in force; "
    "no RMA can be issued on their prescription.",
    PharmacyCode.PHARMACY_NOT_CERTIFIED: "Your pharmacy's certification is not in force; the "
    "program administrator must renew it.",
    PharmacyCode.PHARMACY_TRAINING_MISSING: "Your pharmacy has no current staff-training "
    "record; the program administrator must record it.",
}

_SAME_NAME = {code.value for code in PharmacyCode}
_BY_CODE = {
    ReasonCode.POSITIVE_PREGNANCY_TEST: PharmacyCode.TREATMENT_STOPPED,
    ReasonCode.TREATMENT_ENDED: PharmacyCode.TREATMENT_STOPPED,
    ReasonCode.WINDOW_EXPIRED: PharmacyCode.NEW_TEST_NEEDED,
    ReasonCode.LOCKOUT_19_DAY: PharmacyCode.NEW_TEST_NEEDED,
    ReasonCode.EARLY_REFILL: PharmacyCode.TOO_EARLY_TO_REFILL,
    ReasonCode.CYCLE_ALREADY_AUTHORIZED: PharmacyCode.RMA_ALREADY_OPEN,
}
_BY_ACTOR = {Actor.PATIENT: PharmacyCode.PATIENT_ACTION_NEEDED}
_ACTOR_OF = {
    PharmacyCode.PATIENT_ACTION_NEEDED: Actor.PATIENT,
    PharmacyCode.TOO_EARLY_TO_REFILL: Actor.PHARMACY,
    PharmacyCode.RMA_ALREADY_OPEN: Actor.PHARMACY,
    PharmacyCode.RMA_OPEN_ELSEWHERE: Actor.PHARMACY,
    PharmacyCode.SUPPLY_TOO_LONG: Actor.PHARMACY,
    PharmacyCode.RMA_PAST_FILL_BY_DATE: Actor.PHARMACY,
    PharmacyCode.MEDICATION_GUIDE_NOT_GIVEN: Actor.PHARMACY,
    PharmacyCode.PHARMACY_NOT_CERTIFIED: Actor.PHARMACY,
    PharmacyCode.PHARMACY_TRAINING_MISSING: Actor.PHARMACY,
}


@dataclass(frozen=True, slots=True)
class PharmacyReason:
    """One thing in the way of a fill, as a pharmacy may read it."""

    code: PharmacyCode
    actor: Actor
    message: str
    eligible_on: date | None = None


def pharmacy_code(code: str, actor: Actor | None) -> PharmacyCode:
    """The pharmacy code for a finding's code (the prescriber's steps all read alike)."""
    if code in _BY_CODE:
        return _BY_CODE[ReasonCode(code)]
    if code in _SAME_NAME:
        return PharmacyCode(code)
    return _BY_ACTOR.get(actor, PharmacyCode.PRESCRIBER_ACTION_NEEDED)


def reason(code: PharmacyCode, eligible_on: date | None = None) -> PharmacyReason:
    """A pharmacy reason with its one sentence and the role that must act."""
    return PharmacyReason(code, _ACTOR_OF.get(code, Actor.PRESCRIBER), SENTENCES[code],
                          eligible_on)


def for_pharmacy(
    findings: tuple[Finding, ...], *, held_elsewhere: bool = False
) -> tuple[PharmacyReason, ...]:
    """The unmet findings in the pharmacy's words: one reason per pharmacy code, in the
    order first met, each possible from the latest date among the findings it stands for
    (when only time stands in the way of all of them). A stop leads alone.

    ``held_elsewhere``: the month's unused RMA belongs to another pharmacy, which alone can
    reverse it.
    """
    grouped: dict[PharmacyCode, list[Finding]] = {}
    for finding in findings:
        if not finding.met:
            code = pharmacy_code(finding.code, finding.actor)
            if code is PharmacyCode.RMA_ALREADY_OPEN and held_elsewhere:
                code = PharmacyCode.RMA_OPEN_ELSEWHERE
            grouped.setdefault(code, []).append(finding)
    if PharmacyCode.TREATMENT_STOPPED in grouped:
        return (reason(PharmacyCode.TREATMENT_STOPPED),)
    return tuple(reason(code, _possible_from(items)) for code, items in grouped.items())


def _possible_from(findings: list[Finding]) -> date | None:
    """The day all of them can be met by waiting, or None when any needs someone to act."""
    days = [f.eligible_on for f in findings]
    return None if any(day is None for day in days) else max(days)
