"""The patient's forms: the enrollment signature, the month's questions, the attestation.

Signatures re-ask the password; the service checks it and names the field when it is wrong.
"""

from wtforms import BooleanField, PasswordField, RadioField
from wtforms.validators import DataRequired, InputRequired, Length

from compliance.web.forms import REQUIRED, MultiCheckboxField, Refusals, ServiceForm

SIGNATURE_HINT = "Type your password again. It is your electronic signature."


class EnrollmentForm(ServiceForm):
    understand = BooleanField(
        "I understand and agree", validators=[DataRequired(
            message="Tick the box to say you understand and agree.")])
    password = PasswordField("Password", description=SIGNATURE_HINT,
                             validators=[REQUIRED, Length(max=256)])


class AttestationForm(ServiceForm):
    methods = MultiCheckboxField(
        "The two birth control methods you use now",
        description="Tick exactly the methods you use; they must match what your "
                    "prescriber entered.",
        validators=[InputRequired(message="Tick the methods you use.")])
    password = PasswordField("Password", description=SIGNATURE_HINT,
                             validators=[REQUIRED, Length(max=256)])


def quiz_form(questions: list[dict], formdata=None) -> ServiceForm:
    """A form with one set of radio buttons per question, in the order given.

    Field names are the question ids, so the answers map straight to the service's
    {question id: choice id}; the chosen answers are kept when a try is wrong.
    """

    class QuizForm(ServiceForm):
        def show_refusal(self, refusal):
            """The month page draws the questions anew, so a refusal is flashed."""
            Refusals.show_refusal(self, refusal)

    for question in questions:
        setattr(QuizForm, question["id"], RadioField(
            question["text"], choices={c["id"]: c["text"] for c in question["choices"]},
            validators=[InputRequired(message="Choose an answer.")]))
    return QuizForm(formdata=formdata) if formdata is not None else QuizForm()
