"""The pharmacist's forms: find a patient, ask for an RMA, record the fill, reverse, API keys.

As elsewhere the forms check only shape (present, a date, a number in range); the RMA
service decides and `show_refusal` puts its message next to the field. Numbers get
`inputmode` hints in the templates so a phone shows its number pad.
"""

from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    HiddenField,
    IntegerField,
    StringField,
)
from wtforms.validators import InputRequired, Length, NumberRange

from compliance import clock
from compliance.web.forms import REQUIRED, ServiceForm

DATE_MESSAGE = "Enter a date (year, month, day)."
WHOLE_NUMBER = "Enter a whole number."


class FindPatientForm(ServiceForm):
    """Both identifiers from the patient's program card; both must match."""

    patient_id = StringField("Program patient ID", validators=[REQUIRED, Length(max=20)],
                             description="10 characters as printed on the card, e.g. "
                                         "7KQ2M-XR4T9; the dash is optional.")
    date_of_birth = DateField("Date of birth", validators=[InputRequired(DATE_MESSAGE)])


class RmaRequestForm(ServiceForm):
    """What the prescription says; the patient's identifiers travel with the form so a
    second browser tab can never ask for the wrong patient."""

    patient_id = HiddenField(validators=[REQUIRED])
    patient_date_of_birth = HiddenField(validators=[REQUIRED])
    prescriber_npi = StringField("Prescriber NPI", validators=[REQUIRED, Length(max=20)],
                                 description="10 digits, from the prescription.")
    ndc = StringField("NDC", validators=[REQUIRED, Length(max=20)],
                      description="The package's National Drug Code, e.g. 0555-0101-02.")
    strength_mg = FloatField("Strength (mg)", validators=[InputRequired(
        "Enter the strength in mg, e.g. 40.")])
    quantity = IntegerField("Quantity (capsules)", validators=[InputRequired(WHOLE_NUMBER)])
    days_supply = IntegerField("Days' supply", validators=[InputRequired(WHOLE_NUMBER)])


class DispenseForm(ServiceForm):
    """The fill made under an RMA; the days' supply is bounded by the program's limit."""

    rma_number = StringField("RMA number", validators=[REQUIRED, Length(max=20)],
                             description="12 digits; spaces are fine.")
    quantity = IntegerField("Quantity dispensed", validators=[InputRequired(WHOLE_NUMBER)])
    days_supply = IntegerField("Days' supply", validators=[InputRequired(WHOLE_NUMBER)])
    dispensed_on = DateField("Dispensed on", default=clock.today,
                             validators=[InputRequired(DATE_MESSAGE)])
    medication_guide_given = BooleanField(
        "The Medication Guide was given to the patient with this fill",
        validators=[InputRequired("Tick the box: the Medication Guide must be given with "
                                  "every fill.")])

    def __init__(self, *args, max_days: int = 30, **kwargs):
        super().__init__(*args, **kwargs)
        self.days_supply.validators = [*self.days_supply.validators, NumberRange(
            min=1, max=max_days, message=f"At most {max_days} days' supply per fill.")]
        self.days_supply.description = f"At most {max_days} days; no refills."


class ReverseForm(ServiceForm):
    """Reversal cannot be undone, so it asks for an explicit confirmation."""

    confirm = BooleanField("I confirm this RMA was not used and will not be filled",
                           validators=[InputRequired("Tick the box to confirm the reversal.")])


class ApiKeyForm(ServiceForm):
    name = StringField("Key name", validators=[REQUIRED, Length(max=100)],
                       description="Which system will use it, e.g. \"Dispensing system, "
                                   "counter 2\".")
