"""The rules core: pregnancy-prevention programs as data, and pure decisions over facts.

Nothing here touches Flask, the database or the clock. The service layer builds facts from
rows, passes the server's instant, and persists what comes back:

- ``load_programs`` / ``program_version_for``: validated program definitions by date;
- ``evaluate_authorization``: an RMA decision with every finding, the DNDPA date and the
  window's closing instant;
- ``plan_course``: what is due next and by when;
- ``CourseFlow`` / ``CycleFlow``: the state machines, wrapped around a row's state column.
"""

from workflows.decision import Decision, Outcome, evaluate_authorization
from workflows.findings import Actor, Finding, ReasonCode, SourceKind
from workflows.flow import Context, InvalidTransition, TransitionRecord, TransitionResult
from workflows.machines import (
    CourseEvent,
    CourseFlow,
    CourseState,
    CycleEvent,
    CycleFlow,
    CycleState,
)
from workflows.planner import Plan, PlanItem, PlanItemKind, plan_course
from workflows.programs import (
    DefinitionError,
    Program,
    ProgramVersion,
    load_programs,
    program_version_for,
)

__all__ = [
    "Actor",
    "Context",
    "CourseEvent",
    "CourseFlow",
    "CourseState",
    "CycleEvent",
    "CycleFlow",
    "CycleState",
    "Decision",
    "DefinitionError",
    "Finding",
    "InvalidTransition",
    "Outcome",
    "Plan",
    "PlanItem",
    "PlanItemKind",
    "Program",
    "ProgramVersion",
    "ReasonCode",
    "SourceKind",
    "TransitionRecord",
    "TransitionResult",
    "evaluate_authorization",
    "load_programs",
    "plan_course",
    "program_version_for",
]
