"""Categories and enrollment: who the patient is for the program, and whether they signed.

Every other rule depends on the category, so an unknown category is reported here once and
the other checks stay silent rather than guessing.
"""

from datetime import date

from workflows.dates import human
from workflows.facts import CourseFacts
from workflows.findings import Actor, Finding, Findings, ReasonCode, SourceKind, met, unmet
from workflows.programs import ProgramVersion


def check_category(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """The prescriber must assign one of this version's categories."""
    source = version.categories.source
    category = version.category(facts.category)
    if category is None:
        return (
            unmet(
                ReasonCode.CATEGORY_UNKNOWN,
                f"The patient's category is not one of {version.program_name} "
                f"version {version.version}'s categories.",
                Actor.PRESCRIBER,
                source,
            ),
        )
    return (
        met(ReasonCode.CATEGORY_UNKNOWN, f"Category: {category.label}.", Actor.PRESCRIBER, source),
    )


def check_enrollment(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """The patient signs the enrollment; the prescriber records counseling when required."""
    findings = [_signature(facts)]
    if version.enrollment_counseling_required.value:
        findings.append(_counseling(facts, version, today))
    return tuple(findings)


def _signature(facts: CourseFacts) -> Finding:
    """Informed consent is the patient's own act."""
    if facts.enrollment_signed:
        return met(
            ReasonCode.ENROLLMENT_NOT_SIGNED,
            "The patient signed the enrollment.",
            Actor.PATIENT,
            SourceKind.PROGRAM,
        )
    return unmet(
        ReasonCode.ENROLLMENT_NOT_SIGNED,
        "The patient has not signed the enrollment yet.",
        Actor.PATIENT,
        SourceKind.PROGRAM,
    )


def _counseling(facts: CourseFacts, version: ProgramVersion, today: date) -> Finding:
    """Counseling at enrollment, recorded by the prescriber on or before today."""
    source = version.enrollment_counseling_required.source
    if facts.counseled_on is not None and facts.counseled_on <= today:
        return met(
            ReasonCode.COUNSELING_MISSING,
            f"The prescriber recorded counseling on {human(facts.counseled_on)}.",
            Actor.PRESCRIBER,
            source,
        )
    return unmet(
        ReasonCode.COUNSELING_MISSING,
        "The prescriber has not recorded the enrollment counseling.",
        Actor.PRESCRIBER,
        source,
    )
