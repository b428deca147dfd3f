"""Certification: the prescriber and the pharmacy must be certified on the decision date.

An activation lasts a number of months set by the version; a revocation ends it at once.
Some versions also want a recent staff-training record from the pharmacy.
"""

from datetime import date

from workflows.dates import add_days, add_months, human
from workflows.facts import CertificationFact, CourseFacts
from workflows.findings import Actor, Finding, Findings, ReasonCode, met, unmet
from workflows.programs import Param, ProgramVersion


def check_prescriber(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """The prescriber's certification is in force."""
    return (
        _certified(
            facts.prescriber,
            version.prescriber_certification_months,
            today,
            ReasonCode.PRESCRIBER_NOT_CERTIFIED,
            Actor.PRESCRIBER,
        ),
    )


def check_pharmacy(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """The pharmacy's certification is in force, with staff training when required."""
    findings = [
        _certified(
            facts.pharmacy,
            version.pharmacy_certification_months,
            today,
            ReasonCode.PHARMACY_NOT_CERTIFIED,
            Actor.PHARMACY,
        )
    ]
    training = version.pharmacy_training_months
    if training.value is not None:
        findings.append(_training(facts.pharmacy, training, today))
    return tuple(findings)


def expires_on(certification: CertificationFact, months: Param[int]) -> date:
    """The first day the activation no longer covers (activations last whole months)."""
    lapse = add_months(certification.activated_on, months.value)
    revoked = certification.revoked_on
    return min(lapse, revoked) if revoked else lapse


def in_force(certification: CertificationFact | None, months: Param[int], today: date) -> bool:
    """The one answer to "is this certification in force today?", for every caller: from
    activation until it lapses or is revoked (the first day no longer covered)."""
    return (certification is not None and certification.activated_on <= today
            and today < expires_on(certification, months))


def _certified(
    certification: CertificationFact | None,
    months: Param[int],
    today: date,
    code: ReasonCode,
    actor: Actor,
) -> Finding:
    """In force from activation until it lapses or is revoked."""
    who = "prescriber" if actor is Actor.PRESCRIBER else "pharmacy"
    if certification is None or today < certification.activated_on:
        return unmet(code, f"The {who} is not certified for this program.", actor, months.source)
    ends = expires_on(certification, months)
    if not in_force(certification, months, today):
        message = f"The {who}'s certification ended on {human(ends)}; it must be renewed."
        return unmet(code, message, actor, months.source)
    last_day = add_days(ends, -1)
    return met(code, f"The {who} is certified through {human(last_day)}.", actor, months.source)


def _training(certification: CertificationFact | None, months: Param[int], today: date) -> Finding:
    """A staff-training record no older than the version allows."""
    trained_on = certification.staff_trained_on if certification else None
    if trained_on is not None and trained_on <= today < add_months(trained_on, months.value):
        message = f"The pharmacy's staff training was recorded on {human(trained_on)}."
        return met(ReasonCode.PHARMACY_TRAINING_MISSING, message, Actor.PHARMACY, months.source)
    message = f"The pharmacy has no staff-training record from the last {months.value} months."
    return unmet(ReasonCode.PHARMACY_TRAINING_MISSING, message, Actor.PHARMACY, months.source)
