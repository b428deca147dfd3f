"""Rows to facts: the one read model, the place that reads a course's rows for the rules.

Pages, the API, the worklist and the command line all read a course here. Loading is
batched by course (one query per kind of row), so a page showing fifty patients costs the
same five queries as one patient does.
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from compliance.models import (
    ContraceptionMethod,
    Course,
    Cycle,
    Dispense,
    PatientProfile,
    Pharmacy,
    PregnancyTest,
    PrescriberProfile,
    Rma,
    RmaStatus,
)
from compliance.programs import DEFAULT_PROGRAM, program
from workflows.facts import (
    AuthorizationFact,
    CertificationFact,
    CourseFacts,
    CycleFacts,
    FillFact,
    MethodFact,
    TestFact,
    TestKind,
    TestResult,
    TestSetting,
)
from workflows.machines import CourseState, CycleState
from workflows.programs import program_version_for
from workflows.rules.certification import in_force

UNLIVE = (RmaStatus.REVERSED, RmaStatus.EXPIRED, RmaStatus.VOIDED)  # no longer count

CLOSED_CYCLES = (CycleState.DISPENSED, CycleState.EXPIRED, CycleState.VOIDED)


@dataclass
class CourseRows:
    """Everything the rules need about one course, as its rows; `facts()` gives the rules'
    typed view. Entries marked in error stay in the rows (the timeline shows them) and out
    of the facts. `cycle_count` is the number of the course's latest month, closed or not."""

    course: Course
    patient: PatientProfile
    prescriber: PrescriberProfile
    methods: list[ContraceptionMethod]
    tests: list[PregnancyTest]
    cycle: Cycle | None
    dispenses: list[Dispense] = field(default_factory=list)
    cycle_rmas: list[Rma] = field(default_factory=list)
    cycle_count: int = 0

    def facts(self) -> CourseFacts:
        return CourseFacts(
            category=self.patient.category,
            enrollment_signed=self.course.enrollment_signature_id is not None,
            counseled_on=self.course.counseled_on,
            methods=tuple(MethodFact(m.method, m.started_on, m.stopped_on)
                          for m in self.methods if m.in_error_at is None),
            tests=tuple(_test_fact(t) for t in self.tests if t.in_error_at is None),
            fills=tuple(FillFact(d.dispensed_on, d.days_supply) for d in self.dispenses),
            cycle=_cycle_facts(self.cycle, self.cycle_rmas),
            prescriber=prescriber_certification(self.prescriber),
            home_testing_enabled=self.course.home_testing_enabled,
            irregular_cycles=self.course.irregular_cycles,
            last_dose_on=self.course.last_dose_on,
            resumed_on=self.course.resumed_on,
        )


def _by_ids(model, column=None, *order):
    """A query for the rows of `model` whose `column` (its id) is among `ids`, in `order`;
    built once, as statement construction costs more than the query itself."""
    column = column if column is not None else model.id
    return select(model).where(column.in_(bindparam("ids", expanding=True))).order_by(*order)


_PEOPLE = (select(PatientProfile, PrescriberProfile)
           .join(PrescriberProfile, PrescriberProfile.id == PatientProfile.prescriber_id)
           .where(PatientProfile.id.in_(bindparam("ids", expanding=True))))
_METHODS = _by_ids(ContraceptionMethod, ContraceptionMethod.course_id,
                   ContraceptionMethod.started_on, ContraceptionMethod.id)
_TESTS = _by_ids(PregnancyTest, PregnancyTest.course_id, PregnancyTest.specimen_on,
                 PregnancyTest.id)
_DISPENSES = _by_ids(Dispense, Dispense.course_id, Dispense.dispensed_on, Dispense.id)
# The latest month of each course (numbered in order of opening, as ids are given), with
# its RMAs: one row per RMA, or one with none.
_LATEST_CYCLES = (select(Cycle, Rma).outerjoin(Rma, Rma.cycle_id == Cycle.id)
                  .where(Cycle.id.in_(select(func.max(Cycle.id))
                                      .where(Cycle.course_id.in_(bindparam("ids", expanding=True)))
                                      .group_by(Cycle.course_id)))
                  .order_by(Rma.id))
_LOCKED_LATEST_CYCLES = _LATEST_CYCLES.with_for_update(of=Cycle)


def load_rows(db: Session, courses: list[Course], *, lock: bool = False) -> list[CourseRows]:
    """The rows of each course, in the order given, with five queries in all; `lock` locks
    each course's latest month as it is read, until the caller commits."""
    ids = [c.id for c in courses]
    if not ids:
        return []

    def rows_of(query, keys) -> list:
        return db.scalars(query, {"ids": list(keys)}).all()

    people = db.execute(_PEOPLE, {"ids": list({c.patient_id for c in courses})}).all()
    people_of = {patient.id: (patient, prescriber) for patient, prescriber in people}
    methods, tests, dispenses, rmas = (defaultdict(list) for _ in range(4))
    for method in rows_of(_METHODS, ids):
        methods[method.course_id].append(method)
    for test in rows_of(_TESTS, ids):
        tests[test.course_id].append(test)
    for dispense in rows_of(_DISPENSES, ids):
        dispenses[dispense.course_id].append(dispense)
    latest = db.execute(_LOCKED_LATEST_CYCLES if lock else _LATEST_CYCLES, {"ids": ids},
                        execution_options={"populate_existing": lock})  # as locked, if so
    cycles = {}
    for cycle, rma in latest:
        cycles[cycle.course_id] = cycle
        if rma is not None:
            rmas[cycle.id].append(rma)
    rows = []
    for c in courses:
        cycle = current_cycle(cycles.get(c.id))
        patient, prescriber = people_of[c.patient_id]
        rows.append(CourseRows(c, patient, prescriber, methods[c.id], tests[c.id], cycle,
                               dispenses[c.id], rmas[cycle.id] if cycle else [],
                               cycles[c.id].number if c.id in cycles else 0))
    return rows


# Courses the rules still act on: time alone moves their windows and due dates.
OPEN_STATES = (CourseState.ENROLLED, CourseState.QUALIFYING, CourseState.ACTIVE,
               CourseState.POST_TREATMENT, CourseState.SUSPENDED)


def open_course_batches(db: Session, batch_size: int) -> Iterator[list[CourseRows]]:
    """The rows of every open course, `batch_size` courses at a time in id order, so a
    periodic job can commit after each batch and never holds the whole population."""
    last_id = 0
    while batch := list(db.scalars(select(Course).where(Course.state.in_(OPEN_STATES),
                                                        Course.id > last_id)
                                   .order_by(Course.id).limit(batch_size))):
        last_id = batch[-1].id
        yield load_rows(db, batch)


_LOCK_ON_CARD = (update(Course)
                 .where(Course.patient_id == PatientProfile.id,
                        PatientProfile.program_patient_id == bindparam("card_id"),
                        PatientProfile.date_of_birth == bindparam("born"))
                 .values(version=Course.version + 1).returning(Course))


def load_locked(db: Session, card_id: str, born: date) -> CourseRows | None:
    """The rows of the course of the patient with this program ID and date of birth, for a
    decision that will change it, locked until the caller commits; None if no patient
    matches both (or the patient has no course).

    The course's version is raised before its rows are read, which takes the row's write
    lock (on SQLite, the database's), and the month in progress is locked as it is read: a
    decision made on these rows waits for any change to the course in progress, reads what
    it committed, and holds off the next one (a positive test, a fill, a monthly step) until
    the decision is written.
    """
    course = db.scalars(_LOCK_ON_CARD, {"card_id": card_id, "born": born},
                        execution_options={"populate_existing": True,
                                           "synchronize_session": False}).one_or_none()
    if course is None:
        return None
    return load_rows(db, [course], lock=True)[0]


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


def pharmacy_certification(pharmacy: Pharmacy) -> CertificationFact | None:
    """The rules' view of a pharmacy's certification, with its own staff-training date."""
    if pharmacy.certification_status != "certified" or pharmacy.certified_on is None:
        return None
    return CertificationFact(activated_on=pharmacy.certified_on,
                             revoked_on=pharmacy.certification_expires_on,
                             staff_trained_on=pharmacy.staff_trained_on)


def authorization_fact(rma: Rma) -> AuthorizationFact:
    return AuthorizationFact(rma.do_not_dispense_after,
                             reversed=rma.status in UNLIVE)


def _cycle_facts(cycle: Cycle | None, rmas: list[Rma]) -> CycleFacts | None:
    if cycle is None:
        return None
    return CycleFacts(
        prescriber_confirmed_at=cycle.prescriber_confirmed_at,
        patient_attested_at=cycle.patient_attested_at,
        quiz_passed=cycle.quiz_passed,
        patient_confirmed_methods=tuple(cycle.patient_confirmed_methods or ()),
        authorizations=tuple(authorization_fact(r) for r in rmas),
    )


def prescriber_certified_today(prescriber: PrescriberProfile, today: date,
                               code: str = DEFAULT_PROGRAM) -> bool:
    """Whether the prescriber may act today, decided by the rules core as every decision
    decides it (enrollment asks it too)."""
    months = program_version_for(program(code), today).prescriber_certification_months
    return in_force(prescriber_certification(prescriber), months, today)


def pharmacy_certified_today(pharmacy, today: date, code: str = DEFAULT_PROGRAM) -> bool:
    """The same for a pharmacy (a row, or a plain record of its certification columns), as
    the API's gate asks it."""
    months = program_version_for(program(code), today).pharmacy_certification_months
    return in_force(pharmacy_certification(pharmacy), months, today)
