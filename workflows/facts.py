"""The facts the rules read: plain, frozen data built by the service layer from rows.

Facts hold what happened (dates, results, signatures), never what it means: whether a test
counts or a window is open is for the rules to say, under the rule version in force. Every
field maps to one column or one row list, so building facts is a straight copy.
"""

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class TestKind(StrEnum):
    """Why a pregnancy test was taken."""

    __test__ = False  # not a pytest test class, despite the name

    SCREENING = "screening"
    CONFIRMATION = "confirmation"
    MONTHLY = "monthly"  # any test during treatment, whatever the program's cadence
    POST_TREATMENT = "post_treatment"


class TestResult(StrEnum):
    """A result as entered; an invalid result counts as no test at all."""

    __test__ = False

    NEGATIVE = "negative"
    POSITIVE = "positive"
    INVALID = "invalid"


class TestSetting(StrEnum):
    """Where the specimen was taken; programs differ on which settings they accept."""

    __test__ = False

    LABORATORY = "laboratory"  # a certified (CLIA) laboratory
    OFFICE = "office"
    CLINIC = "clinic"
    HOME = "home"


@dataclass(frozen=True, slots=True)
class MethodFact:
    """A contraception method the prescriber recorded, by the program's method code."""

    method: str
    started_on: date
    stopped_on: date | None = None

    def in_use_on(self, day: date) -> bool:
        """True when the method covers ``day`` (the stop date is the last covered day)."""
        return self.started_on <= day and (self.stopped_on is None or day <= self.stopped_on)


@dataclass(frozen=True, slots=True)
class TestFact:
    """A pregnancy test result entered by the prescriber (or a verified home test)."""

    __test__ = False

    kind: TestKind
    specimen_on: date
    result: TestResult
    setting: TestSetting
    sensitivity_miu: int
    verified_by_prescriber: bool = False


@dataclass(frozen=True, slots=True)
class FillFact:
    """A dispense that happened."""

    dispensed_on: date
    days_supply: int


@dataclass(frozen=True, slots=True)
class AuthorizationFact:
    """An RMA already issued; ``reversed`` RMAs no longer count against the cycle."""

    do_not_dispense_after: date
    reversed: bool = False


@dataclass(frozen=True, slots=True)
class CertificationFact:
    """A prescriber's or a pharmacy's certification, as last activated."""

    activated_on: date
    revoked_on: date | None = None
    staff_trained_on: date | None = None  # pharmacies only, where the program asks for it


@dataclass(frozen=True, slots=True)
class CycleFacts:
    """One treatment month: who has done their part, and when."""

    prescriber_confirmed_at: datetime | None = None
    patient_attested_at: datetime | None = None
    quiz_passed: bool = False
    patient_confirmed_methods: tuple[str, ...] = ()
    authorizations: tuple[AuthorizationFact, ...] = ()


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the pharmacy asks to dispense with the RMA it requests."""

    days_supply: int
    quantity: int
    refills: int = 0


@dataclass(frozen=True, slots=True)
class DispenseFacts:
    """A dispense about to be recorded under an RMA."""

    dispensed_at: datetime
    days_supply: int
    medication_guide_given: bool


@dataclass(frozen=True, slots=True)
class CourseFacts:
    """Everything the rules need about one patient's course of treatment.

    ``category`` is the program's own category code (see the program definition).
    ``last_dose_on`` is set when the prescriber records the end of treatment; ``resumed_on``
    when the prescriber resumed a course suspended after a positive test [P].
    """

    category: str
    enrollment_signed: bool
    counseled_on: date | None = None
    methods: tuple[MethodFact, ...] = ()
    tests: tuple[TestFact, ...] = ()
    fills: tuple[FillFact, ...] = ()
    cycle: CycleFacts | None = None
    request: RequestFacts | None = None
    prescriber: CertificationFact | None = None
    pharmacy: CertificationFact | None = None
    home_testing_enabled: bool = False
    irregular_cycles: bool = False
    last_dose_on: date | None = None
    resumed_on: date | None = None  # a suspended course resumed: earlier positives answered

    @property
    def open_positives(self) -> tuple[TestFact, ...]:
        """Positive tests that still stop everything: those not answered by a resume."""
        return tuple(
            t
            for t in self.tests
            if t.result is TestResult.POSITIVE
            and (self.resumed_on is None or t.specimen_on >= self.resumed_on)
        )

    @property
    def first_dose_on(self) -> date | None:
        """Treatment starts with the first dispense."""
        return min((fill.dispensed_on for fill in self.fills), default=None)
