"""The prescriber's clinical forms on the patient page.

Several forms share one page, so each has its own prefix (field ids such as `test-kind`
stay unique) and its own small POST route. As elsewhere, the forms check only shape; the
course services decide, and `show_refusal` puts their message next to the field.
"""

from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NoneOf, Optional

from compliance.programs import category_choices, method_choices
from compliance.web.forms import REQUIRED, ServiceForm
from compliance.web.forms_pharmacy import FindPatientForm
from workflows.facts import TestKind, TestResult, TestSetting

CHOOSE = {"": "Choose…"}
NOT_EMPTY = NoneOf([""], message="Choose one.")
DATE_MESSAGE = "Enter a date (year, month, day)."


class ClinicalForm(ServiceForm):
    """A form with a prefix on its fields but not on its CSRF token, so every form on the
    page posts the one `csrf_token` the rest of the site (and its tests) expects."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            if options.get("name") == "csrf_token":
                options = {**options, "prefix": ""}
            return super().bind_field(form, unbound_field, options)

    def values(self) -> dict:
        """The typed values; a field left out of the request falls back to the model's
        default instead of arriving as None."""
        return {name: value for name, value in super().values().items() if value is not None}


def _labels(enum) -> dict[str, str]:
    return {**CHOOSE, **{member.value: member.value.replace("_", " ").capitalize()
                         for member in enum}}


class CounselingForm(ClinicalForm):
    counseled_on = DateField("Counseled on", validators=[InputRequired(DATE_MESSAGE)],
                             description="The day you counseled the patient at enrollment.")


class MethodForm(ClinicalForm):
    method = SelectField("Method", validators=[NOT_EMPTY])
    started_on = DateField("Used since", validators=[InputRequired(DATE_MESSAGE)])

    def __init__(self, *args, program: str = "ipledge", **kwargs):
        super().__init__(*args, **kwargs)
        self.method.choices = {**CHOOSE, **method_choices(program)}


class ChangeMethodForm(MethodForm):
    """Replace a method: the old one stops on a day, the new one starts."""

    method_id = SelectField("Method to replace", coerce=int, validators=[InputRequired()])
    stopped_on = DateField("Last day of the old method",
                           validators=[InputRequired(DATE_MESSAGE)])

    def __init__(self, *args, current: dict[int, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.method.label.text = "New method"
        self.method_id.choices = list((current or {}).items())


class StopMethodForm(ClinicalForm):
    method_id = SelectField("Method to stop", coerce=int, validators=[InputRequired()])
    stopped_on = DateField("Last day used", validators=[InputRequired(DATE_MESSAGE)])

    def __init__(self, *args, current: dict[int, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.method_id.choices = list((current or {}).items())


class TestForm(ClinicalForm):
    """A pregnancy test as the prescriber enters it; immutable once saved."""

    __test__ = False

    kind = SelectField("Kind of test", choices=_labels(TestKind), validators=[NOT_EMPTY])
    specimen_on = DateField("Specimen collected on", validators=[InputRequired(DATE_MESSAGE)])
    result = SelectField("Result", choices={
        code: label for code, label in _labels(TestResult).items()
        if code != TestResult.POSITIVE}, validators=[NOT_EMPTY],
        description="A positive result is reported with \"Report a pregnancy\" below.")
    setting = SelectField("Where the specimen was taken", choices=_labels(TestSetting),
                          validators=[NOT_EMPTY])
    laboratory = StringField("Laboratory (name, CLIA number)",
                             validators=[Optional(), Length(max=200)])
    sensitivity_miu = IntegerField("Sensitivity (mIU/mL)", validators=[Optional()],
                                   description="Leave empty for the program's minimum.")


class PregnancyReportForm(ClinicalForm):
    """A positive test, reported on its own so it cannot be entered by a slip of a select."""

    kind = SelectField("Kind of test", choices=_labels(TestKind), validators=[NOT_EMPTY])
    specimen_on = DateField("Specimen collected on", validators=[InputRequired(DATE_MESSAGE)])
    setting = SelectField("Where the specimen was taken", choices=_labels(TestSetting),
                          validators=[NOT_EMPTY])
    laboratory = StringField("Laboratory", validators=[Optional(), Length(max=200)])
    confirm = BooleanField("I confirm this test is positive. Treatment stops at once and "
                           "the course is suspended.",
                           validators=[InputRequired("Tick the box to confirm.")])


class InErrorForm(ClinicalForm):
    """Mark a test or a method as entered in error: kept and shown, no longer counted."""

    entry = SelectField("Entry made in error", validators=[NOT_EMPTY])
    reason = TextAreaField("What was wrong", validators=[REQUIRED, Length(max=500)])

    def __init__(self, *args, entries: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.entry.choices = {**CHOOSE, **(entries or {})}


class RegistryReportForm(ClinicalForm):
    """The prescriber's report of a pregnancy to the program's registry."""

    reported_on = DateField("Reported on", validators=[InputRequired(DATE_MESSAGE)])
    reference = StringField("Registry reference", validators=[REQUIRED, Length(max=100)])


class ResumeForm(ClinicalForm):
    """Resume a suspended course: a statement, signed with the password."""

    statement = TextAreaField("Why treatment may resume", validators=[REQUIRED,
                                                                       Length(max=250)])
    password = PasswordField("Your password", validators=[REQUIRED, Length(max=256)],
                             render_kw={"autocomplete": "current-password"})


class ConfirmMonthForm(ClinicalForm):
    password = PasswordField("Your password", validators=[REQUIRED, Length(max=256)],
                             description="Re-enter your password to sign this month's "
                                         "confirmation.")


class ReeducationForm(ClinicalForm):
    """The prescriber went over the program with a patient whose tries are used up."""

    note = TextAreaField("What you went over (optional)",
                         validators=[Optional(), Length(max=500)],
                         description="Kept in the audit log with your name and the time.")


class HomeTestingForm(ClinicalForm):
    enabled = HiddenField()


class CategoryForm(ClinicalForm):
    category = SelectField("New category", validators=[NOT_EMPTY])
    reason = TextAreaField("Reason for the change", validators=[REQUIRED, Length(max=500)])

    def __init__(self, *args, program: str = "ipledge", **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = {**CHOOSE, **category_choices(program)}


class EndTreatmentForm(ClinicalForm):
    last_dose_on = DateField("Date of the last dose", validators=[InputRequired(DATE_MESSAGE)])


# Each form on the patient page, with its prefix: the route that posts it binds it from the
# request, the others are shown empty.
PATIENT_FORMS = {
    "counseling_form": (CounselingForm, "counseling"),
    "method_form": (MethodForm, "method"),
    "change_form": (ChangeMethodForm, "change"),
    "stop_form": (StopMethodForm, "stop"),
    "test_form": (TestForm, "test"),
    "pregnancy_form": (PregnancyReportForm, "pregnancy"),
    "error_form": (InErrorForm, "error"),
    "registry_form": (RegistryReportForm, "registry"),
    "resume_form": (ResumeForm, "resume"),
    "confirm_form": (ConfirmMonthForm, "confirm"),
    "reeducation_form": (ReeducationForm, "reeducation"),
    "home_form": (HomeTestingForm, "home"),
    "category_form": (CategoryForm, "category"),
    "end_form": (EndTreatmentForm, "end"),
}


class EmergencyAccessForm(FindPatientForm):
    """Break-glass: the card of another prescriber's patient, and why it is needed now."""

    reason = TextAreaField("Why you need this record now",
                           validators=[REQUIRED, Length(max=500)],
                           description="For example: covering for Dr. Rivera, the patient "
                                       "called about a positive home test.")
