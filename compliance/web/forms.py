"""HTML forms (Flask-WTF: CSRF on every one).

The forms check only shape (present, a date, a number); the domain rules live in the input
models and services. A view calls its service inside `with form.refusals():` and redirects
when `form.refused` is None; a refusal is rolled back and shown next to the offending field
(`ServiceForm`), or flashed where there is no field to show it by (`ActionForm`, a button).
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager

from flask import flash, request
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    FieldList,
    FormField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NoneOf, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from compliance import programs
from compliance.db import get_session
from compliance.models import CertificationStatus
from compliance.security import bodies
from compliance.services.errors import Refused

REQUIRED = InputRequired(message="This field is required.")
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class PageForm(FlaskForm):
    """A form posted by a page: its data is the urlencoded body, never JSON, and never a
    body already refused. (Flask-WTF would parse a JSON body as form data, for every form a
    page builds, the logout button of an error page included.)"""

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            if formdata is _Auto and (request.is_json or bodies.refused()):
                return None
            return super().wrap_formdata(form, formdata)


class SafeForm(PageForm):
    """Refuses control characters in any text field, next to the field.

    A NUL byte is never meaningful in a form and PostgreSQL cannot store one; catching it
    here keeps hostile input on the ordinary "fix this field" path instead of an error page.
    """

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in _leaves(self):
            if isinstance(field.data, str) and CONTROL_CHARACTERS.search(field.data):
                field.errors = [*field.errors, "Remove the invisible or control characters."]
                valid = False
        return valid


def _leaves(fields) -> Iterator:
    """Every field of a form, inside lists and sub-forms too."""
    for field in fields:
        if isinstance(field, FieldList):
            yield from _leaves(field)
        elif isinstance(field, FormField):
            yield from _leaves(field.form)
        else:
            yield field


class Refusals:
    """`with form.refusals():` around the service call a submission makes."""

    refused: Refused | None = None

    @contextmanager
    def refusals(self) -> Iterator[None]:
        """Run the service call in the block. A refusal rolls the request's transaction
        back, so nothing half-done is left, and is shown by `show_refusal` (the user's
        values stay); `refused` then holds it, else None."""
        self.refused = None
        try:
            yield
        except Refused as exc:
            get_session().rollback()
            self.refused = exc
            self.show_refusal(exc)

    def show_refusal(self, refusal: Refused) -> None:
        """With no field to show it by, the refusal is flashed for the next page."""
        flash(str(refusal), "error")


class ServiceForm(Refusals, SafeForm):
    """A form whose values go to a service as a plain dict; a refusal shows by its fields."""

    form_errors_extra: list[str]

    def values(self) -> dict:
        return {name: field.data for name, field in self._fields.items()
                if name != "csrf_token"}

    def show_refusal(self, refusal: Refused) -> None:
        """Attach each refusal message to its field, or to the form as a whole."""
        self.form_errors_extra = []
        for name, message in refusal.errors.items():
            field = self._fields.get(name)
            if field is None or name == "csrf_token":
                self.form_errors_extra.append(message)
            else:
                field.errors = [*field.errors, message]

    @property
    def all_form_errors(self) -> list[str]:
        return [*self.form_errors, *getattr(self, "form_errors_extra", [])]


class LoginForm(SafeForm):
    email = EmailField("Email", validators=[REQUIRED, Length(max=254)])
    password = PasswordField("Password", validators=[REQUIRED, Length(max=256)])


class CodeForm(ServiceForm):
    """The second step of signing in, and every change to the second factor."""

    code = StringField("Code", validators=[REQUIRED, Length(max=20)],
                       description="The 6 digits your authenticator app shows now. Lost your "
                                   "phone? Enter one of your recovery codes instead.")


class LogoutForm(PageForm):
    """Logout is a POST with a CSRF token, so no other site can sign a user out."""


class ActionForm(Refusals, PageForm):
    """A bare button (deactivate, re-issue a link): only the CSRF token travels, and a
    refusal is flashed on the page the view redirects to."""


class SetPasswordForm(ServiceForm):
    password = PasswordField("New password", validators=[REQUIRED])
    confirm = PasswordField("Repeat the password", validators=[REQUIRED])


class ActivationForm(SetPasswordForm):
    """A patient's activation also asks the date of birth (the view drops it for others)."""

    date_of_birth = DateField("Your date of birth", validators=[REQUIRED])


class ForgotPasswordForm(SafeForm):
    email = EmailField("Email", validators=[REQUIRED, Length(max=254)])


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (works without JavaScript, easy to tap on a phone)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RemindersForm(PageForm):
    """The kinds of reminder a person wants by email; the view sets the choices."""

    wanted = MultiCheckboxField("Email me when", choices=[])


class ChangePasswordForm(SetPasswordForm):
    current = PasswordField("Current password", validators=[REQUIRED, Length(max=256)])


class PrescriberForm(ServiceForm):
    name = StringField("Full name", validators=[REQUIRED, Length(max=200)])
    email = EmailField("Email", validators=[REQUIRED, Length(max=254)])
    npi = StringField("NPI", validators=[REQUIRED, Length(max=20)],
                      description="10 digits; the last one is a check digit.")
    practice_name = StringField("Practice", validators=[REQUIRED, Length(max=200)])


class PharmacyForm(ServiceForm):
    name = StringField("Pharmacy name", validators=[REQUIRED, Length(max=200)])
    address_line = StringField("Street address", validators=[REQUIRED, Length(max=200)])
    city = StringField("City", validators=[REQUIRED, Length(max=100)])
    state = StringField("State", validators=[REQUIRED, Length(max=2)],
                        description="Two-letter code, e.g. NY.")
    postal_code = StringField("ZIP code", validators=[REQUIRED, Length(max=10)])
    ncpdp_id = StringField("NCPDP ID", validators=[REQUIRED, Length(max=20)],
                           description="7 digits.")
    npi = StringField("NPI", validators=[REQUIRED, Length(max=20)])


class PharmacistForm(ServiceForm):
    name = StringField("Full name", validators=[REQUIRED, Length(max=200)])
    email = EmailField("Email", validators=[REQUIRED, Length(max=254)])
    responsible = BooleanField("Responsible pharmacist of this pharmacy")
    move_responsible = BooleanField("Yes, move the responsible-pharmacist role to this person")


class DeactivateForm(ServiceForm):
    reason = TextAreaField("Why is this account deactivated?",
                           validators=[REQUIRED, Length(max=500)],
                           description="Kept in the audit log with your name and the time.")
    hand_keys_on = BooleanField("Hand their API keys to the responsible pharmacist instead "
                                "of revoking them")


class CertificationForm(ServiceForm):
    status = SelectField("Status", choices={s.value: s.value.capitalize()
                                            for s in CertificationStatus})
    certified_on = DateField("Certified on", validators=[Optional()])
    expires_on = DateField("Expires on", validators=[Optional()],
                           description="Certification is renewed every 12 months.")
    staff_trained_on = DateField("Staff training recorded on", validators=[Optional()],
                                 description="The pharmacy's latest staff-training record; "
                                 "iPLEDGE 2026 wants one from the last 12 months.")


class PatientForm(ServiceForm):
    given_name = StringField("Given name", validators=[REQUIRED, Length(max=100)])
    family_name = StringField("Family name", validators=[REQUIRED, Length(max=100)])
    date_of_birth = DateField("Date of birth", validators=[REQUIRED])
    email = EmailField("Email", validators=[REQUIRED, Length(max=254)],
                       description="The invitation link is for this person only.")
    phone = StringField("Phone", validators=[Optional(), Length(max=30)])
    weight_kg = DecimalField("Weight (kg)", places=1, validators=[REQUIRED],
                             description="For the dose: 0.5 to 1 mg per kg per day.")
    program = SelectField("Program", validators=[NoneOf([""], message="Choose the program.")])
    category = SelectField("Category", validators=[
        NoneOf([""], message="Choose the patient's category.")],
        description="The categories of the program chosen above.")
    category_reason = TextAreaField("Reason for the category",
                                    validators=[REQUIRED, Length(max=500)])

    def __init__(self, *args, **kwargs):
        """Programs and their categories come from the definitions this deployment runs."""
        super().__init__(*args, **kwargs)
        runs = programs.all_programs()
        self.program.choices = [(code, prog.versions[-1].program_name)
                                for code, prog in runs.items()]
        if not self.program.data:
            self.program.data = programs.DEFAULT_PROGRAM
        self.category.choices = [("", "Choose…")] + [
            (code, f"{runs[program_code].versions[-1].program_name}: {label}")
            for program_code in runs
            for code, label in programs.category_choices(program_code).items()]
