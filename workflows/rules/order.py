"""The monthly order: the prescriber confirms, then the patient attests, then a pharmacy asks.

Which steps a cycle needs depends on the category and the version (iPLEDGE 2026 asks
nothing monthly of a patient who cannot get pregnant). An attestation made before the
prescriber's confirmation does not count: the patient confirms what the prescriber entered.
"""

from datetime import date, datetime

from workflows.dates import local_date
from workflows.facts import CourseFacts
from workflows.findings import Actor, Findings, ReasonCode, met, unmet
from workflows.programs import ProgramVersion
from workflows.rules.common import can_get_pregnant, category_kind
from workflows.rules.contraception import check_methods_confirmed
from workflows.rules.pregnancy_tests import window_test


def check_prescriber_confirmation(
    facts: CourseFacts, version: ProgramVersion, today: date
) -> Findings:
    """This month's confirmation by the prescriber, when the category needs one."""
    rule = version.prescriber_confirmation_categories
    if category_kind(facts, version) not in rule.value:
        return ()
    confirmed_at = facts.cycle.prescriber_confirmed_at if facts.cycle else None
    if confirmed_at is not None and _made_for_this_window(confirmed_at, facts, version, today):
        message = "The prescriber confirmed this month's counseling and entries."
        return (
            met(ReasonCode.PRESCRIBER_CONFIRMATION_MISSING, message, Actor.PRESCRIBER, rule.source),
        )
    message = "The prescriber has not confirmed this month's counseling and entries."
    return (
        unmet(ReasonCode.PRESCRIBER_CONFIRMATION_MISSING, message, Actor.PRESCRIBER, rule.source),
    )


def _made_for_this_window(
    confirmed_at: datetime, facts: CourseFacts, version: ProgramVersion, today: date
) -> bool:
    """A confirmation (or an attestation) vouches for the test it followed: one made before
    the specimen of the test whose window applies was for an earlier month, never reused."""
    if not can_get_pregnant(facts, version):
        return True
    test = window_test(facts, version, today)
    return test is None or local_date(confirmed_at, version.zone) >= test.specimen_on


def check_patient_attestation(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """This month's answers from the patient, given after the prescriber's confirmation."""
    rule = version.patient_attestation_categories
    if category_kind(facts, version) not in rule.value:
        return ()
    cycle = facts.cycle
    attested_at = cycle.patient_attested_at if cycle else None
    if attested_at is None or not _made_for_this_window(attested_at, facts, version, today):
        message = "The patient has not answered this month's questions."
        return (unmet(ReasonCode.PATIENT_ATTESTATION_MISSING, message, Actor.PATIENT, rule.source),)
    confirmed_at = cycle.prescriber_confirmed_at
    if confirmed_at is not None and cycle.patient_attested_at < confirmed_at:
        message = (
            "The patient answered before the prescriber confirmed this month; the patient "
            "must answer again."
        )
        return (unmet(ReasonCode.ATTESTATION_OUT_OF_ORDER, message, Actor.PATIENT, rule.source),)
    message = "The patient answered this month's questions."
    attested = met(ReasonCode.PATIENT_ATTESTATION_MISSING, message, Actor.PATIENT, rule.source)
    return (attested, *check_patient_answers(facts, version, today))


def check_patient_answers(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """What an attestation must contain: a passed quiz and the right methods confirmed."""
    rule = version.patient_attestation_categories
    if category_kind(facts, version) not in rule.value:
        return ()
    if facts.cycle is not None and facts.cycle.quiz_passed:
        quiz = met(
            ReasonCode.QUIZ_NOT_PASSED,
            "The patient answered the comprehension questions correctly.",
            Actor.PATIENT,
            rule.source,
        )
    else:
        quiz = unmet(
            ReasonCode.QUIZ_NOT_PASSED,
            "The patient has not yet answered the comprehension questions correctly.",
            Actor.PATIENT,
            rule.source,
        )
    return (quiz, *check_methods_confirmed(facts, version, today))
