"""The authorization decision: every check, under the rule version in force, in one answer.

A pharmacy asking for an RMA gets "authorized" only when every finding is met, and either
way it gets all the findings, so a denial says what is missing, who must act and, when
only time stands in the way, from when. The decision also carries the program and the rule
version it used, so a later reader knows which rules produced it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from workflows.dates import local_date
from workflows.facts import CourseFacts
from workflows.findings import Findings, ReasonCode, all_met
from workflows.programs import Program, ProgramVersion, program_version_for
from workflows.rules import (
    cadence,
    categories,
    certification,
    contraception,
    order,
    pregnancy_tests,
    supply,
    treatment,
    window,
)

Check = Callable[[CourseFacts, ProgramVersion, date], Findings]

# What stops every authorization at once: a pregnancy, or treatment that has ended. When one
# of these is unmet, a denial leads with it alone (nobody's to-do list could help).
STOP_CHECKS: tuple[Check, ...] = (
    pregnancy_tests.check_no_positive_test,
    treatment.check_not_ended,
)

# What the prescriber's monthly confirmation vouches for (with the prescriber's certification):
# who the patient is, what blocks everything, and the clinical requirements.
CLINICAL_CHECKS: tuple[Check, ...] = (
    categories.check_category,
    categories.check_enrollment,
    *STOP_CHECKS,
    contraception.check_contraception,
    pregnancy_tests.check_pretreatment_tests,
    pregnancy_tests.check_current_test,
    cadence.check_cadence,
    window.check_lockout,
    window.check_window,
)

# In the order a person reads a denial: the clinical requirements, the monthly steps, then
# the fill and who may take part in it.
AUTHORIZATION_CHECKS: tuple[Check, ...] = (
    *CLINICAL_CHECKS,
    order.check_prescriber_confirmation,
    order.check_patient_attestation,
    supply.check_one_per_cycle,
    supply.check_request,
    supply.check_refill_timing,
    certification.check_prescriber,
    certification.check_pharmacy,
)


STOP_CODES = frozenset({ReasonCode.POSITIVE_PREGNANCY_TEST, ReasonCode.TREATMENT_ENDED})


class Outcome(StrEnum):
    """The answer to a request for an RMA."""

    AUTHORIZED = "authorized"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class Decision:
    """An answer with its reasons; the DNDPA date and closing instant only when authorized."""

    outcome: Outcome
    findings: Findings
    program: str
    rule_version: str
    decided_on: date
    do_not_dispense_after: date | None
    window_closes_at: datetime | None

    @property
    def authorized(self) -> bool:
        """True when an RMA may be issued."""
        return self.outcome is Outcome.AUTHORIZED

    @property
    def unmet(self) -> Findings:
        """The reasons for a denial (empty when authorized): what stops the course alone when
        something does, else every unmet requirement."""
        unmet = tuple(finding for finding in self.findings if not finding.met)
        stops = tuple(finding for finding in unmet if finding.code in STOP_CODES)
        return stops or unmet


def evaluate_authorization(facts: CourseFacts, program: Program, now: datetime) -> Decision:
    """Decide on an RMA for ``facts`` at the instant ``now`` (aware; the server's clock)."""
    today = local_date(now, program.zone)
    version = program_version_for(program, today)
    return decide(facts, version, today)


def decide(facts: CourseFacts, version: ProgramVersion, today: date) -> Decision:
    """The decision under one given version on one day of the program's calendar."""
    findings = tuple(
        finding for check in AUTHORIZATION_CHECKS for finding in check(facts, version, today)
    )
    authorized = all_met(findings)
    open_window = window.current_window(facts, version, today) if authorized else None
    return Decision(
        outcome=Outcome.AUTHORIZED if authorized else Outcome.DENIED,
        findings=findings,
        program=version.program,
        rule_version=version.version,
        decided_on=today,
        do_not_dispense_after=open_window.closes_on if open_window else None,
        window_closes_at=open_window.closes_at if open_window else None,
    )
