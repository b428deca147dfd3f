"""The program's requirements as a standards message lists them: one entry per requirement.

FHIR's `$rems-etasu` answers one status per REMS element (enrollment, counseling, ...), not
one per check. This module groups a decision's findings into those elements, for the two
audiences that read them:

- the prescriber (CDS Hooks cards) reads every element, each with the clinical findings;
- a pharmacy reads only the elements it may know of (docs/api.md, "minimum necessary"): the
  clinical elements (counseling, contraception, tests) are the prescriber's to vouch for, so
  they reach a pharmacy folded into "prescriber confirmation", and whether a patient has
  them at all would give away the category.
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from workflows.findings import Actor, Finding, ReasonCode
from workflows.pharmacy_reasons import PharmacyCode, PharmacyReason


class Requirement(StrEnum):
    """One element of the program, as a REMS message names it."""

    ENROLLMENT = "enrollment"
    COUNSELING = "counseling"
    CONTRACEPTION = "contraception"
    PREGNANCY_TESTS = "pregnancy-tests"
    PRESCRIBER_CONFIRMATION = "prescriber-confirmation"
    PATIENT_ATTESTATION = "patient-attestation"
    CERTIFICATIONS = "certifications"
    SUPPLY_TIMING = "supply-timing"

    @property
    def title(self) -> str:
        return TITLES[self]


TITLES = {
    Requirement.ENROLLMENT: "Patient enrollment",
    Requirement.COUNSELING: "Counseling",
    Requirement.CONTRACEPTION: "Contraception",
    Requirement.PREGNANCY_TESTS: "Pregnancy tests",
    Requirement.PRESCRIBER_CONFIRMATION: "Prescriber confirmation",
    Requirement.PATIENT_ATTESTATION: "Patient attestation",
    Requirement.CERTIFICATIONS: "Certifications",
    Requirement.SUPPLY_TIMING: "Supply and timing",
}

# Who acts on an element when nothing more precise is known (a met element names them too).
OWNER = {
    Requirement.ENROLLMENT: Actor.PRESCRIBER,
    Requirement.COUNSELING: Actor.PRESCRIBER,
    Requirement.CONTRACEPTION: Actor.PATIENT,
    Requirement.PREGNANCY_TESTS: Actor.PRESCRIBER,
    Requirement.PRESCRIBER_CONFIRMATION: Actor.PRESCRIBER,
    Requirement.PATIENT_ATTESTATION: Actor.PATIENT,
    Requirement.CERTIFICATIONS: Actor.PROGRAM,
    Requirement.SUPPLY_TIMING: Actor.PHARMACY,
}

_R = Requirement
CLINICAL = {
    _R.ENROLLMENT: (ReasonCode.CATEGORY_UNKNOWN, ReasonCode.ENROLLMENT_NOT_SIGNED,
                    ReasonCode.TREATMENT_ENDED),
    _R.COUNSELING: (ReasonCode.COUNSELING_MISSING,),
    _R.CONTRACEPTION: (ReasonCode.CONTRACEPTION_INSUFFICIENT, ReasonCode.UNACCEPTABLE_METHOD,
                       ReasonCode.UNKNOWN_METHOD, ReasonCode.CONTRACEPTION_LEAD_IN,
                       ReasonCode.CONDOM_COMMITMENT_MISSING,
                       ReasonCode.CONTRACEPTION_MISMATCH),
    _R.PREGNANCY_TESTS: (ReasonCode.POSITIVE_PREGNANCY_TEST, ReasonCode.SCREENING_TEST_MISSING,
                         ReasonCode.SCREENING_TEST_TIMING, ReasonCode.CONFIRMATION_TOO_EARLY,
                         ReasonCode.CONFIRMATION_TEST_TOO_OLD,
                         ReasonCode.PREGNANCY_TEST_MISSING,
                         ReasonCode.TEST_SENSITIVITY_TOO_LOW,
                         ReasonCode.TEST_SETTING_NOT_ALLOWED, ReasonCode.HOME_TEST_NOT_VERIFIED,
                         ReasonCode.POST_TREATMENT_TEST_MISSING,
                         ReasonCode.TEST_CADENCE_MISSED),
    _R.PRESCRIBER_CONFIRMATION: (ReasonCode.PRESCRIBER_CONFIRMATION_MISSING,),
    _R.PATIENT_ATTESTATION: (ReasonCode.PATIENT_ATTESTATION_MISSING,
                             ReasonCode.ATTESTATION_OUT_OF_ORDER, ReasonCode.QUIZ_NOT_PASSED),
    _R.CERTIFICATIONS: (ReasonCode.PRESCRIBER_NOT_CERTIFIED, ReasonCode.PHARMACY_NOT_CERTIFIED,
                        ReasonCode.PHARMACY_TRAINING_MISSING),
    _R.SUPPLY_TIMING: (ReasonCode.WINDOW_EXPIRED, ReasonCode.WINDOW_NOT_CLOSED,
                       ReasonCode.LOCKOUT_19_DAY, ReasonCode.SUPPLY_TOO_LONG,
                       ReasonCode.REFILLS_NOT_ALLOWED, ReasonCode.EARLY_REFILL,
                       ReasonCode.CYCLE_ALREADY_AUTHORIZED,
                       ReasonCode.MEDICATION_GUIDE_NOT_GIVEN),
}

PHARMACY = {
    _R.ENROLLMENT: (PharmacyCode.TREATMENT_STOPPED,),
    _R.PRESCRIBER_CONFIRMATION: (PharmacyCode.PRESCRIBER_ACTION_NEEDED,
                                 PharmacyCode.NEW_TEST_NEEDED),
    _R.PATIENT_ATTESTATION: (PharmacyCode.PATIENT_ACTION_NEEDED,),
    _R.CERTIFICATIONS: (PharmacyCode.PRESCRIBER_NOT_CERTIFIED,
                        PharmacyCode.PHARMACY_NOT_CERTIFIED,
                        PharmacyCode.PHARMACY_TRAINING_MISSING),
    _R.SUPPLY_TIMING: (PharmacyCode.TOO_EARLY_TO_REFILL, PharmacyCode.RMA_ALREADY_OPEN,
                       PharmacyCode.RMA_OPEN_ELSEWHERE, PharmacyCode.SUPPLY_TOO_LONG,
                       PharmacyCode.REFILLS_NOT_ALLOWED, PharmacyCode.RMA_PAST_FILL_BY_DATE,
                       PharmacyCode.MEDICATION_GUIDE_NOT_GIVEN),
}

_CLINICAL_OF = {code: req for req, codes in CLINICAL.items() for code in codes}
_PHARMACY_OF = {code: req for req, codes in PHARMACY.items() for code in codes}


@dataclass(frozen=True, slots=True)
class Unmet:
    """One thing in the way, whichever audience's words it is in."""

    code: str
    actor: Actor
    message: str
    eligible_on: date | None


@dataclass(frozen=True, slots=True)
class RequirementState:
    """One element: met or not, what is missing, who acts, and from when waiting suffices."""

    requirement: Requirement
    unmet: tuple[Unmet, ...]

    @property
    def met(self) -> bool:
        return not self.unmet

    @property
    def actor(self) -> Actor:
        """The first unmet reason's actor, else the element's owner."""
        return self.unmet[0].actor if self.unmet else OWNER[self.requirement]

    @property
    def possible_from(self) -> date | None:
        """The date every unmet reason here is met by waiting; None when someone must act."""
        days = [u.eligible_on for u in self.unmet]
        return max(days) if days and None not in days else None


def for_prescriber(findings: tuple[Finding, ...]) -> tuple[RequirementState, ...]:
    """Every element, with the clinical findings that are unmet in it."""
    unmet = [(f, _CLINICAL_OF[f.code]) for f in findings if not f.met]
    return tuple(
        RequirementState(req, tuple(Unmet(str(f.code), f.actor or OWNER[req], f.message,
                                          f.eligible_on) for f, r in unmet if r is req))
        for req in Requirement)


def for_pharmacy(reasons: tuple[PharmacyReason, ...]) -> tuple[RequirementState, ...]:
    """The elements a pharmacy may know of, with the pharmacy reasons in each."""
    return tuple(
        RequirementState(req, tuple(Unmet(str(r.code), r.actor, r.message, r.eligible_on)
                                    for r in reasons if _PHARMACY_OF[r.code] is req))
        for req in PHARMACY)
