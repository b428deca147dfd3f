"""Comprehension question banks: versioned per program and category, never edited in use."""

import random
from collections.abc import Collection
from datetime import datetime

from pydantic import BaseModel, ValidationError, field_validator, model_validator
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import BankStatus, QuestionBank
from compliance.programs import program
from compliance.services.errors import Refused
from workflows.programs import program_version_for


class Choice(BaseModel):
    id: str
    text: str


class Question(BaseModel):
    """One multiple-choice question with the one right answer and why it is right."""

    id: str
    text: str
    choices: list[Choice]
    answer: str
    explanation: str

    @model_validator(mode="after")
    def _answer_is_a_choice(self) -> "Question":
        ids = [c.id for c in self.choices]
        if len(ids) < 2 or len(set(ids)) != len(ids):
            raise ValueError(f"question {self.id}: give at least two choices with distinct ids")
        if self.answer not in ids:
            raise ValueError(f"question {self.id}: the answer must be one of the choice ids")
        return self


class Bank(BaseModel):
    questions: list[Question]

    @field_validator("questions")
    @classmethod
    def _some(cls, value: list[Question]) -> list[Question]:
        if not value:
            raise ValueError("a bank needs at least one question")
        if len({q.id for q in value}) != len(value):
            raise ValueError("question ids must be distinct")
        return value


POOL_FACTOR = 3  # a bank holds at least this many times the questions asked in a month


def create_version(db: Session, *, program: str, category: str, questions: list[dict],
                   now: datetime) -> QuestionBank:
    """A new draft version, numbered after the last one of its program and category; it
    must hold enough questions to draw a month's set unlike the month before."""
    try:
        bank = Bank.model_validate({"questions": questions})
    except ValidationError as exc:
        raise Refused({"questions": f"The questions are not valid: {_first_error(exc)}"}) from None
    needed = POOL_FACTOR * questions_asked(program, now)
    if len(bank.questions) < needed:
        raise Refused({"questions": f"Write at least {needed} questions ({POOL_FACTOR} times "
                       f"the {questions_asked(program, now)} asked each month), so that a "
                       f"patient never gets the same questions two months running; there "
                       f"are {len(bank.questions)}."})
    latest = db.scalar(select(func.max(QuestionBank.version)).where(
        QuestionBank.program == program, QuestionBank.category == category)) or 0
    row = QuestionBank(program=program, category=category, version=latest + 1,
                       questions=[q.model_dump() for q in bank.questions],
                       created_by_id=audit.current_actor_id(), created_at=now)
    db.add(row)
    db.flush()
    audit.record(db, "question_bank.created", "question_bank", row.id,
                 summary={"program": program, "category": category, "version": row.version})
    db.commit()
    return row


def activate(db: Session, *, bank: QuestionBank, now: datetime) -> None:
    """Put a draft in use; the version in use before it is retired, never changed."""
    if bank.status != BankStatus.DRAFT:
        raise Refused(f"Version {bank.version} is {bank.status}; only a draft can be activated.")
    db.execute(update(QuestionBank).where(
        QuestionBank.program == bank.program, QuestionBank.category == bank.category,
        QuestionBank.status == BankStatus.ACTIVE).values(status=BankStatus.RETIRED))
    bank.status, bank.activated_at = BankStatus.ACTIVE, now
    db.add(bank)
    audit.record(db, "question_bank.activated", "question_bank", bank.id,
                 summary={"version": bank.version})
    db.commit()


def active_bank(db: Session, *, program: str, category: str) -> QuestionBank | None:
    return db.scalar(select(QuestionBank).where(
        QuestionBank.program == program, QuestionBank.category == category,
        QuestionBank.status == BankStatus.ACTIVE))


def questions_asked(program_code: str, now: datetime) -> int:
    """How many questions the program's version in force asks each month."""
    prog = program(program_code)
    version = program_version_for(prog, now.astimezone(prog.zone).date())
    return version.questions_asked_each_month.value


def draw(bank: QuestionBank, count: int, avoid: Collection[str],
         rng: random.Random | None = None) -> list[str]:
    """The ids of `count` questions picked at random, none of those in `avoid` (last
    month's) while the bank has enough others, in the bank's order."""
    rng = rng or random.SystemRandom()
    ids = [q["id"] for q in bank.questions]
    fresh = [i for i in ids if i not in avoid]
    picked = set(rng.sample(fresh, min(count, len(fresh))))
    if len(picked) < count:  # a small bank of an older version: repeat as few as possible
        picked |= set(rng.sample([i for i in ids if i not in picked], count - len(picked)))
    return [i for i in ids if i in picked]


def questions_of(bank: QuestionBank, ids: Collection[str]) -> list[dict]:
    """The bank's questions among `ids`, in the bank's order."""
    return [q for q in bank.questions if q["id"] in ids]


def shuffled(questions: list[dict], rng: random.Random | None = None) -> list[dict]:
    """The questions in a random order with their choices shuffled (answers not included)."""
    rng = rng or random.SystemRandom()
    questions = [dict(q) for q in questions]
    rng.shuffle(questions)
    for question in questions:
        choices = list(question["choices"])
        rng.shuffle(choices)
        question["choices"] = choices
        question.pop("answer", None)
    return questions


def wrong_answers(questions: list[dict], answers: dict[str, str]) -> list[dict]:
    """The questions answered wrongly or not at all, each with its explanation."""
    return [q for q in questions if answers.get(q["id"]) != q["answer"]]


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg'].removeprefix('Value error, ')}"


DEFAULT_IPLEDGE_QUESTIONS = [
    {"id": "two-methods", "text": "How many forms of birth control must you use at the same "
     "time, unless you commit to not having sex at all?",
     "choices": [{"id": "one", "text": "One"}, {"id": "two", "text": "Two"},
                 {"id": "none", "text": "None, if my test was negative"}],
     "answer": "two",
     "explanation": "Use two forms of birth control together, every time. Start a month "
     "before treatment and keep on until a month after it ends."},
    {"id": "mini-pill", "text": "Does the progestin-only \"mini-pill\" count as one of your "
     "two forms of birth control?",
     "choices": [{"id": "yes", "text": "Yes"}, {"id": "no", "text": "No"}],
     "answer": "no",
     "explanation": "The mini-pill does not count as one of your two forms of birth "
     "control."},
    {"id": "share", "text": "May you share your medicine with someone else?",
     "choices": [{"id": "yes", "text": "Yes, if they have the same skin problem"},
                 {"id": "no", "text": "No, never"}],
     "answer": "no",
     "explanation": "Never share this medicine: it can cause severe birth defects."},
    {"id": "blood", "text": "When may you donate blood?",
     "choices": [{"id": "any", "text": "Any time"},
                 {"id": "after", "text": "Only from one month after my last dose"},
                 {"id": "during", "text": "During treatment, if I feel well"}],
     "answer": "after",
     "explanation": "Do not donate blood during treatment and for one month after the last "
     "dose: the blood could reach a pregnant person."},
    {"id": "pregnant", "text": "What must you do if you think you are pregnant?",
     "choices": [{"id": "stop", "text": "Stop taking it and call my prescriber at once"},
                 {"id": "wait", "text": "Finish the month, then tell my prescriber"}],
     "answer": "stop",
     "explanation": "Stop the medicine at once and call your prescriber."},
    {"id": "before-start", "text": "When must you start using your two forms of birth "
     "control?",
     "choices": [{"id": "month-before", "text": "One month before I start the medicine"},
                 {"id": "first-day", "text": "On the day I start the medicine"},
                 {"id": "after-test", "text": "Only after my first test is negative"}],
     "answer": "month-before",
     "explanation": "Start both forms of birth control one month before your first dose."},
    {"id": "after-stop", "text": "How long after your last dose must you keep using two "
     "forms of birth control?",
     "choices": [{"id": "none", "text": "I can stop on the day of my last dose"},
                 {"id": "month", "text": "One more month"},
                 {"id": "week", "text": "One more week"}],
     "answer": "month",
     "explanation": "The medicine stays in your body for a while. Keep using both forms for "
     "one month after your last dose."},
    {"id": "condom-only", "text": "Is a condom alone enough birth control?",
     "choices": [{"id": "yes", "text": "Yes, if I use it every time"},
                 {"id": "no", "text": "No, I need a second form too"}],
     "answer": "no",
     "explanation": "A condom is one form. You need two forms at the same time."},
    {"id": "unprotected", "text": "You had sex without using both forms of birth control. "
     "What should you do?",
     "choices": [{"id": "call", "text": "Call my prescriber right away"},
                 {"id": "wait", "text": "Wait for my next monthly test"},
                 {"id": "nothing", "text": "Nothing, one time is fine"}],
     "answer": "call",
     "explanation": "Call your prescriber right away. Ask about emergency birth control. "
     "Do not wait for your next test."},
    {"id": "late-period", "text": "What should you do if your period is late?",
     "choices": [{"id": "call", "text": "Stop the medicine and call my prescriber"},
                 {"id": "ignore", "text": "Nothing, the medicine can change my period"}],
     "answer": "call",
     "explanation": "A late period can mean you are pregnant. Stop the medicine and call "
     "your prescriber."},
    {"id": "monthly-test", "text": "How often do you need a pregnancy test while you take "
     "this medicine?",
     "choices": [{"id": "monthly", "text": "Every month, before each new supply"},
                 {"id": "once", "text": "Only once, before I start"},
                 {"id": "if-worried", "text": "Only if I think I am pregnant"}],
     "answer": "monthly",
     "explanation": "Each month you need a negative test before you can get more "
     "medicine."},
    {"id": "supplements", "text": "Can some herbal products make your birth control pills "
     "work less well?",
     "choices": [{"id": "yes", "text": "Yes, for example St. John's wort"},
                 {"id": "no", "text": "No, herbal products are always safe"}],
     "answer": "yes",
     "explanation": "Some herbal products and medicines, like St. John's wort, can make "
     "birth control pills fail. Ask before you take anything new."},
    {"id": "birth-defects", "text": "What can this medicine do to a baby if you get "
     "pregnant?",
     "choices": [{"id": "defects", "text": "Cause severe birth defects"},
                 {"id": "nothing", "text": "Nothing, if I take a low dose"}],
     "answer": "defects",
     "explanation": "Even one dose can cause severe birth defects. That is why these rules "
     "exist."},
    {"id": "vitamin-a", "text": "May you take vitamin A pills while you take this medicine?",
     "choices": [{"id": "no", "text": "No, unless my prescriber says so"},
                 {"id": "yes", "text": "Yes, they help my skin"}],
     "answer": "no",
     "explanation": "This medicine is like vitamin A. Extra vitamin A pills can add to its "
     "side effects."},
    {"id": "abstinence", "text": "If you choose not to have sex at all, what must you "
     "promise?",
     "choices": [{"id": "every-day", "text": "No sex that could cause a pregnancy, on any "
                  "day, from a month before to a month after"},
                 {"id": "most-days", "text": "Not to have sex most of the time"}],
     "answer": "every-day",
     "explanation": "Not having sex works only if you do it every single day. If you "
     "might have sex, use two forms of birth control."},
]
