"""A course as the pages read it: its rows, the rules' facts, today's decision and plan, and
what its category asks of each person.

Computed once per page from the read model (`facts.load_rows`), so no view builds facts or
calls the rules itself, and the prescriber's chart, the patient's home, the calendar file
and the worklist say the same thing as the pharmacy's decision. The plan's types are
re-exported for the pages that word it, so the web layer never imports the rules core's
decision, planner or rules modules.
"""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from compliance.models import Course
from compliance.programs import program
from compliance.services import worklist
from compliance.services.facts import CourseRows, load_rows
from workflows.decision import Decision, evaluate_authorization
from workflows.facts import CourseFacts, TestSetting
from workflows.planner import Plan, PlanItem, PlanItemKind, plan_course
from workflows.programs import (
    Category,
    CategoryKind,
    Program,
    ProgramVersion,
    program_version_for,
)

__all__ = ["CourseRows", "CourseView", "Plan", "PlanItem", "PlanItemKind", "course_rows",
           "view_course", "view_of"]


@dataclass(frozen=True)
class CourseView:
    """One course at one instant, in the program's zone."""

    rows: CourseRows
    facts: CourseFacts
    program: Program
    version: ProgramVersion
    now: datetime
    today: date
    plan: Plan
    decision: Decision
    action: worklist.NextAction

    @property
    def window(self) -> PlanItem | None:
        """The dispensing window the plan shows, if one is open or coming."""
        return self.plan.get(PlanItemKind.DISPENSING_WINDOW)

    @property
    def category(self) -> Category | None:
        return self.version.category(self.facts.category)

    @property
    def unmet(self) -> frozenset[str]:
        """The codes of today's unmet findings."""
        return frozenset(f.code for f in self.decision.unmet)

    @property
    def patient_answers_needed(self) -> bool:
        """The program asks this patient to answer and attest each month."""
        return self._asked(self.version.patient_attestation_categories.value)

    @property
    def monthly_confirmation_needed(self) -> bool:
        """The program asks the prescriber to confirm each month for this patient."""
        return self._asked(self.version.prescriber_confirmation_categories.value)

    @property
    def can_get_pregnant(self) -> bool:
        return self._asked((CategoryKind.CAN_GET_PREGNANT,))

    @property
    def home_testing_allowed(self) -> bool:
        return TestSetting.HOME in self.version.monthly_settings.value

    def _asked(self, kinds) -> bool:
        return self.category is not None and self.category.kind in kinds


def view_course(db: Session, course: Course, now: datetime) -> CourseView:
    """The course's view now: one batched load, one decision, one plan."""
    return view_of(course_rows(db, course), now)


def course_rows(db: Session, course: Course) -> CourseRows:
    """The course's rows alone (methods, tests, fills...), for a form that lists its entries
    before anything is decided."""
    return load_rows(db, [course])[0]


def view_of(rows: CourseRows, now: datetime) -> CourseView:
    """The view of rows already loaded."""
    prog = program(rows.course.program)
    today = now.astimezone(prog.zone).date()
    facts = rows.facts()
    decision = evaluate_authorization(facts, prog, now)
    return CourseView(rows=rows, facts=facts, program=prog,
                      version=program_version_for(prog, today), now=now, today=today,
                      plan=plan_course(facts, prog, today), decision=decision,
                      action=worklist.next_action(rows, now, decision))
