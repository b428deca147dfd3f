"""Does a course stay right at every moment of its life, whatever people do and whenever?

A Hypothesis state machine drives the real services on the test database: the prescriber
enters tests, methods, the category and the end of treatment and confirms months; the
patient answers and attests; the pharmacy asks for RMAs, fills and reverses them; the
administrator renews, suspends or lets lapse a certification. A simulated clock kept in
the program's zone (America/New_York) moves 0 to 40 days at a time, across the DST changes
and, from one of the start dates, across the iPLEDGE 2026 go-live (2026-08-08). After every
step the course is held to domain.md section 3b against the machine's own small model:

1. A fill is recorded only under a live RMA (issued, not reversed, expired or voided), on a
   qualifying or active course, with the pharmacy and the prescriber certified and no
   positive test; after a positive test or the end of treatment every RMA that was issued
   reads `voided`, and a dispense on it is a Conflict.
2. One month, one fill: for a patient who can get pregnant each fill rests on a negative
   test of its own, taken within the 7 days up to its RMA and after the previous fill, and
   the month's confirmation and attestation were made on or after that test's day.
3. Every reason of a denial names who must act, and nothing the pharmacy reads (reasons,
   refusals) gives away a result, a method or a test's date.
4. A suspended or ended course is denied, its reasons leading with what stops it.
5. The patient is never asked a question asked the month before, and after the program's
   number of wrong tries no answer counts until the prescriber records re-education.

Refusals (`Refused`, `Conflict`, `NotFound`) are normal outcomes here, recorded by the model.
`STATEFUL_INVARIANTS=1,2` (say) checks only those invariants ("1v" is the voided status of
invariant 1), to watch one bug at a time; `STATEFUL_EXAMPLES` raises the budget.
"""

import functools
import os
import re
import shutil
from collections import Counter
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import count, pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import freezegun
import pytest
from hypothesis import HealthCheck, Phase, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.db import get_engine, make_engine
from compliance.models import (
    Course,
    Cycle,
    PatientProfile,
    Pharmacy,
    PrescriberProfile,
    QuestionBank,
    Rma,
    User,
)
from compliance.programs import program
from compliance.services import (
    courses,
    methods,
    monthly,
    organisations,
    patients,
    question_banks,
    rma_requests,
)
from compliance.services import rma as rma_service
from compliance.services.errors import Conflict, Refused
from tests import conftest
from tests.course_helpers import DOB, World, rma_ask
from workflows.dates import MONTHS, add_months

pytestmark = pytest.mark.db

ZONE = ZoneInfo("America/New_York")
ENABLED = set(os.environ.get("STATEFUL_INVARIANTS", "1,1v,2,3,4,5").replace(" ", "").split(","))

# Where a course starts (local time in New York): each start is under one iPLEDGE version,
# and its first weeks cross a DST change or the 2026 version's go-live.
STARTS = {
    "2026-10-20 (iPLEDGE 2026; DST ends Nov 1)": datetime(2026, 10, 20, 10, 0, tzinfo=ZONE),
    "2026-02-24 (iPLEDGE 2021; DST starts Mar 8)": datetime(2026, 2, 24, 10, 0, tzinfo=ZONE),
    "2026-07-20 (iPLEDGE 2021; 2026 rules from Aug 8)": datetime(2026, 7, 20, 10, 0, tzinfo=ZONE),
    "2027-03-01 (iPLEDGE 2026; DST starts Mar 14)": datetime(2027, 3, 1, 10, 0, tzinfo=ZONE),
}
HOURS = {"09:00": time(9), "23:30": time(23, 30), "00:30": time(0, 30), "15:00": time(15)}

# Programs the machine enrolls patients in: iPLEDGE (both rule versions, by the start date)
# and the lenalidomide class (adults who can and who cannot get pregnant; its first test 12
# days before the first prescription, its supply at most 28 days, its weekly cadence).
PROGRAMS = ("ipledge", "ipledge", "lenalidomide")
REACHED: Counter = Counter()
# The monthly order, as the steps of `a_month_moves_on` (in their order), and how far a
# month moves on: (up to which step, which test it rests on: a new one when the last fill
# needs one, or the last one taken if it is recent, even from before the last fill).
MONTHLY_ORDER = {"the wait": 0, "the test": 1, "the confirmation": 2, "the answers": 3,
                 "the RMA": 4, "the fill": 5}
MONTHS_MOVE = {
    "up to the fill": ("the fill", "new when due"),
    "up to the fill, on the last test": ("the fill", "the last one reused"),
    "up to the patient's answers": ("the answers", "new when due"),
    "up to the RMA": ("the RMA", "new when due"),
}
WHICH_RMA = {"the latest": -1, "the one before": -2, "the first": 0}


def step(function):
    """A rule whose end is checked against the model (in place of an @invariant, so the
    printed steps are the people's acts only)."""
    @functools.wraps(function)
    def checked(self, **kwargs):
        result = function(self, **kwargs)
        self._holds_after_every_step()
        return result
    return checked


@dataclass(frozen=True)
class Plan:
    """What the machine needs to know of a program to play a course in it."""

    can_get_pregnant: str
    cannot_get_pregnant: str
    methods: tuple[str, str]
    screening_days_before: int | None = None  # the program's own, instead of the drawn one
    max_days_supply: int = 30


PLANS = {"ipledge": Plan("can_get_pregnant", "cannot_get_pregnant",
                         ("intrauterine_device", "male_latex_condom")),
         "lenalidomide": Plan("adult_can_get_pregnant", "adult_female_cannot_get_pregnant",
                              ("intrauterine_device", "male_latex_condom"),
                              screening_days_before=12, max_days_supply=28)}

# A denial of a stopped course leads with one of these (the pharmacy's word, or the rules').
STOP_CODES = {"TREATMENT_STOPPED", "TREATMENT_ENDED", "POSITIVE_PREGNANCY_TEST"}
OPEN_STATES = ("qualifying", "active", "post_treatment")
CLINICAL_WORDS = ("condom", "intrauterine", "diaphragm", "spermicide", "vasectomy",
                  "sterilization", "abstinence", "progestin", "mini-pill", "oral pill",
                  "vaginal ring", "vaginal sponge", "cervical cap", "implant", "injectable",
                  "transdermal")


@dataclass
class TestRecord:
    __test__ = False  # not a pytest class

    id: int
    kind: str
    specimen_on: date
    result: str
    setting: str


@dataclass
class MethodRecord:
    id: int
    method: str
    started_on: date
    stopped_on: date | None = None

    def in_use_on(self, day: date) -> bool:
        return self.started_on <= day and (self.stopped_on is None or day <= self.stopped_on)


@dataclass
class RmaRecord:
    id: int
    number: str
    cycle_id: int
    issued_at: datetime
    do_not_dispense_after: date
    category: str  # the patient's category when it was issued
    status: str = "issued"  # issued, dispensed or reversed, as the model saw it happen
    voided_by: str | None = None  # the stop that must have voided it while it was live
    dead_at_stop: str | None = None  # a stop came after its DNDPA: never dispensable again

    def __repr__(self) -> str:
        return f"RMA {self.number} (DNDPA {self.do_not_dispense_after})"


@dataclass
class Fill:
    rma: RmaRecord
    dispensed_on: date
    seq: int  # when, among the model's acts (instants can be equal)
    days_supply: int
    backing_test: int | None


@dataclass
class Certification:
    status: str
    certified_on: date
    expires_on: date

    def in_force_on(self, day: date) -> bool:
        """In force as the rules count it: activated, not revoked, for at most 12 months."""
        ends = min(add_months(self.certified_on, 12), self.expires_on)
        return self.status == "certified" and self.certified_on <= day < ends


@dataclass
class Environment:
    """What every example shares: the test's app, the database it starts from, a frozen
    clock, and (on SQLite) the enrolled courses already built, by their set-up."""

    app: object
    template: object  # the SQLite template file, or the PostgreSQL URL
    tmp_path: Path
    frozen: object  # freezegun's frozen clock, moved to each simulated instant
    examples: count = field(default_factory=count)
    enrolled: dict = field(default_factory=dict)


@dataclass
class Enrolled:
    """A set-up as the services left it: a copy of the database, the model, what was said."""

    database: Path
    model: dict
    ids: dict
    notes: list


# The model's state, as copied with an enrolled course.
MODEL = ("plan", "category", "state", "tests", "method_rows", "all_rmas", "fills",
         "certifications", "last_dose_on", "act", "confirmed", "attested", "local",
         "enrolled_methods", "days_supply")


class CourseLife(RuleBasedStateMachine):
    """One patient's course, one certified pharmacy, and a clock."""

    methods = Bundle("methods")

    def __init__(self, env: Environment):
        super().__init__()
        self.env = env
        self._frozen = env.frozen
        self._context = env.app.test_request_context()
        self._context.push()
        self._sqlite_file = None
        if conftest.ON_POSTGRES:
            with conftest._cleanup_engine(env.template).begin() as connection:
                connection.exec_driver_sql(conftest._EMPTY_ALL_TABLES)
            self._engine = get_engine(env.app)
        else:
            self._sqlite_file = env.tmp_path / f"example-{next(env.examples)}.db"
            shutil.copyfile(env.template, self._sqlite_file)
            self._engine = make_engine(f"sqlite:///{self._sqlite_file}")
        self.db = Session(self._engine, expire_on_commit=False)
        self._notes: list[str] = []
        # The model.
        self.plan: Plan | None = None
        self.days_supply = 30  # of the prescription, asked for and filled each month
        self.category = ""
        self.state = "enrolled"
        self.tests: list[TestRecord] = []
        self.method_rows: list[MethodRecord] = []
        self.enrolled_methods: list[MethodRecord] = []
        self.all_rmas: list[RmaRecord] = []
        self.fills: list[Fill] = []
        self.certifications: dict[str, Certification] = {}
        self.last_dose_on: date | None = None
        self.act = 0  # orders the model's acts, which may share an instant
        self.confirmed: tuple[int, date] | None = None  # the last confirmation: act, day
        self.attested: int | None = None  # the last attestation's act

    def teardown(self):
        if self.plan is not None:  # what the examples reached (STATEFUL_REPORT=1 prints it)
            REACHED[f"fills: {min(len(self.fills), 3)}{'+' if len(self.fills) > 3 else ''}"] += 1
            REACHED[f"course ends {self.state}"] += 1
            REACHED[f"RMAs issued: {min(len(self.all_rmas), 3)}"] += 1
            REACHED["a live RMA met a stop"] += any(r.voided_by for r in self.all_rmas)
            REACHED[f"{self.plan.can_get_pregnant.split('_')[0]} fills: "
                    f"{min(len(self.fills), 2)}"] += 1
        self.db.close()
        if self._sqlite_file is not None:
            self._engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self._sqlite_file}{suffix}").unlink(missing_ok=True)
        self._context.pop()

    # The clock: local time in New York; the services get the UTC instant.

    @property
    def now(self) -> datetime:
        return self.local.astimezone(UTC)

    @property
    def today(self) -> date:
        return self.local.date()

    def _set_clock(self, local: datetime) -> None:
        self.local = local
        self._frozen.move_to(self.now)

    def _say(self, text: str, *, stamped: bool = True) -> None:
        """A line of the failing example's story (printed just above the step it is from)."""
        line = f"# {self._stamp()}  {text}" if stamped else f"#     {text}"
        self._notes.append(line)
        note(line)

    def _stamp(self) -> str:
        return f"{self.local:%a %Y-%m-%d %H:%M %Z}"

    def _next_act(self) -> int:
        self.act += 1
        return self.act

    def _attempt(self, what: str, call):
        """Run one service call at the simulated instant, on fresh rows as a new request
        would read them; a refusal is an outcome (its transaction rolled back)."""
        self.db.rollback()
        try:
            result = call()
        except Refused as refused:
            self.db.rollback()
            self._say(f"{what}: refused ({type(refused).__name__}: {refused})")
            return refused
        self._say(f"{what}: done")
        return result

    # Setting up: a certified prescriber and pharmacy, a question bank, an enrolled patient.

    @initialize(target=methods, start=st.sampled_from(list(STARTS)),
                code=st.sampled_from(PROGRAMS),
                category=st.sampled_from(["can get pregnant", "can get pregnant",
                                          "cannot get pregnant"]),
                screening_days_before=st.sampled_from([19, 25]),
                prescription=st.sampled_from(["30 days", "5 days"]),
                months_already_filled=st.integers(0, 2), then_an_rma_out=st.booleans())
    @step
    def a_patient_enrolls(self, start, code, category, screening_days_before, prescription,
                          months_already_filled, then_an_rma_out):
        """Enrollment, counseling, two methods, a screening test; then, if asked, whole
        months played out in the monthly order (a test, the confirmation, the patient's
        answers, an RMA and its 30-day fill) and the next one up to its RMA. On SQLite a
        set-up built once is copied for the next examples that ask for it."""
        key = (start, code, category, screening_days_before, prescription,
               months_already_filled, then_an_rma_out)
        if key in self.env.enrolled:
            self._restore(self.env.enrolled[key])
        else:
            self._enroll(STARTS[start], code, category, screening_days_before,
                         int(prescription.split()[0]), months_already_filled, then_an_rma_out)
            if self._sqlite_file is not None:
                self.env.enrolled[key] = self._keep()
        return multiple(*self.enrolled_methods)

    def _enroll(self, start, code, category, screening_days_before, days_supply,
                months_already_filled, then_an_rma_out):
        self.plan = PLANS[code]
        self.days_supply = min(days_supply, self.plan.max_days_supply)
        screening_days_before = self.plan.screening_days_before or screening_days_before
        self._set_clock(start)
        factory = conftest.Factory(self.db)
        prescriber = factory.prescriber()
        site = factory.pharmacy()
        for who, row in (("prescriber", prescriber), ("pharmacy", site)):
            self._certify(who, row, "certified", self.today - timedelta(days=60))
        for bank_category in (self.plan.cannot_get_pregnant, self.plan.can_get_pregnant):
            bank = question_banks.create_version(
                self.db, program=code, category=bank_category, now=self.now,
                questions=question_banks.DEFAULT_IPLEDGE_QUESTIONS)
            question_banks.activate(self.db, bank=bank, now=self.now)
        self.category = (self.plan.can_get_pregnant if category == "can get pregnant"
                         else self.plan.cannot_get_pregnant)
        patient, _ = patients.register_patient(
            self.db, prescriber=prescriber, now=self.now, today=self.today, invitation_days=7,
            data={"given_name": "Casey", "family_name": "Morgan", "date_of_birth": DOB,
                  "email": "casey@example.com", "weight_kg": 60, "program": code,
                  "category": self.category,
                  "category_reason": "As assessed at enrollment."})
        patient_user = self.db.get(User, patient.user_id)
        patient_user.password_hash = conftest.PASSWORD_HASH
        self.db.commit()
        course = self.db.scalars(select(Course).where(Course.patient_id == patient.id)).one()
        self._ids = {"prescriber": prescriber.id, "pharmacy": site.id, "patient": patient.id,
                     "course": course.id, "bank": bank.id}
        self._load()
        monthly.sign_enrollment(self.db, course=course, patient_user=patient_user,
                                password=conftest.PASSWORD, now=self.now)
        courses.record_counseling(self.db, course=course, counseled_on=self.today,
                                  today=self.today, now=self.now)
        self.enrolled_methods = [
            self._add_method(m, self.today - timedelta(days=40)) for m in self.plan.methods]
        self._record_test("screening", "negative", "office",
                          self.today - timedelta(days=screening_days_before))
        self.state = "qualifying"
        assert self._course_state() == "qualifying", "set-up: the course should qualify"
        self._say(f"enrolled ({self.category}); screening test {screening_days_before} days ago")
        for _ in range(2 * months_already_filled):
            if len(self.fills) < months_already_filled:
                self._advance("the fill", "new when due")
        if then_an_rma_out:
            self._advance("the RMA", "new when due")

    def _load(self) -> None:
        """The rows the services are called with, read by their ids."""
        ids, db = self._ids, self.db
        self.prescriber = db.get(PrescriberProfile, ids["prescriber"])
        self.pharmacy = db.get(Pharmacy, ids["pharmacy"])
        patient = db.get(PatientProfile, ids["patient"])
        self.bank = db.get(QuestionBank, ids["bank"])
        self.world = World(db.get(User, self.prescriber.user_id), db.get(User, patient.user_id),
                           patient, db.get(Course, ids["course"]), self.bank, self.prescriber.npi)

    def _keep(self) -> Enrolled:
        """This set-up, for the next examples that ask for it."""
        self.db.close()
        self._engine.dispose()  # SQLite folds its write-ahead log into the file
        copy = self.env.tmp_path / f"enrolled-{len(self.env.enrolled)}.db"
        shutil.copyfile(self._sqlite_file, copy)
        self._engine = make_engine(f"sqlite:///{self._sqlite_file}")
        self.db = Session(self._engine, expire_on_commit=False)
        self._load()
        model = deepcopy({name: getattr(self, name) for name in MODEL})
        return Enrolled(copy, model, dict(self._ids), list(self._notes))

    def _restore(self, enrolled: Enrolled) -> None:
        self.db.close()
        self._engine.dispose()
        shutil.copyfile(enrolled.database, self._sqlite_file)
        self._engine = make_engine(f"sqlite:///{self._sqlite_file}")
        self.db = Session(self._engine, expire_on_commit=False)
        for name, value in deepcopy(enrolled.model).items():
            setattr(self, name, value)
        self._ids = dict(enrolled.ids)
        self._load()
        self._frozen.move_to(self.now)
        for line in enrolled.notes:
            note(line)  # as first said, with their instants

    # Time.

    @rule(days=st.one_of(st.integers(0, 7), st.integers(8, 40)), at=st.sampled_from(list(HOURS)))
    @step
    def time_passes(self, days, at):
        """Move `days` days on, to the local hour `at` (never backwards)."""
        target = datetime.combine(self.today + timedelta(days=days), HOURS[at], tzinfo=ZONE)
        if target > self.local:
            self._set_clock(target)
        self._say("(clock)")

    # The prescriber.

    @rule(kind=st.sampled_from(["for this fill"] * 3 + ["screening", "confirmation",
                                                       "monthly", "post_treatment"]),
          result=st.sampled_from(["negative"] * 4 + ["positive", "invalid"]),
          setting=st.sampled_from(["laboratory", "laboratory", "office", "clinic", "home"]),
          days_ago=st.sampled_from([0, 0, 1, 3, 6]))
    @step
    def prescriber_enters_test(self, kind, result, setting, days_ago):
        kind = self._needed_kind() if kind == "for this fill" else kind
        self._record_test(kind, result, setting, self.today - timedelta(days=days_ago))

    @rule()
    @step
    def prescriber_confirms_month(self):
        self._confirm()

    @rule()
    @step
    def prescriber_reeducates(self):
        self._attempt("prescriber records re-education", lambda: monthly.record_reeducation(
            self.db, course=self.world.course, note="", now=self.now))

    @rule(target=methods, method=st.sampled_from(
        ["combined_oral_pill", "male_latex_condom", "intrauterine_device",
         "progestin_only_pill", "abstinence"]), days_ago=st.sampled_from([0, 40]))
    @step
    def prescriber_adds_method(self, method, days_ago):
        added = self._add_method(method, self.today - timedelta(days=days_ago))
        return added if added is not None else multiple()

    @rule(target=methods, method=consumes(methods), days_ago=st.sampled_from([0, 1]))
    @step
    def prescriber_stops_method(self, method, days_ago):
        stopped_on = self.today - timedelta(days=days_ago)
        outcome = self._attempt(
            f"stop {method.method} on {stopped_on}", lambda: methods.stop_method(
                self.db, course=self.world.course, method_id=method.id, stopped_on=stopped_on,
                today=self.today, now=self.now))
        if isinstance(outcome, Refused):
            return method
        method.stopped_on = stopped_on
        return multiple()

    @rule(to=st.sampled_from(["cannot get pregnant", "can get pregnant"]))
    @step
    def prescriber_changes_category(self, to):
        new = self.plan.can_get_pregnant if to == "can get pregnant" else \
            self.plan.cannot_get_pregnant
        outcome = self._attempt(f"change the category to {new}", lambda: courses.change_category(
            self.db, patient=self.world.patient, course=self.world.course, category=new,
            reason="Reassessed at a visit.", changed_by=self.world.prescriber_user.id,
            now=self.now))
        if not isinstance(outcome, Refused):
            self.category = new

    @precondition(lambda self: self.fills)
    @rule(days_ago=st.sampled_from([0, 1, 3]))
    @step
    def prescriber_ends_treatment(self, days_ago):
        last_dose = self.today - timedelta(days=days_ago)
        outcome = self._attempt(f"end treatment (last dose {last_dose})",
                                lambda: courses.end_treatment(
                                    self.db, course=self.world.course, last_dose_on=last_dose,
                                    today=self.today, now=self.now))
        if not isinstance(outcome, Refused):
            self.last_dose_on = last_dose
            self.state = "post_treatment"
            self._stop_everything(f"the end of treatment on {self.today}")

    # The patient.

    @rule(answers=st.sampled_from(["right", "wrong"]))
    @step
    def patient_answers_quiz(self, answers):
        self._quiz(answers == "right")

    @rule(methods=st.sampled_from(["as entered", "one left out", "one added"]))
    @step
    def patient_attests(self, methods):
        chosen = self._methods_in_use()
        if methods == "one left out":
            chosen = chosen[1:]
        elif methods == "one added":
            chosen = sorted({*chosen, "vaginal_ring"})
        self._attest(chosen)

    # The pharmacy.

    @rule(days_supply=st.sampled_from([30, 30, 5, 31]))
    @step
    def pharmacy_asks_for_rma(self, days_supply):
        self._ask(days_supply)

    @precondition(lambda self: self.all_rmas)
    @rule(which=st.sampled_from(list(WHICH_RMA)), days_supply=st.sampled_from([30, 5, 14]))
    @step
    def pharmacy_dispenses(self, which, days_supply):
        self._dispense(self._rma(which), days_supply)

    @precondition(lambda self: self.all_rmas)
    @rule(which=st.sampled_from(list(WHICH_RMA)))
    @step
    def pharmacy_reverses(self, which):
        rma = self._rma(which)
        outcome = self._attempt(f"reverse {rma!r}", lambda: rma_service.reverse(
            self.db, pharmacy=self.pharmacy, rma_number=rma.number, now=self.now))
        if isinstance(outcome, Refused):
            self._check_pharmacy_refusal(outcome)
        else:
            rma.status = "reversed"

    # The administrator.

    @rule(who=st.sampled_from(["pharmacy", "prescriber"]),
          change=st.sampled_from(["renewed today", "suspended", "lapsed today"]))
    @step
    def admin_changes_certification(self, who, change):
        row = self.pharmacy if who == "pharmacy" else self.prescriber
        if change == "renewed today":
            self._certify(who, row, "certified", self.today)
        elif change == "suspended":
            old = self.certifications[who]
            self._certify(who, row, "suspended", old.certified_on, old.expires_on)
        else:
            self._certify(who, row, "certified", self.today - timedelta(days=300), self.today)
        self._say(f"{who} certification {change}")

    # Everyone doing their next step of the monthly order, so that months get filled.

    @rule(how=st.sampled_from(list(MONTHS_MOVE)))
    @step
    def a_month_moves_on(self, how):
        """The next steps of the monthly order as the model sees it, up to a point (`how`):
        wait for the refill to be due, the test for this fill (or, "on the last test", none
        when one was taken in the last 6 days, even before the last fill), the prescriber's
        confirmation, the patient's answers, the RMA, its fill. A refused step lets the next
        one try; a pharmacy holding an RMA fills it whatever has happened since."""
        self._advance(*MONTHS_MOVE[how])

    def _advance(self, until: str, test: str) -> list:
        goal, issued = MONTHLY_ORDER[until], []
        for _ in range(len(MONTHLY_ORDER) + 2):
            for kind, act in self._next_steps(test):
                if MONTHLY_ORDER[kind] > goal:
                    return issued
                outcome = act()
                if outcome is not None and not isinstance(outcome, Refused):
                    if isinstance(outcome, RmaRecord):
                        issued.append(outcome)
                    if MONTHLY_ORDER[kind] == goal:
                        return issued
                    break
            else:
                break  # every step was refused: someone else must act first
        return issued

    def _next_steps(self, which_test: str) -> list:
        """The monthly order's next steps, as (kind, act): the first is tried first. A
        pharmacy holding an RMA fills it, whatever it has not been told."""
        held = [r for r in self.all_rmas
                if r.status == "issued" and self.today <= r.do_not_dispense_after]
        fill = ("the fill", lambda: self._dispense(held[-1], self.days_supply) or None)
        if self.state not in ("qualifying", "active"):
            return [fill] if held else []
        if self.fills and self.today < (due := self._refill_due_on()):
            return [("the wait", lambda: self._wait_until(due, "the refill is due"))]
        can_get_pregnant = self.category == self.plan.can_get_pregnant
        test = self._fresh_test(which_test == "the last one reused") if can_get_pregnant \
            else None
        if can_get_pregnant and test is None:
            if self.fills and self.fills[-1].dispensed_on >= self.today:
                return [("the wait", lambda: self._wait_until(self.today + timedelta(days=1),
                                                              "a new test is due"))]
            return [("the test", lambda: self._record_test(
                self._needed_kind(), "negative", "laboratory", self.today))]
        last_fill = self.fills[-1].seq if self.fills else 0
        confirmed = self.confirmed is not None and self.confirmed[0] > last_fill and (
            test is None or self.confirmed[1] >= test.specimen_on)
        steps = [] if confirmed else [("the confirmation", self._confirm)]
        if can_get_pregnant and not (confirmed and self.attested is not None
                                     and self.attested > self.confirmed[0]):
            steps.append(("the answers", self._answer_and_attest))
        if held:
            steps.append(fill)
        else:
            steps.append(("the RMA", lambda: self._ask(self.days_supply)))
        return steps

    def _wait_until(self, day: date, why: str) -> bool:
        self._set_clock(datetime.combine(day, HOURS["09:00"], tzinfo=ZONE))
        self._say(f"(clock: {why})")
        return True

    def _answer_and_attest(self):
        outcome = self._quiz(True)
        if isinstance(outcome, Refused):
            return outcome
        return self._attest(self._methods_in_use())

    # The services, each called at the simulated instant, and the model they move.

    def _record_test(self, kind, result, setting, specimen_on):
        outcome = self._attempt(
            f"{result} {kind} test of {specimen_on} ({setting})",
            lambda: (courses.report_pregnancy if result == "positive" else courses.record_test)(
                self.db, course=self.world.course, entered_by=self.world.prescriber_user.id,
                now=self.now, today=self.today,
                data={"kind": kind, "specimen_on": specimen_on, "result": result,
                      "setting": setting}))
        if isinstance(outcome, Refused):
            return outcome
        self.tests.append(TestRecord(outcome.id, kind, specimen_on, result, setting))
        if result == "positive" and self.state in OPEN_STATES:
            self.state = "suspended"
            self._stop_everything(f"the positive test entered on {self.today}")
        return outcome

    def _add_method(self, method, started_on):
        outcome = self._attempt(f"add {method} from {started_on}", lambda: methods.add_method(
            self.db, course=self.world.course, data={"method": method, "started_on": started_on},
            today=self.today, entered_by=self.world.prescriber_user.id, now=self.now))
        if isinstance(outcome, Refused):
            return None
        record = MethodRecord(outcome.id, method, started_on)
        self.method_rows.append(record)
        return record

    def _confirm(self):
        outcome = self._attempt("prescriber confirms the month", lambda: monthly.confirm_month(
            self.db, course=self.world.course, prescriber_user=self.world.prescriber_user,
            password=conftest.PASSWORD, now=self.now))
        if not isinstance(outcome, Refused):
            self.confirmed = (self._next_act(), self.today)
        return outcome

    def _quiz(self, right: bool):
        answers = {q["id"]: q["answer"] for q in self.bank.questions} if right else {}
        locked = self._quiz_locked()
        outcome = self._attempt(f"patient answers the quiz ({'right' if right else 'wrong'})",
                                lambda: monthly.answer_quiz(self.db, course=self.world.course,
                                                            answers=answers, now=self.now))
        if "5" in ENABLED:
            self._check_questions(outcome, locked)
        if not isinstance(outcome, Refused) and not outcome.passed:
            return Refused("The quiz was not passed.")
        return outcome

    def _quiz_locked(self) -> bool:
        cycle = self.db.scalar(select(Cycle).where(Cycle.course_id == self.world.course.id)
                               .order_by(Cycle.number.desc()).limit(1))
        return monthly.quiz_locked(cycle, "ipledge", self.now)

    def _check_questions(self, outcome, locked: bool) -> None:
        """Invariant 5: no question of last month's set, and no try past the lock."""
        if locked:
            assert isinstance(outcome, Refused), (
                "invariant 5: a try was accepted after the month's wrong tries were used up")
        drawn = self.db.execute(select(Cycle.number, Cycle.quiz_question_ids).where(
            Cycle.course_id == self.world.course.id).order_by(Cycle.number)).all()
        for (number, before), (_, after) in pairwise(drawn):
            assert not set(before) & set(after), (
                f"invariant 5: month {number + 1} asks {set(before) & set(after)} again")

    def _attest(self, chosen):
        outcome = self._attempt(f"patient attests {chosen}", lambda: monthly.attest(
            self.db, course=self.world.course, patient_user=self.world.patient_user,
            methods=list(chosen), password=conftest.PASSWORD, now=self.now))
        if not isinstance(outcome, Refused):
            self.attested = self._next_act()
            return True
        return outcome

    def _ask(self, days_supply: int) -> RmaRecord | None:
        ask = rma_ask(self.world, days_supply=days_supply, quantity=30)
        record = self._attempt(f"pharmacy asks for an RMA ({days_supply} days)",
                               lambda: rma_requests.request_rma(
                                   self.db, pharmacy=self.pharmacy, data=ask, now=self.now))
        if isinstance(record, Refused):
            self._check_pharmacy_refusal(record)
            return None
        self._say(f"-> {record.decision} {[r['code'] for r in record.reasons]}"
                  + (f" DNDPA {record.rma.do_not_dispense_after}" if record.rma else ""),
                  stamped=False)
        if record.decision != "authorized":
            self._check_denial(record)
        if self.state in ("suspended", "post_treatment") and "4" in ENABLED:
            assert record.decision == "denied", (
                f"invariant 4: the course is {self.state} ({self._stop_reason()}) but an RMA "
                f"was authorized: {record.rma}")
            assert record.reasons and record.reasons[0]["code"] in STOP_CODES, (
                f"invariant 4: the course is {self.state} ({self._stop_reason()}); the denial "
                f"must lead with what stops it, not {[r['code'] for r in record.reasons]}")
        if record.decision != "authorized":
            return None
        row = self.db.get(Rma, record.authorization_id)
        issued = RmaRecord(row.id, row.rma_number, row.cycle_id, self.now,
                           row.do_not_dispense_after, self.category)
        self.all_rmas.append(issued)
        return issued

    def _dispense(self, rma: RmaRecord, days_supply: int) -> bool:
        today = self.today
        data = {"rma_number": rma.number, "quantity": days_supply, "days_supply": days_supply,
                "dispensed_on": today.isoformat(), "medication_guide_given": True}
        outcome = self._attempt(f"pharmacy dispenses {days_supply} days under {rma!r}",
                                lambda: rma_service.record_dispense(
                                    self.db, pharmacy=self.pharmacy, data=data, now=self.now))
        if isinstance(outcome, Refused):
            self._check_pharmacy_refusal(outcome)
            if "1" in ENABLED and (rma.voided_by or rma.dead_at_stop):
                assert isinstance(outcome, Conflict), (
                    f"invariant 1: a dispense on {rma!r}, stopped by "
                    f"{rma.voided_by or rma.dead_at_stop}, must be a Conflict, not {outcome!r}")
            return False
        if "1" in ENABLED:
            stop = rma.voided_by or rma.dead_at_stop
            assert stop is None, (
                f"invariant 1: {rma!r} was dispensed after {stop}: it must be voided")
            assert rma.status == "issued", (
                f"invariant 1: {rma!r} was dispensed although it was {rma.status}")
            assert today <= rma.do_not_dispense_after, (
                f"invariant 1: {rma!r} was dispensed on {today}, after its DNDPA")
            assert self.state in ("qualifying", "active"), (
                f"invariant 1: a fill was recorded on a {self.state} course")
            assert not any(t.result == "positive" for t in self.tests), (
                "invariant 1: a fill was recorded with a positive test on file")
            for who in ("pharmacy", "prescriber"):
                assert self.certifications[who].in_force_on(today), (
                    f"invariant 1: a fill was recorded on {today} while the {who}'s "
                    f"certification was not in force ({self.certifications[who]})")
        backing = self._check_fill_backed(rma, today)
        rma.status = "dispensed"
        self.fills.append(Fill(rma, today, self._next_act(), days_supply, backing))
        if self.state == "qualifying":
            self.state = "active"
        return True

    def _check_fill_backed(self, rma: RmaRecord, today: date) -> int | None:
        """Invariant 2 for a fill just recorded; returns the id of the test backing it."""
        if rma.category != self.plan.can_get_pregnant or "2" not in ENABLED:
            return None
        issued_on = rma.issued_at.astimezone(ZONE).date()
        specimen_on = rma.do_not_dispense_after - timedelta(days=6)  # DNDPA = day 7
        previous = self.fills[-1].dispensed_on if self.fills else None
        assert issued_on - timedelta(days=6) <= specimen_on <= issued_on, (
            f"invariant 2: {rma!r} issued on {issued_on} rests on a test of {specimen_on}, "
            "not one taken in the 7 days up to its issue")
        on_that_day = [t for t in self.tests
                       if t.specimen_on == specimen_on and t.result == "negative"]
        assert on_that_day, (
            f"invariant 2: {rma!r} rests on no negative test of {specimen_on}")
        used = {f.backing_test for f in self.fills}
        unused = [t for t in on_that_day if t.id not in used]
        assert unused, (
            f"invariant 2: {rma!r} rests on the {on_that_day[0].kind} test of {specimen_on}, "
            "which already backed an earlier fill")
        assert previous is None or specimen_on > previous, (
            f"invariant 2: {rma!r} rests on the test of {specimen_on}, not taken after the "
            f"previous fill of {previous}")
        confirmed_at, attested_at = self.db.execute(
            select(Cycle.prescriber_confirmed_at, Cycle.patient_attested_at)
            .where(Cycle.id == rma.cycle_id)).one()
        self.db.rollback()
        confirmed_on = confirmed_at and confirmed_at.astimezone(ZONE).date()
        attested_on = attested_at and attested_at.astimezone(ZONE).date()
        assert confirmed_on is not None and confirmed_on >= specimen_on, (
            f"invariant 2: the month of {rma!r} was confirmed by the prescriber on "
            f"{confirmed_on}, before its test of {specimen_on}")
        assert attested_on is not None and attested_on >= specimen_on, (
            f"invariant 2: the patient attested the month of {rma!r} on {attested_on}, "
            f"before its test of {specimen_on}")
        return unused[0].id

    def _certify(self, who, row, status, certified_on, expires_on=None):
        expires_on = expires_on or add_months(certified_on, 12)
        organisations.certify(self.db, target=row, data={
            "status": status, "certified_on": certified_on, "expires_on": expires_on})
        self.certifications[who] = Certification(status, certified_on, expires_on)

    def _stop_everything(self, why: str) -> None:
        """A stop: every RMA still issued must be voided (or was already past its DNDPA)."""
        for issued in self.all_rmas:
            if issued.status != "issued" or issued.voided_by or issued.dead_at_stop:
                continue
            if self.today <= issued.do_not_dispense_after:
                issued.voided_by = why
            else:
                issued.dead_at_stop = why

    # What the pharmacy reads.

    def _check_denial(self, record) -> None:
        """Invariant 3 for a denial: who must act, and nothing clinical."""
        if "3" not in ENABLED:
            return
        for reason in record.reasons:
            assert reason.get("actor"), f"invariant 3: a reason names no actor: {reason}"
        said = [f"{r['code']}: {r['message']}" for r in record.reasons]
        eligible = {r["eligible_on"] for r in record.reasons if r.get("eligible_on")}
        leaks = self._clinical_words(said, {date.fromisoformat(d) for d in eligible})
        assert not leaks, f"invariant 3: the pharmacy was told {leaks} in {said}"

    def _check_pharmacy_refusal(self, refused: Refused) -> None:
        """Invariant 3 for what a refused fill or reversal tells the pharmacy."""
        if "3" not in ENABLED:
            return
        said = list(refused.errors.values())
        leaks = self._clinical_words(said, set())
        assert not leaks, f"invariant 3: a refusal told the pharmacy {leaks} in {said}"

    def _clinical_words(self, texts: list[str], eligible: set[date]) -> list[str]:
        """Words of results, methods or test dates in `texts`."""
        found = []
        method_codes = _method_codes()
        for text in texts:
            if re.search("positive", text, re.IGNORECASE):
                found.append("positive")
            for code in method_codes:
                for spelled in (code, code.replace("_", " ")):
                    if spelled.lower() in text.lower():
                        found.append(spelled)
            for word in CLINICAL_WORDS:
                if re.search(rf"(?<![A-Za-z]){re.escape(word)}s?(?![A-Za-z])", text, re.I):
                    found.append(word)
            for day in {t.specimen_on for t in self.tests} - self._pharmacy_dates(eligible):
                if any(re.search(rf"(?<!\d){re.escape(form)}(?!\d)", text)
                       for form in _spellings(day)):
                    found.append(f"the test date {day}")
        return sorted(set(found))

    def _pharmacy_dates(self, eligible: set[date]) -> set[date]:
        """Dates a pharmacy may be told (a DNDPA, a window's end, from when, a certification);
        a test taken on one of them is not counted as given away."""
        days = set(eligible)
        days |= {r.do_not_dispense_after for r in self.all_rmas}
        days |= {t.specimen_on + timedelta(days=n) for t in self.tests for n in (6, 7, 19)}
        days |= {f.dispensed_on + timedelta(days=f.days_supply - 7) for f in self.fills}
        for c in self.certifications.values():
            days |= {c.certified_on, c.expires_on, add_months(c.certified_on, 12)}
        if self.last_dose_on:
            days.add(self.last_dose_on)
        return days

    # Invariants after every step.

    def _holds_after_every_step(self):
        """The course is where the model says, and a stop voided every RMA live at it."""
        if self.plan is None:
            return
        state = self._course_state()
        assert state == self.state, (
            f"model check: the course is {state}, the model expected {self.state}")
        stopped = [r for r in self.all_rmas if r.voided_by]
        if "1v" not in ENABLED or not stopped:
            return
        statuses = {row.id: row.status for row in self.db.execute(
            select(Rma.id, Rma.status)
            .where(Rma.id.in_([r.id for r in stopped])))}
        self.db.rollback()
        for issued in stopped:
            assert statuses[issued.id] == "voided", (
                f"invariant 1: after {issued.voided_by}, {issued!r} reads "
                f"{statuses[issued.id]!r}, not 'voided'")

    # Readings of the model.

    def _course_state(self) -> str:
        state = self.db.scalar(select(Course.state).where(Course.id == self.world.course.id))
        self.db.rollback()
        return state

    def _stop_reason(self) -> str:
        positive = [t for t in self.tests if t.result == "positive"]
        if positive:
            return f"a positive test of {positive[0].specimen_on}"
        return f"treatment ended, last dose {self.last_dose_on}"

    def _needed_kind(self) -> str:
        if self.last_dose_on is not None:
            return "post_treatment"
        return "monthly" if self.fills else "confirmation"

    def _fresh_test(self, reused: bool = False) -> TestRecord | None:
        """A negative laboratory test for this fill, in its window, after the last fill
        (unless a recent one is `reused`, as people might)."""
        kind, after = self._needed_kind(), self.fills[-1].dispensed_on if self.fills else None
        after = None if reused else after
        fresh = [t for t in self.tests if t.kind == kind and t.result == "negative"
                 and t.setting == "laboratory"
                 and self.today - timedelta(days=6) <= t.specimen_on <= self.today
                 and (after is None or t.specimen_on > after)]
        return fresh[-1] if fresh else None

    def _refill_due_on(self) -> date:
        last = self.fills[-1]
        return last.dispensed_on + timedelta(days=last.days_supply - 7)

    def _methods_in_use(self) -> list[str]:
        return sorted({m.method for m in self.method_rows if m.in_use_on(self.today)})

    def _rma(self, which: str) -> RmaRecord:
        index = WHICH_RMA[which]
        return self.all_rmas[max(index, -len(self.all_rmas))]



def _method_codes() -> set[str]:
    codes = {"abstinence"}
    for code in PROGRAMS:
        for version in program(code).versions:
            codes |= {*version.primary_methods.value, *version.secondary_methods.value,
                      *version.unacceptable_methods.value}
    return codes


def _spellings(day: date) -> list[str]:
    """How a date may be written in a sentence."""
    month = MONTHS[day.month - 1]
    return [day.isoformat(), f"{month} {day.day}", f"{month[:3]} {day.day}",
            f"{day.month}/{day.day}/{day.year}", f"{day:%m/%d/%Y}"]


SETTINGS = settings(
    max_examples=int(os.environ.get("STATEFUL_EXAMPLES", "100")),
    stateful_step_count=12,
    report_multiple_bugs=False,  # shrink to the simplest violation; STATEFUL_INVARIANTS splits
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow],
)


def test_a_course_stays_right_through_its_life(app, _template_database, tmp_path):
    """Whatever the prescriber, the patient, the pharmacy and the administrator do, and
    whenever, do the four invariants of the module docstring hold after every step?"""
    REACHED.clear()
    with freezegun.freeze_time(STARTS[next(iter(STARTS))].astimezone(UTC)) as frozen:
        env = Environment(app, _template_database, tmp_path, frozen)
        try:
            run_state_machine_as_test(lambda: CourseLife(env), settings=SETTINGS)
        finally:
            if os.environ.get("STATEFUL_REPORT"):
                print("\nreached:", dict(sorted(REACHED.items())))

