"""The course and cycle state machines, built once at import and shared by every request.

Transitions are declared as data; guards call the pure checks, so a refused event comes back
with the findings that refused it (see ``workflows.flow`` for the adapter that fires them).
``mermaid`` draws a machine for the README.
"""

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from transitions import EventData, Machine

from workflows.decision import CLINICAL_CHECKS, STOP_CHECKS, evaluate_authorization
from workflows.findings import Findings
from workflows.flow import Context, Flow, guard, on_date
from workflows.rules import (
    categories,
    certification,
    order,
    pregnancy_tests,
    supply,
    treatment,
    window,
)


class CourseState(StrEnum):
    """Where a course of treatment stands."""

    ENROLLED = "enrolled"
    QUALIFYING = "qualifying"
    ACTIVE = "active"
    POST_TREATMENT = "post_treatment"
    COMPLETED = "completed"
    SUSPENDED = "suspended"  # a positive pregnancy test
    WITHDRAWN = "withdrawn"


class CourseEvent(StrEnum):
    """What can happen to a course."""

    START_QUALIFYING = "start_qualifying"
    ACTIVATE = "activate"
    END_TREATMENT = "end_treatment"
    COMPLETE = "complete"
    SUSPEND = "suspend"
    RESUME = "resume"
    WITHDRAW = "withdraw"


class CycleState(StrEnum):
    """Where a treatment month stands."""

    OPEN = "open"
    PRESCRIBER_CONFIRMED = "prescriber_confirmed"
    PATIENT_ATTESTED = "patient_attested"
    AUTHORIZED = "authorized"
    DISPENSED = "dispensed"
    EXPIRED = "expired"
    REVERSED = "reversed"  # the RMA was reversed: ready for a new one while the window is open
    VOIDED = "voided"  # the course stopped (a positive test, the end of treatment): month over


class CycleEvent(StrEnum):
    """What can happen in a treatment month."""

    CONFIRM = "confirm"
    ATTEST = "attest"
    AUTHORIZE = "authorize"
    DISPENSE = "dispense"
    REVERSE = "reverse"
    EXPIRE = "expire"
    VOID = "void"


def _authorized(event: EventData) -> bool:
    """The authorize guard is the full decision, kept for the service to read."""
    context: Context = event.kwargs["context"]
    decision = evaluate_authorization(context.facts, context.program, context.now)
    event.model.note(decision.findings, decision)
    return decision.authorized


def _dispensable(context: Context) -> Findings:
    """A dispense under the cycle's RMA, checked again at the moment of dispensing: the RMA's
    own terms, nothing that stops the course, and both certifications still in force."""
    if context.authorization is None or context.dispense is None:
        raise ValueError("a dispense needs the authorization and the dispense facts")
    version, today = context.version, context.today
    return (
        *supply.check_dispense(context.authorization, context.dispense, version),
        *(f for check in STOP_CHECKS for f in check(context.facts, version, today)),
        *certification.check_prescriber(context.facts, version, today),
        *certification.check_pharmacy(context.facts, version, today),
    )


def _window_closed(context: Context) -> Findings:
    """Expiry waits for the RMA's DNDPA date, or the window, to pass."""
    return window.check_window_closed(
        context.facts, context.version, context.today, context.authorization
    )


def _announce(event: EventData) -> None:
    """Machine-wide after callback: every accepted transition reaches the flow's hook."""
    event.model.announce(event)


def _build(states: type[StrEnum], transitions: list[dict[str, Any]]) -> Machine:
    """One shared machine: no model, no auto transitions, callbacks receive EventData."""
    return Machine(
        model=None,
        states=[s.value for s in states],
        initial=next(iter(states)).value,
        transitions=transitions,
        auto_transitions=False,
        send_event=True,
        after_state_change=_announce,
    )


def _edge(
    trigger: StrEnum,
    sources: list[StrEnum],
    dest: StrEnum,
    condition: Callable[[EventData], bool] | None = None,
) -> dict[str, Any]:
    """A transition declared as data, with plain strings as the persisted column holds them."""
    edge: dict[str, Any] = {
        "trigger": trigger.value,
        "source": [s.value for s in sources],
        "dest": dest.value,
    }
    if condition is not None:
        edge["conditions"] = condition
    return edge


C, E = CourseState, CourseEvent
COURSE_MACHINE = _build(
    CourseState,
    [
        _edge(
            E.START_QUALIFYING,
            [C.ENROLLED],
            C.QUALIFYING,
            guard(on_date(categories.check_category, categories.check_enrollment)),
        ),
        _edge(E.ACTIVATE, [C.QUALIFYING], C.ACTIVE, guard(on_date(treatment.check_started))),
        _edge(
            E.END_TREATMENT, [C.ACTIVE], C.POST_TREATMENT, guard(on_date(treatment.check_last_dose))
        ),
        _edge(
            E.COMPLETE,
            [C.POST_TREATMENT],
            C.COMPLETED,
            guard(on_date(treatment.check_post_treatment)),
        ),
        _edge(
            E.SUSPEND,
            [C.ENROLLED, C.QUALIFYING, C.ACTIVE, C.POST_TREATMENT],
            C.SUSPENDED,
            guard(on_date(pregnancy_tests.check_positive_on_file)),
        ),
        _edge(
            E.RESUME,
            [C.SUSPENDED],
            C.ENROLLED,  # and on to qualifying, as any enrolled course, when it qualifies
            guard(on_date(pregnancy_tests.check_resumable)),
        ),
        _edge(
            E.WITHDRAW,
            [C.ENROLLED, C.QUALIFYING, C.ACTIVE, C.POST_TREATMENT, C.SUSPENDED],
            C.WITHDRAWN,
        ),
    ],
)

# What the prescriber's monthly confirmation vouches for: the patient, the tests, the methods.
PRESCRIBER_READY = on_date(*CLINICAL_CHECKS, certification.check_prescriber)

Y, V = CycleState, CycleEvent
BEFORE_DISPENSE = [Y.OPEN, Y.PRESCRIBER_CONFIRMED, Y.PATIENT_ATTESTED, Y.AUTHORIZED, Y.REVERSED]
CYCLE_MACHINE = _build(
    CycleState,
    [
        _edge(
            V.CONFIRM,
            [Y.OPEN, Y.PRESCRIBER_CONFIRMED, Y.PATIENT_ATTESTED],
            Y.PRESCRIBER_CONFIRMED,
            guard(PRESCRIBER_READY),
        ),
        _edge(
            V.ATTEST,
            [Y.PRESCRIBER_CONFIRMED, Y.PATIENT_ATTESTED],
            Y.PATIENT_ATTESTED,
            guard(on_date(order.check_patient_answers)),
        ),
        _edge(
            V.AUTHORIZE,
            [Y.OPEN, Y.PRESCRIBER_CONFIRMED, Y.PATIENT_ATTESTED, Y.REVERSED],
            Y.AUTHORIZED,
            _authorized,
        ),
        _edge(V.DISPENSE, [Y.AUTHORIZED], Y.DISPENSED, guard(_dispensable)),
        _edge(V.REVERSE, [Y.AUTHORIZED], Y.REVERSED),
        _edge(V.EXPIRE, BEFORE_DISPENSE, Y.EXPIRED, guard(_window_closed)),
        _edge(V.VOID, [Y.AUTHORIZED], Y.VOIDED),
    ],
)


class CourseFlow(Flow):
    """A course row driven by ``COURSE_MACHINE``."""

    machine = COURSE_MACHINE


class CycleFlow(Flow):
    """A cycle row driven by ``CYCLE_MACHINE``."""

    machine = CYCLE_MACHINE


def mermaid(machine: Machine) -> str:
    """A mermaid ``stateDiagram-v2`` of a machine, in the order its transitions were declared."""
    lines = ["stateDiagram-v2", f"    [*] --> {machine.initial}"]
    has_exit = set()
    for name, event in machine.events.items():
        for source, transitions in event.transitions.items():
            for transition in transitions:
                lines.append(f"    {source} --> {transition.dest}: {name}")
                has_exit.add(source)
    lines += [f"    {state} --> [*]" for state in machine.states if state not in has_exit]
    return "\n".join(lines)
