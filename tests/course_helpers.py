"""Building courses through the real services, for service, API and concurrency tests."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import freezegun

from compliance.models import Course, PatientProfile, Pharmacy, User
from compliance.services import courses, methods, monthly, patients, question_banks
from tests import conftest

DAY0 = datetime(2026, 10, 1, 15, 0, tzinfo=UTC)  # 11:00 in New York, under iPLEDGE 2026
METHODS = ("intrauterine_device", "male_latex_condom")
DOB = "2004-05-17"


def at(days: float) -> datetime:
    return DAY0 + timedelta(days=days)


def local(days: float) -> date:
    return at(days).date()


@dataclass
class World:
    prescriber_user: User
    patient_user: User
    patient: PatientProfile
    course: Course
    bank: object
    npi: str


def build_world(db, factory, *, email="casey@example.com", category="can_get_pregnant",
                bank=True) -> World:
    """A certified prescriber, an active question bank and an activated patient (day 0)."""
    prescriber = factory.prescriber()
    active = None
    if bank:
        active = question_banks.active_bank(db, program="ipledge", category="can_get_pregnant")
        if active is None:
            active = question_banks.create_version(
                db, program="ipledge", category="can_get_pregnant", now=at(0),
                questions=question_banks.DEFAULT_IPLEDGE_QUESTIONS)
            question_banks.activate(db, bank=active, now=at(0))
    with freezegun.freeze_time(at(0)):
        patient, _ = patients.register_patient(
            db, prescriber=prescriber, now=at(0), today=local(0), invitation_days=7,
            data={"given_name": "Casey", "family_name": "Morgan", "date_of_birth": DOB,
                  "email": email, "weight_kg": 60, "category": category,
                  "category_reason": "Reproductive potential."})
    patient_user = db.get(User, patient.user_id)
    patient_user.password_hash = conftest.PASSWORD_HASH
    db.commit()
    course = db.query(Course).filter_by(patient_id=patient.id).one()
    return World(db.get(User, prescriber.user_id), patient_user, patient, course, active,
                 prescriber.npi)


def qualify(db, world: World, confirmation_day: int = 20) -> None:
    """Consent, counseling, two methods for 40 days, screening on day 1, confirmation later."""
    monthly.sign_enrollment(db, course=world.course, patient_user=world.patient_user,
                            password=conftest.PASSWORD, now=at(0))
    courses.record_counseling(db, course=world.course, counseled_on=local(0), today=local(0),
                              now=at(0))
    if world.patient.category != "can_get_pregnant":
        return
    for method in METHODS:
        methods.add_method(db, course=world.course, data={"method": method,
                                                          "started_on": local(-40)},
                           today=local(0), entered_by=world.prescriber_user.id, now=at(0))
    for kind, day, setting in (("screening", 1, "office"),
                               ("confirmation", confirmation_day, "laboratory")):
        courses.record_test(db, course=world.course, entered_by=world.prescriber_user.id,
                            now=at(day), today=local(day),
                            data={"kind": kind, "specimen_on": local(day),
                                  "result": "negative", "setting": setting})


def complete_month(db, world: World, day: int) -> None:
    """The prescriber confirms, the patient passes the quiz and attests, all on `day`."""
    monthly.confirm_month(db, course=world.course, prescriber_user=world.prescriber_user,
                          password=conftest.PASSWORD, now=at(day))
    if world.patient.category != "can_get_pregnant":
        return
    answers = {q["id"]: q["answer"] for q in world.bank.questions}
    monthly.answer_quiz(db, course=world.course, answers=answers, now=at(day))
    monthly.attest(db, course=world.course, patient_user=world.patient_user,
                   methods=list(METHODS), password=conftest.PASSWORD, now=at(day))


def qualified_with_no_month_open(db, factory, **kwargs) -> World:
    """A patient who cannot get pregnant, signed and counseled: under iPLEDGE 2026 nothing
    is due each month, so no month is open when the pharmacy asks (its request opens one)."""
    world = build_world(db, factory, category="cannot_get_pregnant", **kwargs)
    qualify(db, world)
    return world


def ready_for_first_fill(db, factory, **kwargs) -> World:
    world = build_world(db, factory, **kwargs)
    qualify(db, world)
    complete_month(db, world, 20)
    return world


def rma_ask(world: World, **overrides) -> dict:
    return {"patient_id": world.patient.program_patient_id, "patient_date_of_birth": DOB,
            "prescriber_npi": world.npi, "ndc": "0555-0101-02", "strength_mg": 40,
            "quantity": 30, "days_supply": 30, **overrides}


def certified_pharmacy(factory) -> Pharmacy:
    site = factory.pharmacy()
    site.certified_on = site.staff_trained_on = date(2026, 1, 1)
    site.certification_expires_on = date(2027, 1, 1)
    factory.db.add(site)
    factory.db.commit()
    return site
