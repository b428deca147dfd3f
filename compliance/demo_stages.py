"""The demo's patients at every stage of a course, as data the demo loader walks through.

Days count back from the day the demo is loaded, so the stages stay true whenever it runs.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class StagedPatient:
    """A patient whose course the demo walks to one stage; days count back from the load."""

    email: str
    given_name: str
    family_name: str
    category: str
    enrolled_days_ago: int
    story: str  # what the README says about this login
    expected_action: str  # the course's worklist action once loaded
    screening_days_ago: int | None = None
    confirmation_days_ago: int | None = None
    confirmation_result: str = "negative"
    prescriber_confirmed_days_ago: int | None = None
    patient_answered: bool = False  # quiz right and methods attested, on the confirmation day
    expected_state: str = "qualifying"
    filled_days_ago: int | None = None  # the demo pharmacy's RMA and 30-day fill
    monthly_test_days_ago: int | None = None  # second month: test and prescriber confirmation
    last_dose_days_ago: int | None = None


GETS_PREGNANT, CANNOT = "can_get_pregnant", "cannot_get_pregnant"
STAGED_PATIENTS = [
    StagedPatient("stage.screening@example.com", "Jamie", "Brooks", GETS_PREGNANT, 3,
                  "Signed and counseled, on two methods: waiting for the screening test.",
                  "SCREENING_TEST_MISSING"),
    StagedPatient("stage.confirmation@example.com", "Taylor", "Reed", GETS_PREGNANT, 25,
                  "Screening test 10 days ago: the confirmation test is due from day 19.",
                  "PREGNANCY_TEST_MISSING", screening_days_ago=10),
    StagedPatient("stage.ready@example.com", "Morgan", "Ellis", GETS_PREGNANT, 50,
                  "Everything done today (confirmation test, prescriber, questions, "
                  "attestation): ready for a first fill.", "READY",
                  screening_days_ago=22, confirmation_days_ago=0,
                  prescriber_confirmed_days_ago=0, patient_answered=True),
    StagedPatient("stage.answers@example.com", "Robin", "Hayes", GETS_PREGNANT, 45,
                  "Confirmed by the prescriber yesterday, waiting for the patient's answers "
                  "(first month).", "PATIENT_ATTESTATION_MISSING",
                  screening_days_ago=21, confirmation_days_ago=1,
                  prescriber_confirmed_days_ago=1),
    StagedPatient("stage.expired@example.com", "Drew", "Walsh", GETS_PREGNANT, 60,
                  "Confirmation test 10 days ago, never filled: the window has expired.",
                  "WINDOW_EXPIRED", screening_days_ago=30, confirmation_days_ago=10,
                  prescriber_confirmed_days_ago=9, patient_answered=True),
    StagedPatient("stage.suspended@example.com", "Avery", "Stone", GETS_PREGNANT, 40,
                  "Confirmation test yesterday was positive: the course is suspended.",
                  "SUSPENDED", screening_days_ago=20, confirmation_days_ago=1,
                  confirmation_result="positive", expected_state="suspended"),
    StagedPatient("stage.midcourse@example.com", "Jordan", "Price", GETS_PREGNANT, 70,
                  "First fill 30 days ago; this month's test and the prescriber's "
                  "confirmation yesterday: waiting for the patient's answers.",
                  "PATIENT_ATTESTATION_MISSING", screening_days_ago=52,
                  confirmation_days_ago=31, prescriber_confirmed_days_ago=31,
                  patient_answered=True, filled_days_ago=30, monthly_test_days_ago=1,
                  expected_state="active"),
    StagedPatient("stage.post@example.com", "Riley", "Quinn", GETS_PREGNANT, 90,
                  "Filled 45 days ago, last dose 10 days ago: post-treatment, the "
                  "post-treatment test is due in 20 days.", "POST_TREATMENT_TEST",
                  screening_days_ago=67, confirmation_days_ago=46,
                  prescriber_confirmed_days_ago=46, patient_answered=True, filled_days_ago=45,
                  last_dose_days_ago=10, expected_state="post_treatment"),
    StagedPatient("stage.cannot@example.com", "Sam", "Carter", CANNOT, 5,
                  "Cannot get pregnant, signed and counseled: ready for a first fill.",
                  "READY"),
]
DEMO_TWO_METHODS = ("intrauterine_device", "male_latex_condom")
METHODS_BEFORE_ENROLLMENT_DAYS = 30
