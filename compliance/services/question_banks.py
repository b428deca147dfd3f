"""Comprehension question banks: versioned per program and category, never edited in use."""

import json
import random
from datetime import datetime

from pydantic import BaseModel, ValidationError, field_validator, model_validator
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import BankStatus, QuestionBank
from compliance.services.errors import Refused


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


def create_version(db: Session, *, program: str, category: str, questions_json: str,
                   now: datetime) -> QuestionBank:
    """A new draft version, numbered after the last one of its program and category."""
    try:
        bank = Bank.model_validate({"questions": json.loads(questions_json or "null")})
    except (ValueError, ValidationError) as exc:
        raise Refused({"questions": f"The questions are not valid: {_first_error(exc)}"}) from None
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


def shuffled(bank: QuestionBank, rng: random.Random | None = None) -> list[dict]:
    """The questions in a random order with their choices shuffled (answers not included)."""
    rng = rng or random.SystemRandom()
    questions = [dict(q) for q in bank.questions]
    rng.shuffle(questions)
    for question in questions:
        choices = list(question["choices"])
        rng.shuffle(choices)
        question["choices"] = choices
        question.pop("answer", None)
    return questions


def wrong_answers(bank: QuestionBank, answers: dict[str, str]) -> list[dict]:
    """The questions answered wrongly or not at all, each with its explanation."""
    return [q for q in bank.questions if answers.get(q["id"]) != q["answer"]]


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        return f"{where}: {error['msg'].removeprefix('Value error, ')}"
    return str(exc)


DEFAULT_IPLEDGE_QUESTIONS = [
    {"id": "two-methods", "text": "How many forms of birth control must you use at the same "
     "time, unless you commit to not having sex at all?",
     "choices": [{"id": "one", "text": "One"}, {"id": "two", "text": "Two"},
                 {"id": "none", "text": "None, if my test was negative"}],
     "answer": "two",
     "explanation": "You must use two forms of birth control together, every time, for a "
     "month before, during and a month after treatment."},
    {"id": "mini-pill", "text": "Does the progestin-only \"mini-pill\" count as one of your "
     "two forms of birth control?",
     "choices": [{"id": "yes", "text": "Yes"}, {"id": "no", "text": "No"}],
     "answer": "no",
     "explanation": "The progestin-only mini-pill is not an acceptable form of birth control "
     "in this program."},
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
]
