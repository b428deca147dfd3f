"""The adapter between a persisted row and a shared state machine.

Machines are built once, with no model, and never bound to rows (a SQLModel row refuses the
attributes transitions adds; a machine per request is slow and leaks cycles). A ``Flow``
wraps any object with a ``state`` attribute, fires ``MACHINE.events[name].trigger(flow)``,
keeps what the guards found, and hands accepted transitions to ``on_transition`` so the
service can audit them in the same transaction.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar, Protocol

from transitions import EventData, Machine, MachineError

from workflows.dates import local_date
from workflows.decision import Check, Decision
from workflows.facts import AuthorizationFact, CourseFacts, DispenseFacts
from workflows.findings import Findings, all_met
from workflows.programs import Program, ProgramVersion, program_version_for


class HasState(Protocol):
    """Anything with a string ``state``: a persisted row, or a plain object in tests."""

    state: str


@dataclass(frozen=True, slots=True)
class Context:
    """What the guards read: facts, program, the server's instant, and the RMA concerned."""

    facts: CourseFacts
    program: Program
    now: datetime
    authorization: AuthorizationFact | None = None
    dispense: DispenseFacts | None = None

    @property
    def today(self) -> date:
        """The decision date in the program's zone."""
        return local_date(self.now, self.program.zone)

    @property
    def version(self) -> ProgramVersion:
        """The rule version in force today."""
        return program_version_for(self.program, self.today)


@dataclass(frozen=True, slots=True)
class TransitionResult:
    """What firing an event did: accepted or not, the states, and the findings behind it."""

    accepted: bool
    event: str
    source: str
    dest: str
    findings: Findings
    decision: Decision | None = None


@dataclass(frozen=True, slots=True)
class TransitionRecord:
    """A transition that happened, handed to ``on_transition`` for the audit log."""

    event: str
    source: str
    dest: str
    at: datetime
    findings: Findings


class InvalidTransition(Exception):
    """The event cannot happen in the current state (a conflict, not a rule refusal)."""

    def __init__(self, event: str, state: str) -> None:
        super().__init__(f"{event!r} cannot happen in state {state!r}")
        self.event, self.state = event, state


class Flow:
    """A plain adapter between a row's ``state`` column and a shared machine."""

    machine: ClassVar[Machine]

    def __init__(
        self, record: HasState, on_transition: Callable[[TransitionRecord], None] | None = None
    ) -> None:
        self._record = record
        self._on_transition = on_transition
        self._findings: Findings = ()
        self._decision: Decision | None = None

    @property
    def state(self) -> str:
        """The row's state column."""
        return str(self._record.state)

    @state.setter
    def state(self, value: str) -> None:
        self._record.state = str(value)

    def fire(self, event: str, context: Context) -> TransitionResult:
        """Try ``event``; a guard's refusal returns its findings, a wrong state raises."""
        self._findings, self._decision = (), None
        source = self.state
        if event not in self.machine.events:
            raise InvalidTransition(event, source)
        try:
            accepted = self.machine.events[event].trigger(self, context=context)
        except MachineError:
            raise InvalidTransition(event, source) from None
        return TransitionResult(accepted, event, source, self.state, self._findings, self._decision)

    def possible_events(self) -> tuple[str, ...]:
        """Events the current state allows (guards not yet asked), for offering actions."""
        return tuple(name for name, e in self.machine.events.items() if self.state in e.transitions)

    def note(self, findings: Findings, decision: Decision | None = None) -> None:
        """Keep what a guard found, for the result of ``fire``."""
        self._findings, self._decision = findings, decision

    def announce(self, event: EventData) -> None:
        """Tell the service about a transition that happened."""
        if self._on_transition is not None:
            transition = event.transition
            context: Context = event.kwargs["context"]
            record = TransitionRecord(
                event.event.name, transition.source, transition.dest, context.now, self._findings
            )
            self._on_transition(record)


def guard(*checks: Callable[[Context], Findings]) -> Callable[[EventData], bool]:
    """A transitions condition that runs pure checks and keeps their findings on the flow."""

    def condition(event: EventData) -> bool:
        context: Context = event.kwargs["context"]
        findings = tuple(f for check in checks for f in check(context))
        event.model.note(findings)
        return all_met(findings)

    return condition


def on_date(*checks: Check) -> Callable[[Context], Findings]:
    """Adapt ``check(facts, version, today)`` functions to a guard's context."""

    def run(context: Context) -> Findings:
        version, today = context.version, context.today
        return tuple(f for check in checks for f in check(context.facts, version, today))

    return run
