"""Rows to facts: the one place that reads a course's rows for the rules core.

Loading is batched by course (one query per kind of row), so a page showing fifty patients
costs a handful of queries, not fifty times as many.
"""

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.models import (
    ContraceptionMethod,
    Course,
    Cycle,
    PatientProfile,
    PregnancyTest,
    PrescriberProfile,
)
from workflows.facts import (
    CertificationFact,
    CourseFacts,
    CycleFacts,
    MethodFact,
    TestFact,
    TestKind,
    TestResult,
    TestSetting,
)
from workflows.machines import CycleState

CLOSED_CYCLES = (CycleState.DISPENSED, CycleState.EXPIRED)


@dataclass
class CourseRows:
    """Everything the rules need about one course, as rows."""

    course: Course
    patient: PatientProfile
    prescriber: PrescriberProfile
    methods: list[ContraceptionMethod]
    tests: list[PregnancyTest]
    cycle: Cycle | None

    def facts(self) -> CourseFacts:
        return CourseFacts(
            category=self.patient.category,
            enrollment_signed=self.course.enrollment_signature_id is not None,
            counseled_on=self.course.counseled_on,
            methods=tuple(MethodFact(m.method, m.started_on, m.stopped_on)
                          for m in self.methods),
            tests=tuple(_test_fact(t) for t in self.tests),
            cycle=_cycle_facts(self.cycle),
            prescriber=prescriber_certification(self.prescriber),
            home_testing_enabled=self.course.home_testing_enabled,
            irregular_cycles=self.course.irregular_cycles,
            last_dose_on=self.course.last_dose_on,
        )


def load_rows(db: Session, courses: list[Course]) -> list[CourseRows]:
    """The rows of each course, in the order given, with four queries in all."""
    ids = [c.id for c in courses]
    if not ids:
        return []
    patients = {p.id: p for p in db.scalars(select(PatientProfile).where(
        PatientProfile.id.in_({c.patient_id for c in courses})))}
    prescribers = {p.id: p for p in db.scalars(select(PrescriberProfile).where(
        PrescriberProfile.id.in_({c.prescriber_id for c in courses})))}
    methods, tests, cycles = defaultdict(list), defaultdict(list), {}
    for method in db.scalars(select(ContraceptionMethod).where(
            ContraceptionMethod.course_id.in_(ids)).order_by(ContraceptionMethod.started_on,
                                                             ContraceptionMethod.id)):
        methods[method.course_id].append(method)
    for test in db.scalars(select(PregnancyTest).where(PregnancyTest.course_id.in_(ids))
                           .order_by(PregnancyTest.specimen_on, PregnancyTest.id)):
        tests[test.course_id].append(test)
    for cycle in db.scalars(select(Cycle).where(Cycle.course_id.in_(ids))
                            .order_by(Cycle.number)):
        cycles[cycle.course_id] = cycle  # the latest wins
    return [CourseRows(c, patients[c.patient_id], prescribers[c.prescriber_id],
                       methods[c.id], tests[c.id], current_cycle(cycles.get(c.id)))
            for c in courses]


def current_cycle(latest: Cycle | None) -> Cycle | None:
    """The month in progress: the latest cycle unless it is already dispensed or expired."""
    if latest is None or latest.state in CLOSED_CYCLES:
        return None
    return latest


def prescriber_certification(prescriber: PrescriberProfile) -> CertificationFact | None:
    """The rules' view of a certification: activated on a date, unless not certified."""
    if prescriber.certification_status != "certified" or prescriber.certified_on is None:
        return None
    return CertificationFact(activated_on=prescriber.certified_on,
                             revoked_on=prescriber.certification_expires_on)


def _test_fact(test: PregnancyTest) -> TestFact:
    return TestFact(TestKind(test.kind), test.specimen_on, TestResult(test.result),
                    TestSetting(test.setting), test.sensitivity_miu,
                    test.verified_by_prescriber)


def _cycle_facts(cycle: Cycle | None) -> CycleFacts | None:
    if cycle is None:
        return None
    return CycleFacts(
        prescriber_confirmed_at=cycle.prescriber_confirmed_at,
        patient_attested_at=cycle.patient_attested_at,
        quiz_passed=cycle.quiz_passed,
        patient_confirmed_methods=tuple(cycle.patient_confirmed_methods or ()),
    )
