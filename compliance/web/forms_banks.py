"""The question-bank editor: one question per block (its text, up to four choices with the
right one marked, the explanation), which the administrator adds, edits, reorders and
removes with buttons that work without JavaScript, then previews or saves as a draft.

Question and choice ids travel in hidden fields: a version copied from the one before keeps
them, so "never last month's questions" still holds across the versions.
"""

import uuid

from wtforms import (
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import Length, NoneOf

from compliance.web.forms import REQUIRED, ServiceForm

CHOICES_PER_QUESTION = 4
MAX_QUESTIONS = 100
MAX_TEXT = 500


class ChoiceForm(Form):
    id = HiddenField(validators=[Length(max=40)])
    text = StringField("Choice", validators=[Length(max=MAX_TEXT)])


class QuestionForm(Form):
    id = HiddenField(validators=[Length(max=40)])
    text = TextAreaField("Question", validators=[REQUIRED, Length(max=MAX_TEXT)])
    choices = FieldList(FormField(ChoiceForm), min_entries=CHOICES_PER_QUESTION,
                        max_entries=CHOICES_PER_QUESTION)
    answer = RadioField("Right answer", validate_choice=False,
                        choices={str(i): f"Choice {i + 1} is the right answer"
                                 for i in range(CHOICES_PER_QUESTION)})
    explanation = TextAreaField(
        "Why (shown to the patient after a wrong answer)",
        validators=[REQUIRED, Length(max=MAX_TEXT)])

    def validate_choices(self, field: FieldList) -> None:
        if sum(1 for entry in field if (entry.form.text.data or "").strip()) < 2:
            raise ValidationError("Write at least two choices.")

    def validate_answer(self, field: RadioField) -> None:
        texts = [(entry.form.text.data or "").strip() for entry in self.choices]
        if field.data is None or not field.data.isdigit() \
                or int(field.data) >= len(texts) or not texts[int(field.data)]:
            raise ValidationError("Mark the right answer among the choices you wrote.")


class BankForm(ServiceForm):
    target = SelectField("Program and category",
                         validators=[NoneOf([""], message="Choose a program and category.")])
    questions = FieldList(FormField(QuestionForm), min_entries=1, max_entries=MAX_QUESTIONS)


def bank_questions(form: BankForm) -> list[dict]:
    """The questions as a bank stores them; blank choices are dropped, missing ids made."""
    questions = []
    for entry in form.questions:
        q = entry.form
        choices, answer = [], ""
        for index, choice in enumerate(q.choices):
            text = (choice.form.text.data or "").strip()
            if text:
                choice_id = choice.form.id.data or _new_id("c")
                choices.append({"id": choice_id, "text": text})
                if q.answer.data == str(index):
                    answer = choice_id
        questions.append({"id": q.id.data or _new_id("q"), "text": (q.text.data or "").strip(),
                          "choices": choices, "answer": answer,
                          "explanation": (q.explanation.data or "").strip()})
    return questions


def editor_data(questions: list[dict]) -> list[dict]:
    """Bank questions as the editor's fields hold them (the right answer as a position)."""
    data = []
    for q in questions:
        choices = [{"id": c["id"], "text": c["text"]} for c in q["choices"]]
        answer = next((str(i) for i, c in enumerate(choices) if c["id"] == q["answer"]), None)
        choices += [{"id": "", "text": ""} for _ in range(CHOICES_PER_QUESTION - len(choices))]
        data.append({"id": q["id"], "text": q["text"], "choices": choices,
                     "answer": answer, "explanation": q["explanation"]})
    return data


def blank_question() -> dict:
    """A new, empty question in the editor."""
    return editor_data([{"id": "", "text": "", "choices": [], "answer": None,
                         "explanation": ""}])[0]


def rearranged(data: list[dict], action: str) -> list[dict] | None:
    """The editor's questions after an "add", "up-N", "down-N" or "remove-N" button, or
    None when the action is none of those (or points at no question)."""
    data = list(data)
    if action == "add":
        return [*data, blank_question()] if len(data) < MAX_QUESTIONS else data
    verb, _, number = action.partition("-")
    if not number.isdigit() or int(number) >= len(data):
        return None
    i = int(number)
    if verb == "remove":
        return data[:i] + data[i + 1:] or [blank_question()]
    j = {"up": i - 1, "down": i + 1}.get(verb)
    if j is None:
        return None
    if 0 <= j < len(data):
        data[i], data[j] = data[j], data[i]
    return data


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
