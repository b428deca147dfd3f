"""Supply and fills: how much may be dispensed, and how soon the next RMA may come.

No refills, a capped days' supply, one active RMA per cycle, and no new RMA while more than
the tolerance of the last fill remains, which keeps patients from stockpiling.
"""

from datetime import date

from workflows.dates import add_days, human, local_date
from workflows.facts import AuthorizationFact, CourseFacts, DispenseFacts
from workflows.findings import Actor, Finding, Findings, ReasonCode, SourceKind, met, unmet
from workflows.programs import ProgramVersion


def check_request(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """The supply asked for fits the program: capped days' supply, no refills."""
    if facts.request is None:
        return ()
    return (
        _days_supply(facts.request.days_supply, version),
        _refills(facts.request.refills, version),
    )


def check_refill_timing(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """No new RMA while more than the tolerance of the last fill remains."""
    eligible_on = refill_eligible_on(facts, version)
    if eligible_on is None:
        return ()
    rule = version.early_refill_tolerance_days
    if today >= eligible_on:
        message = "The previous fill is nearly used up."
        return (met(ReasonCode.EARLY_REFILL, message, Actor.PHARMACY, rule.source),)
    message = (
        f"More than {rule.value} days of the previous fill remain; a new authorization can be "
        f"requested from {human(eligible_on)}."
    )
    return (unmet(ReasonCode.EARLY_REFILL, message, Actor.PHARMACY, rule.source, eligible_on),)


def check_one_per_cycle(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """At most the allowed number of live RMAs in one cycle (an unused one past its DNDPA
    date no longer counts, whether or not anyone has marked it expired yet)."""
    rule = version.authorizations_per_cycle
    authorizations = facts.cycle.authorizations if facts.cycle else ()
    active = [a for a in authorizations if not a.reversed and today <= a.do_not_dispense_after]
    if len(active) < rule.value:
        return ()
    message = "This month already has an authorization; reverse it before asking again."
    return (unmet(ReasonCode.CYCLE_ALREADY_AUTHORIZED, message, Actor.PHARMACY, rule.source),)


def check_dispense(
    authorization: AuthorizationFact, dispense: DispenseFacts, version: ProgramVersion
) -> Findings:
    """A dispense under an RMA: inside its window, within the supply cap, with the guide."""
    day = local_date(dispense.dispensed_at, version.zone)
    findings = [_days_supply(dispense.days_supply, version)]
    if day > authorization.do_not_dispense_after:
        message = f"The RMA could be filled until {human(authorization.do_not_dispense_after)}."
        findings.append(
            unmet(ReasonCode.WINDOW_EXPIRED, message, Actor.PHARMACY, SourceKind.PROGRAM)
        )
    if not dispense.medication_guide_given:
        message = "The Medication Guide must be given with every fill."
        findings.append(
            unmet(
                ReasonCode.MEDICATION_GUIDE_NOT_GIVEN, message, Actor.PHARMACY, SourceKind.PROGRAM
            )
        )
    return tuple(findings)


def refill_eligible_on(facts: CourseFacts, version: ProgramVersion) -> date | None:
    """The first day a new RMA may be issued after the last fill, if there was one."""
    runs_out = supply_runs_out_on(facts)
    if runs_out is None:
        return None
    return add_days(runs_out, -version.early_refill_tolerance_days.value)


def supply_runs_out_on(facts: CourseFacts) -> date | None:
    """The first day not covered by the last fill (day 1 = the dispense date)."""
    if not facts.fills:
        return None
    last = max(facts.fills, key=lambda fill: fill.dispensed_on)
    return add_days(last.dispensed_on, last.days_supply)


def _days_supply(days_supply: int, version: ProgramVersion) -> Finding:
    """At most the program's days' supply per fill."""
    rule = version.max_days_supply
    if days_supply <= rule.value:
        message = f"{days_supply} days' supply is within the {rule.value}-day limit."
        return met(ReasonCode.SUPPLY_TOO_LONG, message, Actor.PHARMACY, rule.source)
    message = f"At most {rule.value} days' supply may be dispensed; {days_supply} were asked for."
    return unmet(ReasonCode.SUPPLY_TOO_LONG, message, Actor.PHARMACY, rule.source)


def _refills(refills: int, version: ProgramVersion) -> Finding:
    """Every fill needs its own RMA, so prescriptions carry no refills."""
    rule = version.refills_allowed
    if refills <= rule.value:
        return met(
            ReasonCode.REFILLS_NOT_ALLOWED,
            "No refills were asked for.",
            Actor.PRESCRIBER,
            rule.source,
        )
    message = (
        f"A prescription may carry at most {rule.value} refills; every fill needs its own RMA."
    )
    return unmet(ReasonCode.REFILLS_NOT_ALLOWED, message, Actor.PRESCRIBER, rule.source)
