"""The monthly order: the prescriber confirms, then the patient answers and attests.

Also the patient's enrollment signature, which opens the course. Every step is signed by
re-entering the password, audited, and refused with the rules core's findings when the
rules do not allow it yet.
"""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import Course, Cycle, PatientProfile, QuizAttempt, Signature, User
from compliance.programs import method_choices, program
from compliance.services import courses, question_banks, signatures, worklist
from compliance.services.errors import Refused
from compliance.services.facts import load_rows
from workflows.flow import Context, InvalidTransition
from workflows.machines import CycleEvent, CycleFlow
from workflows.programs import program_version_for
from workflows.rules import order
from workflows.rules.contraception import methods_in_use


@dataclass(frozen=True)
class QuizOutcome:
    """One try: passed or not, the wrong questions (with explanations), failed tries so far,
    and how many wrong tries tell the prescriber (the program's number)."""

    passed: bool
    wrong: list[dict]
    tries: int
    tries_before_told: int

    @property
    def prescriber_told(self) -> bool:
        """The prescriber's worklist now shows QUIZ_FAILED for this course."""
        return not self.passed and self.tries >= self.tries_before_told


@dataclass(frozen=True)
class Attestation:
    """A month the patient signed, as their history shows it."""

    cycle: Cycle
    signature: Signature


def attestations(db: Session, course: Course) -> list[Attestation]:
    """The patient's signed months on this course, newest first."""
    rows = db.execute(select(Cycle, Signature).join(
        Signature, Signature.id == Cycle.patient_signature_id)
        .where(Cycle.course_id == course.id).order_by(Cycle.number.desc())).all()
    return [Attestation(cycle, signature) for cycle, signature in rows]


def sign_enrollment(db: Session, *, course: Course, patient_user: User, password: str,
                    now: datetime) -> None:
    """The patient's informed consent; the course then qualifies once counseling is recorded."""
    if course.enrollment_signature_id is not None:
        raise Refused("You have already signed the enrollment.")
    signature = signatures.sign(db, signer=patient_user, password=password,
                                meaning=signatures.ENROLLMENT, now=now, kind="enrollment",
                                record=course)
    course.enrollment_signature_id = signature.id
    audit.record(db, "course.enrollment_signed", "course", course.id,
                 actor_id=patient_user.id, actor_role=patient_user.role)
    courses.finish(db, course, now)


def confirm_month(db: Session, *, course: Course, prescriber_user: User, password: str,
                  now: datetime) -> Cycle:
    """The prescriber's monthly confirmation, opening this month's cycle if needed."""
    rows = load_rows(db, [course])[0]
    cycle = rows.cycle
    if cycle is not None and cycle.prescriber_confirmed_at is not None:
        if _confirmation_stands(rows, course, now):
            when = _when(cycle.prescriber_confirmed_at, course)
            raise Refused(f"You already confirmed this month on {when}.")
        _answer_again(db, cycle)  # a new test since: the patient confirms anew after you
    if cycle is None:
        cycle = Cycle(course_id=course.id, number=_next_number(db, course), opened_at=now)
        db.add(cycle)
        db.flush()
        rows = load_rows(db, [course])[0]
    result = _fire(db, course, cycle, CycleEvent.CONFIRM, rows, now)
    if not result.accepted:
        raise Refused(" ".join(f.message for f in result.findings if not f.met))
    signature = signatures.sign(db, signer=prescriber_user, password=password,
                                meaning=signatures.PRESCRIBER_MONTHLY, now=now,
                                kind="prescriber_monthly", record=cycle)
    cycle.prescriber_confirmed_at, cycle.prescriber_signature_id = now, signature.id
    db.add(cycle)
    courses.finish(db, course, now)
    return cycle


def _confirmation_stands(rows, course: Course, now: datetime) -> bool:
    """The month's confirmation still vouches for the test whose window applies."""
    prog = program(course.program)
    today = now.astimezone(prog.zone).date()
    found = order.check_prescriber_confirmation(rows.facts(), program_version_for(prog, today),
                                                today)
    return all(finding.met for finding in found)


def _answer_again(db: Session, cycle: Cycle) -> None:
    """Clear the patient's answers to an earlier confirmation (their signature stays on file
    until they sign again)."""
    audit.record(db, "cycle.answers_cleared", "cycle", cycle.id,
                 summary={"attested_at": cycle.patient_attested_at})
    cycle.quiz_passed, cycle.patient_confirmed_methods = False, []
    cycle.patient_attested_at = None
    db.add(cycle)


def month_questions(db: Session, *, course: Course, now: datetime) -> list[dict]:
    """This month's questions: drawn once from the active bank, none of last month's while
    the bank has others, and kept so that every try is checked against what was shown."""
    return _drawn(db, course, _cycle_awaiting_patient(db, course), now)


def _drawn(db: Session, course: Course, cycle: Cycle, now: datetime) -> list[dict]:
    patient = db.get(PatientProfile, course.patient_id)
    bank = question_banks.active_bank(db, program=course.program, category=patient.category)
    if bank is None:
        raise Refused("No questions are available yet; the program administrator must "
                      "activate a question bank. Please contact your prescriber.")
    if cycle.quiz_bank_id != bank.id or not cycle.quiz_question_ids:
        previous = db.scalar(select(Cycle.quiz_question_ids).where(
            Cycle.course_id == course.id, Cycle.number == cycle.number - 1)) or []
        cycle.quiz_bank_id = bank.id
        cycle.quiz_question_ids = question_banks.draw(
            bank, question_banks.questions_asked(course.program, now), avoid=previous)
        db.add(cycle)
        audit.record(db, "quiz.drawn", "cycle", cycle.id,
                     summary={"bank_version": bank.version, "questions": cycle.quiz_question_ids})
        db.commit()
    return question_banks.questions_of(bank, cycle.quiz_question_ids)


def answer_quiz(db: Session, *, course: Course, answers: dict[str, str], now: datetime
                ) -> QuizOutcome:
    """Check the patient's answers to this month's questions: all must be right; each try
    is recorded, and after the program's number of wrong tries the prescriber must go over
    the program with the patient before another try."""
    cycle = _cycle_awaiting_patient(db, course)
    questions = _drawn(db, course, cycle, now)
    told = worklist.quiz_failures_told(course.program, now)
    if cycle.failed_quiz_attempts >= told:
        raise Refused(talk_to_prescriber(cycle.failed_quiz_attempts))
    wrong = question_banks.wrong_answers(questions, answers)
    db.add(QuizAttempt(cycle_id=cycle.id, bank_id=cycle.quiz_bank_id, passed=not wrong,
                       wrong_questions=[q["id"] for q in wrong], attempted_at=now))
    if wrong:
        cycle.failed_quiz_attempts += 1
    cycle.quiz_passed = not wrong
    db.add(cycle)
    audit.record(db, "quiz.answered", "cycle", cycle.id,
                 summary={"passed": not wrong, "wrong": [q["id"] for q in wrong]})
    courses.finish(db, course, now)
    return QuizOutcome(not wrong, wrong, cycle.failed_quiz_attempts, told)


def talk_to_prescriber(tries: int) -> str:
    """What a patient reads once the wrong tries of the month reached the program's number."""
    return (f"You have answered {tries} times without getting every answer right. Please "
            "talk to your prescriber: they will go over the program with you, and then you "
            "can answer again.")


def quiz_locked(cycle: Cycle | None, program_code: str, now: datetime) -> bool:
    """The month's tries are used up until the prescriber records re-education."""
    return (cycle is not None and not cycle.quiz_passed
            and cycle.failed_quiz_attempts >= worklist.quiz_failures_told(program_code, now))


def record_reeducation(db: Session, *, course: Course, note: str, now: datetime) -> Cycle:
    """The prescriber went over the program with a patient whose tries are used up; the
    patient may answer again (the wrong tries stay in the record and the audit log)."""
    cycle = load_rows(db, [course])[0].cycle
    if not quiz_locked(cycle, course.program, now):
        raise Refused("The patient has tries left this month; there is nothing to record.")
    audit.record(db, "cycle.reeducated", "cycle", cycle.id,
                 summary={"failed_tries": cycle.failed_quiz_attempts, "note": note.strip()})
    cycle.failed_quiz_attempts = 0
    db.add(cycle)
    courses.finish(db, course, now)
    return cycle


def attest(db: Session, *, course: Course, patient_user: User, methods: list[str],
           password: str, now: datetime) -> None:
    """The patient confirms the methods the prescriber entered and signs this month."""
    cycle = _cycle_awaiting_patient(db, course)
    if not cycle.quiz_passed:
        raise Refused("Answer this month's questions first.")
    rows = load_rows(db, [course])[0]
    prog = program(course.program)
    today = now.astimezone(prog.zone).date()
    chosen = set(methods)
    if confirms_methods(course, today):
        entered = set(methods_in_use(rows.facts().methods, today))
        if chosen != entered:
            raise Refused({"methods": _difference(chosen, entered, course.program)})
    else:
        chosen = set()  # the program does not ask the patient to confirm methods
    meaning = signatures.PATIENT_MONTHLY if confirms_methods(course, today) \
        else signatures.PATIENT_MONTHLY_ANSWERS
    cycle.patient_confirmed_methods = sorted(chosen)
    signature = signatures.sign(db, signer=patient_user, password=password, meaning=meaning,
                                now=now, kind="patient_monthly", record=cycle)
    db.add(cycle)
    db.flush()
    result = _fire(db, course, cycle, CycleEvent.ATTEST, load_rows(db, [course])[0], now)
    if not result.accepted:
        raise Refused(" ".join(f.message for f in result.findings if not f.met))
    cycle.patient_attested_at, cycle.patient_signature_id = now, signature.id
    db.add(cycle)
    courses.finish(db, course, now)


def confirms_methods(course: Course, today: date) -> bool:
    """Whether this program asks the patient to confirm the prescriber's methods each month
    (iPLEDGE does; the lenalidomide-class definition does not)."""
    version = program_version_for(program(course.program), today)
    return version.patient_confirms_methods.value


def _cycle_awaiting_patient(db: Session, course: Course) -> Cycle:
    cycle = load_rows(db, [course])[0].cycle
    if cycle is None or cycle.prescriber_confirmed_at is None:
        raise Refused("Your prescriber has not confirmed this month yet. You can answer once "
                      "they have.")
    if cycle.patient_attested_at is not None:
        raise Refused("You have already answered for this month.")
    return cycle


def _fire(db, course, cycle, event, rows, now):
    context = Context(rows.facts(), program(course.program), now)
    flow = CycleFlow(cycle, on_transition=audit.transitions(db, "cycle", cycle.id))
    try:
        return flow.fire(event, context)
    except InvalidTransition:
        raise Refused(f"This month's cycle is {cycle.state.replace('_', ' ')}; that step "
                      "is not possible now.") from None


def _next_number(db: Session, course: Course) -> int:
    return (db.scalar(select(func.max(Cycle.number)).where(Cycle.course_id == course.id))
            or 0) + 1


def _difference(chosen: set[str], entered: set[str], program_code: str) -> str:
    """Which of the patient's own answers do not match, never what the prescriber entered
    (the patient must state their methods, not copy them)."""
    labels = method_choices(program_code)
    parts = []
    if extra := chosen - entered:
        names = ", ".join(sorted(labels.get(c, c.replace("_", " ")) for c in extra))
        parts.append(f"You chose {names}, which does not match what your prescriber entered.")
    if entered - chosen:
        parts.append("You left out a method your prescriber entered." if len(entered - chosen)
                     == 1 else "You left out methods your prescriber entered.")
    return " ".join(parts) + (" Choose the methods you use now. If your choices are right, "
                              "ask your prescriber to correct their entry.")


def _when(instant: datetime, course: Course) -> str:
    local = instant.astimezone(program(course.program).zone)
    return f"{local:%b} {local.day} at {local:%-I:%M %p}"


