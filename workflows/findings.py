"""What a check says: one requirement, met or not, explained for a person.

A check never answers with a bare boolean. Pharmacists, patients and prescribers all need to
know *what* is missing, *who* can fix it and, when waiting is enough, *from when*. The codes
are stable strings: the API, the templates and the audit log store them.
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Actor(StrEnum):
    """The role that must act for a requirement to become met."""

    PRESCRIBER = "prescriber"
    PATIENT = "patient"
    PHARMACY = "pharmacy"
    PROGRAM = "program"


class SourceKind(StrEnum):
    """Where a rule comes from, so the UI can say whose rule it is.

    ``PROGRAM`` is the published program text or labeling ([R] in domain.md); ``POLICY`` is a
    default of this service where the texts are silent ([P]).
    """

    PROGRAM = "program"
    POLICY = "policy"

    @property
    def tag(self) -> str:
        """The short tag used in domain.md and the generated rules table."""
        return "[R]" if self is SourceKind.PROGRAM else "[P]"


class ReasonCode(StrEnum):
    """One requirement each. The name says what goes wrong when the requirement is unmet."""

    # Enrollment and category
    CATEGORY_UNKNOWN = "CATEGORY_UNKNOWN"
    ENROLLMENT_NOT_SIGNED = "ENROLLMENT_NOT_SIGNED"
    COUNSELING_MISSING = "COUNSELING_MISSING"
    TREATMENT_ENDED = "TREATMENT_ENDED"
    # Contraception
    CONTRACEPTION_INSUFFICIENT = "CONTRACEPTION_INSUFFICIENT"
    UNACCEPTABLE_METHOD = "UNACCEPTABLE_METHOD"
    UNKNOWN_METHOD = "UNKNOWN_METHOD"
    CONTRACEPTION_LEAD_IN = "CONTRACEPTION_LEAD_IN"
    CONDOM_COMMITMENT_MISSING = "CONDOM_COMMITMENT_MISSING"
    CONTRACEPTION_MISMATCH = "CONTRACEPTION_MISMATCH"
    # Pregnancy tests
    POSITIVE_PREGNANCY_TEST = "POSITIVE_PREGNANCY_TEST"
    SCREENING_TEST_MISSING = "SCREENING_TEST_MISSING"
    SCREENING_TEST_TIMING = "SCREENING_TEST_TIMING"
    CONFIRMATION_TOO_EARLY = "CONFIRMATION_TOO_EARLY"
    CONFIRMATION_TEST_TOO_OLD = "CONFIRMATION_TEST_TOO_OLD"
    PREGNANCY_TEST_MISSING = "PREGNANCY_TEST_MISSING"
    TEST_SENSITIVITY_TOO_LOW = "TEST_SENSITIVITY_TOO_LOW"
    TEST_SETTING_NOT_ALLOWED = "TEST_SETTING_NOT_ALLOWED"
    HOME_TEST_NOT_VERIFIED = "HOME_TEST_NOT_VERIFIED"
    POST_TREATMENT_TEST_MISSING = "POST_TREATMENT_TEST_MISSING"
    TEST_CADENCE_MISSED = "TEST_CADENCE_MISSED"
    # Window
    WINDOW_EXPIRED = "WINDOW_EXPIRED"
    WINDOW_NOT_CLOSED = "WINDOW_NOT_CLOSED"
    LOCKOUT_19_DAY = "LOCKOUT_19_DAY"
    # The monthly order
    PRESCRIBER_CONFIRMATION_MISSING = "PRESCRIBER_CONFIRMATION_MISSING"
    PATIENT_ATTESTATION_MISSING = "PATIENT_ATTESTATION_MISSING"
    ATTESTATION_OUT_OF_ORDER = "ATTESTATION_OUT_OF_ORDER"
    QUIZ_NOT_PASSED = "QUIZ_NOT_PASSED"
    # Supply and fills
    SUPPLY_TOO_LONG = "SUPPLY_TOO_LONG"
    REFILLS_NOT_ALLOWED = "REFILLS_NOT_ALLOWED"
    EARLY_REFILL = "EARLY_REFILL"
    CYCLE_ALREADY_AUTHORIZED = "CYCLE_ALREADY_AUTHORIZED"
    MEDICATION_GUIDE_NOT_GIVEN = "MEDICATION_GUIDE_NOT_GIVEN"
    # Certification
    PRESCRIBER_NOT_CERTIFIED = "PRESCRIBER_NOT_CERTIFIED"
    PHARMACY_NOT_CERTIFIED = "PHARMACY_NOT_CERTIFIED"
    PHARMACY_TRAINING_MISSING = "PHARMACY_TRAINING_MISSING"
    # Course progress (state machine guards)
    NO_DISPENSE_YET = "NO_DISPENSE_YET"
    LAST_DOSE_MISSING = "LAST_DOSE_MISSING"
    POST_TREATMENT_PERIOD_RUNNING = "POST_TREATMENT_PERIOD_RUNNING"
    NO_POSITIVE_TEST = "NO_POSITIVE_TEST"
    RESUME_TEST_MISSING = "RESUME_TEST_MISSING"


@dataclass(frozen=True, slots=True)
class Finding:
    """The state of one requirement on one date.

    ``eligible_on`` is set only when time alone stands in the way: on that date the
    requirement becomes met without anyone doing anything.
    """

    code: ReasonCode
    met: bool
    message: str
    actor: Actor | None
    source: SourceKind
    eligible_on: date | None = None


Findings = tuple[Finding, ...]


def met(code: ReasonCode, message: str, actor: Actor | None, source: SourceKind) -> Finding:
    """A satisfied requirement (kept in decisions so an approval also explains itself)."""
    return Finding(code, True, message, actor, source)


def unmet(
    code: ReasonCode,
    message: str,
    actor: Actor | None,
    source: SourceKind,
    eligible_on: date | None = None,
) -> Finding:
    """A requirement that blocks, with the role that can unblock it."""
    return Finding(code, False, message, actor, source, eligible_on)


def all_met(findings: Findings) -> bool:
    """True when nothing blocks."""
    return all(finding.met for finding in findings)
