"""The shape of a program's rule version: every number the checks use, with its source.

Each field of ``ProgramVersion`` is a ``Param`` holding a value and whether the value comes
from the program text or from our policy. The checks read these fields and contain no
numbers of their own, so a new rule version is a new data file, not new code. Field metadata
carries the parser used when loading and the sentence shown in the generated rules table.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from workflows.facts import TestKind, TestSetting
from workflows.findings import SourceKind
from workflows.programs import parsers as p

T = TypeVar("T")


class CategoryKind(StrEnum):
    """What a category means for the rules; programs name their categories freely."""

    CAN_GET_PREGNANT = "can_get_pregnant"
    CANNOT_GET_PREGNANT = "cannot_get_pregnant"
    MALE = "male"


class WindowAnchor(StrEnum):
    """What starts the window of a patient who cannot get pregnant."""

    PRESCRIBER_CONFIRMATION = "prescriber_confirmation"
    AUTHORIZATION = "authorization"


class LeadInReference(StrEnum):
    """The date by which the contraception lead-in must be complete."""

    CONFIRMATION_TEST = "confirmation_test"
    FIRST_PRESCRIPTION = "first_prescription"


@dataclass(frozen=True, slots=True)
class Category:
    """A patient category as the program names it, and what it means for the rules."""

    code: str
    label: str
    kind: CategoryKind


@dataclass(frozen=True, slots=True)
class CadencePhase:
    """From treatment day ``from_day`` (day 0 = first dispense), a test every ``every_days``."""

    from_day: int
    every_days: int


@dataclass(frozen=True, slots=True)
class Param(Generic[T]):
    """A rule parameter: its value and whether the program text or our policy sets it."""

    value: T
    source: SourceKind


def rule(parse: Callable[[Any], Any], doc: str) -> dict[str, Any]:
    """Field metadata of a definition field: how to read it from data and what it means."""
    return {"parse": parse, "doc": doc}


SETTINGS_FIELDS = {
    TestKind.SCREENING: "screening_settings",
    TestKind.CONFIRMATION: "confirmation_settings",
    TestKind.MONTHLY: "monthly_settings",
    TestKind.POST_TREATMENT: "post_treatment_settings",
}
CATEGORIES = p.list_of(p.record(Category, code=p.code, label=p.text, kind=p.choice(CategoryKind)))
CADENCE = p.list_of(p.record(CadencePhase, from_day=p.non_negative_int, every_days=p.positive_int))
CATEGORY_KINDS = p.list_of(p.choice(CategoryKind))
SETTINGS = p.list_of(p.choice(TestSetting))
OPTIONAL_NUMBER = p.optional(p.positive_int)


@dataclass(frozen=True, slots=True)
class ProgramVersion:
    """One rule version of one program, validated on load (see ``programs.loader``)."""

    program: str
    program_name: str
    version: str
    # When and where
    effective_on: Param[date] = field(
        metadata=rule(p.a_date, "Date from which this version decides")
    )
    timezone: Param[str] = field(
        metadata=rule(p.time_zone, "Zone in which days and windows are counted")
    )
    # Categories and enrollment
    categories: Param[tuple[Category, ...]] = field(metadata=rule(CATEGORIES, "Patient categories"))
    enrollment_counseling_required: Param[bool] = field(
        metadata=rule(p.boolean, "Counseling recorded at enrollment before any authorization")
    )
    quiz_failures_before_prescriber_told: Param[int] = field(
        metadata=rule(
            p.positive_int, "Wrong tries at the month's questions before the prescriber is told"
        )
    )
    questions_asked_each_month: Param[int] = field(
        metadata=rule(
            p.positive_int, "Questions drawn for the patient each month, from a bank of at "
            "least three times as many, none of them asked the month before"
        )
    )
    oldest_specimen_days: Param[int] = field(
        metadata=rule(
            p.positive_int, "A test counts for a course only if taken at most this many days "
            "before its enrollment"
        )
    )
    # Contraception
    methods_required: Param[int] = field(
        metadata=rule(p.positive_int, "Methods used at the same time")
    )
    primary_methods_required: Param[int] = field(
        metadata=rule(p.non_negative_int, "Of which at least this many primary (highly effective)")
    )
    primary_methods: Param[tuple[str, ...]] = field(metadata=rule(p.codes, "Primary methods"))
    secondary_methods: Param[tuple[str, ...]] = field(metadata=rule(p.codes, "Secondary methods"))
    unacceptable_methods: Param[tuple[str, ...]] = field(
        metadata=rule(p.codes, "Methods refused with a reason")
    )
    abstinence_allowed: Param[bool] = field(
        metadata=rule(p.boolean, "Committed continuous abstinence replaces two methods")
    )
    contraception_lead_in_days: Param[int] = field(
        metadata=rule(p.non_negative_int, "Days on two methods before the lead-in reference date")
    )
    lead_in_reference: Param[LeadInReference] = field(
        metadata=rule(p.choice(LeadInReference), "What the lead-in must precede")
    )
    contraception_after_days: Param[int] = field(
        metadata=rule(p.non_negative_int, "Days of contraception after the last dose")
    )
    male_required_methods: Param[tuple[str, ...]] = field(
        metadata=rule(p.codes, "Methods a male patient must use during treatment")
    )
    male_methods_after_days: Param[int | None] = field(
        metadata=rule(OPTIONAL_NUMBER, "Days a male patient keeps using them after the last dose")
    )
    patient_confirms_methods: Param[bool] = field(
        metadata=rule(
            p.boolean, "Each month the patient confirms the methods the prescriber entered"
        )
    )
    # Pregnancy tests
    test_sensitivity_miu: Param[int] = field(
        metadata=rule(p.positive_int, "Tests must detect hCG at this level (mIU/mL) or lower")
    )
    confirmation_min_days_after_screening: Param[int | None] = field(
        metadata=rule(OPTIONAL_NUMBER, "Days from screening to confirmation specimen, at least")
    )
    screening_min_days_before_first_prescription: Param[int | None] = field(
        metadata=rule(
            OPTIONAL_NUMBER,
            "Screening specimen at least this many days before the first prescription",
        )
    )
    screening_max_days_before_first_prescription: Param[int | None] = field(
        metadata=rule(
            OPTIONAL_NUMBER,
            "Screening specimen at most this many days before the first prescription",
        )
    )
    confirmation_max_days_before_first_prescription: Param[int | None] = field(
        metadata=rule(
            OPTIONAL_NUMBER,
            "Confirmation specimen at most this many days before the first prescription",
        )
    )
    screening_settings: Param[tuple[TestSetting, ...]] = field(
        metadata=rule(SETTINGS, "Screening test settings")
    )
    confirmation_settings: Param[tuple[TestSetting, ...]] = field(
        metadata=rule(SETTINGS, "Confirmation test settings")
    )
    monthly_settings: Param[tuple[TestSetting, ...]] = field(
        metadata=rule(
            SETTINGS, "Settings of tests during treatment (home: prescriber enables and verifies)"
        )
    )
    post_treatment_settings: Param[tuple[TestSetting, ...]] = field(
        metadata=rule(SETTINGS, "Post-treatment test settings")
    )
    test_cadence: Param[tuple[CadencePhase, ...]] = field(
        metadata=rule(CADENCE, "Tests during treatment: from treatment day, every so many days")
    )
    test_cadence_irregular_cycles: Param[tuple[CadencePhase, ...]] = field(
        metadata=rule(CADENCE, "The same for a patient with irregular menstrual cycles")
    )
    test_cadence_checked: Param[bool] = field(
        metadata=rule(
            p.boolean, "Each fill's test must follow the one before within the cadence"
        )
    )
    post_treatment_test_days: Param[int | None] = field(
        metadata=rule(OPTIONAL_NUMBER, "Post-treatment test this many days after the last dose")
    )
    # The window and the monthly order
    window_days: Param[int] = field(
        metadata=rule(
            p.positive_int,
            "Window length for a patient who can get pregnant (day 1 = specimen date)",
        )
    )
    first_cycle_lockout_days: Param[int | None] = field(
        metadata=rule(
            OPTIONAL_NUMBER,
            "First month, window missed: days from the previous specimen to the next",
        )
    )
    non_reproductive_window_days: Param[int] = field(
        metadata=rule(p.positive_int, "Window length for other patients (day 1 = anchor date)")
    )
    non_reproductive_window_anchor: Param[WindowAnchor] = field(
        metadata=rule(p.choice(WindowAnchor), "What opens the window for other patients")
    )
    prescriber_confirmation_categories: Param[tuple[CategoryKind, ...]] = field(
        metadata=rule(CATEGORY_KINDS, "Categories whose prescriber confirms counseling every month")
    )
    patient_attestation_categories: Param[tuple[CategoryKind, ...]] = field(
        metadata=rule(CATEGORY_KINDS, "Categories whose patient answers the questions every month")
    )
    # Supply
    max_days_supply: Param[int] = field(
        metadata=rule(p.positive_int, "Days' supply per fill, at most")
    )
    refills_allowed: Param[int] = field(
        metadata=rule(p.non_negative_int, "Refills per prescription")
    )
    early_refill_tolerance_days: Param[int] = field(
        metadata=rule(
            p.non_negative_int, "A new authorization only when at most this many days remain"
        )
    )
    authorizations_per_cycle: Param[int] = field(
        metadata=rule(p.positive_int, "Active RMAs per cycle")
    )
    # Certification
    prescriber_certification_months: Param[int] = field(
        metadata=rule(p.positive_int, "Months a prescriber activation lasts")
    )
    pharmacy_certification_months: Param[int] = field(
        metadata=rule(p.positive_int, "Months a pharmacy activation lasts")
    )
    pharmacy_training_months: Param[int | None] = field(
        metadata=rule(OPTIONAL_NUMBER, "Months a pharmacy's staff-training record lasts")
    )
    # After treatment
    blood_donation_wait_days: Param[int | None] = field(
        metadata=rule(OPTIONAL_NUMBER, "No blood donation for this many days after the last dose")
    )

    @property
    def zone(self) -> ZoneInfo:
        """The program's time zone (``ZoneInfo`` caches instances by key)."""
        return ZoneInfo(self.timezone.value)

    @property
    def effective(self) -> date:
        """Shorthand for the effective date, used when picking a version."""
        return self.effective_on.value

    def category(self, code: str) -> Category | None:
        """The category with this code in this version, if any."""
        return next((c for c in self.categories.value if c.code == code), None)

    def settings_for(self, kind: TestKind) -> Param[tuple[TestSetting, ...]]:
        """The accepted settings for a test of this kind."""
        settings: Param[tuple[TestSetting, ...]] = getattr(self, SETTINGS_FIELDS[kind])
        return settings

    def cadence_for(self, irregular_cycles: bool) -> Param[tuple[CadencePhase, ...]]:
        """The test cadence that applies to this patient."""
        return self.test_cadence_irregular_cycles if irregular_cycles else self.test_cadence
