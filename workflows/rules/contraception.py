"""Contraception: two methods by class (or abstinence), a lead-in, and the patient's word.

Whether methods suffice is a question about a day: which recorded methods cover it. The
lead-in asks how long they have covered it without a gap. Unacceptable or unknown methods
never count; they are named as a reason only when what remains is not enough, so a stray
entry does not block a patient who is otherwise well covered.
"""

from datetime import date

from workflows.dates import add_days, human
from workflows.facts import CourseFacts, MethodFact
from workflows.findings import Actor, Finding, Findings, ReasonCode, met, unmet
from workflows.programs import CategoryKind, LeadInReference, ProgramVersion
from workflows.rules.common import (
    before_first_fill,
    can_get_pregnant,
    category_kind,
    listing,
    prescription_date,
)
from workflows.rules.pregnancy_tests import window_test

ABSTINENCE = "abstinence"  # a committed, documented choice, recorded like a method


def check_contraception(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """Two methods (or abstinence) for patients who can get pregnant; condoms for males."""
    kind = category_kind(facts, version)
    if kind is CategoryKind.CAN_GET_PREGNANT:
        return _two_methods(facts, version, today)
    if kind is CategoryKind.MALE and version.male_required_methods.value:
        return (_male_methods(facts, version, today),)
    return ()


def check_methods_confirmed(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """The methods the patient confirmed this month are exactly those the prescriber entered."""
    rule = version.patient_confirms_methods
    if not (rule.value and can_get_pregnant(facts, version)):
        return ()
    entered = set(methods_in_use(facts.methods, today))
    confirmed = set(facts.cycle.patient_confirmed_methods if facts.cycle else ())
    if entered == confirmed:
        message = "The patient confirmed the methods the prescriber entered."
        return (met(ReasonCode.CONTRACEPTION_MISMATCH, message, Actor.PATIENT, rule.source),)
    message = (
        "The contraception methods the patient confirmed do not match those the prescriber "
        "entered; the patient must confirm them again (or the prescriber correct them)."
    )
    return (unmet(ReasonCode.CONTRACEPTION_MISMATCH, message, Actor.PATIENT, rule.source),)


def methods_in_use(methods: tuple[MethodFact, ...], day: date) -> tuple[str, ...]:
    """The method codes covering ``day``."""
    return tuple(sorted({m.method for m in methods if m.in_use_on(day)}))


def is_sufficient(codes: tuple[str, ...], version: ProgramVersion) -> bool:
    """Abstinence, or enough acceptable methods with enough of them primary."""
    if version.abstinence_allowed.value and ABSTINENCE in codes:
        return True
    primary = sum(code in version.primary_methods.value for code in codes)
    secondary = sum(code in version.secondary_methods.value for code in codes)
    return (
        primary + secondary >= version.methods_required.value
        and primary >= version.primary_methods_required.value
    )


def covered_since(facts: CourseFacts, version: ProgramVersion, until: date) -> date | None:
    """The first day of the unbroken stretch of sufficient cover that includes ``until``.

    Cover only changes on a day a method starts or the day after one stops, so it is
    enough to walk those days backwards from ``until`` while cover holds.
    """
    changes = {m.started_on for m in facts.methods}
    changes |= {add_days(m.stopped_on, 1) for m in facts.methods if m.stopped_on is not None}
    start = None
    for day in sorted((d for d in changes if d <= until), reverse=True):
        if not is_sufficient(methods_in_use(facts.methods, day), version):
            break
        start = day
    return start


def _two_methods(facts: CourseFacts, version: ProgramVersion, today: date) -> Findings:
    """Cover today, and before the first fill the lead-in."""
    codes = methods_in_use(facts.methods, today)
    source = version.methods_required.source
    if not is_sufficient(codes, version):
        message = (
            f"The prescriber has not recorded {version.methods_required.value} acceptable "
            "contraception methods (or a commitment to abstinence) in use today."
        )
        insufficient = unmet(
            ReasonCode.CONTRACEPTION_INSUFFICIENT, message, Actor.PRESCRIBER, source
        )
        return (insufficient, *_refused_methods(codes, version))
    message = "Acceptable contraception is recorded for today."
    findings = [met(ReasonCode.CONTRACEPTION_INSUFFICIENT, message, Actor.PRESCRIBER, source)]
    if before_first_fill(facts):
        findings.append(_lead_in(facts, version, today))
    return tuple(findings)


def _refused_methods(codes: tuple[str, ...], version: ProgramVersion) -> Findings:
    """Name recorded methods that do not count, as the reason cover falls short."""
    known = {*version.primary_methods.value, *version.secondary_methods.value, ABSTINENCE}
    refused = tuple(c for c in codes if c in version.unacceptable_methods.value)
    unknown = tuple(c for c in codes if c not in known and c not in refused)
    findings = []
    if refused:
        findings.append(
            unmet(
                ReasonCode.UNACCEPTABLE_METHOD,
                f"Not an acceptable method for this program: {listing(refused)}.",
                Actor.PRESCRIBER,
                version.unacceptable_methods.source,
            )
        )
    if unknown:
        findings.append(
            unmet(
                ReasonCode.UNKNOWN_METHOD,
                f"Not a method this program recognizes: {listing(unknown)}.",
                Actor.PRESCRIBER,
                version.primary_methods.source,
            )
        )
    return tuple(findings)


def _lead_in(facts: CourseFacts, version: ProgramVersion, today: date) -> Finding:
    """Cover for the lead-in days before the confirmation test or the first prescription."""
    lead_in = version.contraception_lead_in_days
    reference, what, waiting_helps = _lead_in_reference(facts, version, today)
    start = covered_since(facts, version, reference)
    ready = add_days(start, lead_in.value) if start else None
    if start is not None and ready is not None and ready <= reference:
        message = f"Two methods have been in use since {human(start)}, before {what}."
        return met(ReasonCode.CONTRACEPTION_LEAD_IN, message, Actor.PRESCRIBER, lead_in.source)
    when = f"from {human(ready)}" if ready else f"{lead_in.value} days after two methods start"
    return unmet(
        ReasonCode.CONTRACEPTION_LEAD_IN,
        f"Contraception must be in use for {lead_in.value} days before {what}, so {what} can "
        f"count {when}.",
        Actor.PRESCRIBER,
        lead_in.source,
        eligible_on=ready if waiting_helps else None,
    )


def _lead_in_reference(
    facts: CourseFacts, version: ProgramVersion, today: date
) -> tuple[date, str, bool]:
    """The date the lead-in must precede, its name, and whether waiting alone can fix it.

    A confirmation test taken too early needs a new test; a prescription not written yet
    only needs time (the decision date stands in for it).
    """
    if version.lead_in_reference.value is LeadInReference.CONFIRMATION_TEST:
        test = window_test(facts, version, today)
        return (test.specimen_on if test else today), "the confirmation test", False
    written = facts.cycle is not None and facts.cycle.prescriber_confirmed_at is not None
    return prescription_date(facts, version, today), "the first prescription", not written


def _male_methods(facts: CourseFacts, version: ProgramVersion, today: date) -> Finding:
    """Male patients use the required methods (condoms), even after a vasectomy."""
    rule = version.male_required_methods
    missing = [m for m in rule.value if m not in methods_in_use(facts.methods, today)]
    if not missing:
        message = "The patient's commitment to use condoms is recorded."
        return met(ReasonCode.CONDOM_COMMITMENT_MISSING, message, Actor.PRESCRIBER, rule.source)
    message = f"The prescriber has not recorded the patient's use of: {listing(missing)}."
    return unmet(ReasonCode.CONDOM_COMMITMENT_MISSING, message, Actor.PRESCRIBER, rule.source)
