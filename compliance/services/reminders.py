"""Reminders: an email to the person who must act, before each date the planner knows.

The worker's `send-reminders` job reads every open course's view (`services.course_view`,
the same plan the pages and the calendar show) and writes what is due into the outbox, each
under a key naming the course and the date or month it is about: however often the job
runs, on however many workers, a reminder is written once. Nothing is sent before
`REMINDER_HOUR` in the program's zone, so nobody is woken at midnight.

Each person may switch off any kind but one: the patient's "last day to fill", the one
reminder whose loss costs the month. An email names the date and the step, never a result,
a method or a category ("You have something to do in the program by December 8, 2026").
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from compliance import audit, mailer
from compliance.models import (
    CertificationStatus,
    OutboxMessage,
    Pharmacy,
    PrescriberProfile,
    ReminderOptOut,
    Rma,
    RmaStatus,
    Role,
    User,
)
from compliance.programs import DEFAULT_PROGRAM, program
from compliance.services import outbox
from compliance.services.course_view import CourseView, PlanItemKind, view_of
from compliance.services.facts import open_course_batches
from workflows.dates import end_of_day, human
from workflows.facts import TestKind
from workflows.findings import Actor
from workflows.machines import CourseState

BATCH = 500
CERTIFICATION_NOTICE_DAYS = 30
WINDOW_NOTICE_DAYS = 2
UNDATED_DEADLINE = timedelta(days=3)  # how long to retry a reminder with no date of its own


@dataclass(frozen=True)
class Kind:
    """One kind of reminder: who receives it, how the choices page names it, and whether
    it may be switched off."""

    name: str
    role: Role
    label: str
    required: bool = False


KINDS = {kind.name: kind for kind in (
    Kind("test_due", Role.PATIENT, "A test is due"),
    Kind("questions_open", Role.PATIENT, "This month's questions are ready"),
    Kind("window_closing", Role.PATIENT, "Two days left for your pharmacy to fill"),
    Kind("window_last_day", Role.PATIENT, "Last day for your pharmacy to fill", required=True),
    Kind("post_treatment_test", Role.PATIENT, "The test after treatment is due"),
    Kind("patients_due", Role.PRESCRIBER,
         "Daily list: fill windows closing within 2 days with your step not done"),
    Kind("prescriber_certification", Role.PRESCRIBER, "Your certification ends within 30 days"),
    Kind("rma_expiring", Role.PHARMACIST, "An authorization expires today, not filled"),
    Kind("pharmacy_certification", Role.PHARMACIST,
         "Your pharmacy's certification ends within 30 days"),
)}


@dataclass(frozen=True)
class Reminder:
    """One email to write: to whom, of what kind, once per `key`, and what it says."""

    kind: str
    user_id: int
    key: str
    subject: str
    sentence: str
    deadline: datetime
    endpoint: str = "auth.index"
    values: dict = field(default_factory=dict)


def kinds_for(role: Role | str) -> list[Kind]:
    """The kinds a person of this role may receive, in the order the choices page lists."""
    return [kind for kind in KINDS.values() if kind.role == role]


def switched_off(db: Session, user_id: int) -> set[str]:
    """The kinds this person chose not to receive."""
    return set(db.scalars(select(ReminderOptOut.kind).where(ReminderOptOut.user_id == user_id)))


def choose(db: Session, *, user: User, wanted: set[str], now: datetime) -> None:
    """Keep the kinds in `wanted` on and switch the others of the user's role off (a
    required kind stays on whatever is asked); audited, not committed."""
    allowed = kinds_for(user.role)
    off = {kind.name for kind in allowed if kind.name not in wanted and not kind.required}
    before = switched_off(db, user.id)
    if off == before:
        return
    db.execute(delete(ReminderOptOut).where(ReminderOptOut.user_id == user.id))
    db.add_all(ReminderOptOut(user_id=user.id, kind=name, chosen_at=now) for name in sorted(off))
    audit.record(db, "reminders.chosen", "user", user.id,
                 summary={"switched_off": sorted(off), "before": sorted(before)})


def history(db: Session, *, user: User, limit: int = 50) -> list[OutboxMessage]:
    """The latest emails written to this person, newest first; the read is audited."""
    found = db.scalars(select(OutboxMessage).where(OutboxMessage.user_id == user.id)
                       .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
                       .limit(limit)).all()
    audit.record(db, "mail.history_viewed", "user", user.id, summary={"shown": len(found)})
    return list(found)


def send_due(db: Session, now: datetime) -> int:
    """Write every reminder due now into the outbox, committing batch by batch; returns how
    many were written. Before `REMINDER_HOUR` in the program's zone it writes nothing."""
    zone = program(DEFAULT_PROGRAM).zone
    local = now.astimezone(zone)
    if local.hour < current_app.config["REMINDER_HOUR"]:
        return 0
    today = local.date()
    written = 0
    digests: dict[int, list[date]] = defaultdict(list)
    for batch in open_course_batches(db, BATCH):
        found = []
        for rows in batch:
            view = view_of(rows, now)
            found += for_patient(view)
            if (closing := prescriber_step_closing(view)) is not None:
                digests[rows.prescriber.user_id].append(closing)
        written += _write(db, found, now)
        db.commit()
    found = [_digest(user_id, days, today, zone) for user_id, days in digests.items()]
    found += _certifications(db, today, zone) + _expiring_rmas(db, today)
    written += _write(db, found, now)
    db.commit()
    return written


def for_patient(view: CourseView) -> list[Reminder]:
    """The patient's reminders due today from this course's plan."""
    course, rows, today = view.rows.course, view.rows, view.today
    if course.state not in (CourseState.ENROLLED, CourseState.QUALIFYING, CourseState.ACTIVE,
                            CourseState.POST_TREATMENT):
        return []
    zone, user_id, found = view.program.zone, rows.patient.user_id, []

    def remind(kind: str, key: str, by: date | None, sentence: str, deadline: datetime,
               endpoint: str = "patient.home") -> None:
        when = f"by {human(by)}" if by else "now"
        found.append(Reminder(kind, user_id, f"{kind}:{key}",
                              f"You have something to do in the program {when}", sentence,
                              deadline, endpoint))

    test = view.plan.get(PlanItemKind.PREGNANCY_TEST)
    if test is not None and test.starts_on is not None and test.starts_on <= today:
        by = test.ends_on
        remind("test_due", f"{course.id}:{len(rows.tests)}", by,
               f"Your next test for the program is due {f'by {human(by)}' if by else 'now'}. "
               "Your prescriber can tell you where to take it.",
               end_of_day(by, zone) if by else view.now + UNDATED_DEADLINE)
    window = view.window
    cycle = rows.cycle
    if (cycle is not None and view.patient_answers_needed and course.last_dose_on is None
            and cycle.prescriber_confirmed_at is not None and cycle.patient_attested_at is None):
        by = window.ends_on if window else None
        remind("questions_open", str(cycle.id), by,
               "Your questions for this month are ready. Please answer them "
               f"{f'by {human(by)}' if by else 'soon'}.",
               window.ends_at if window and window.ends_at else view.now + UNDATED_DEADLINE,
               "patient.month")
    if window is not None and window.ends_on is not None and window.ends_at is not None \
            and not any(rma.status == RmaStatus.DISPENSED for rma in rows.cycle_rmas):
        left = (window.ends_on - today).days
        if 0 < left <= WINDOW_NOTICE_DAYS:
            remind("window_closing", f"{course.id}:{window.ends_on}", window.ends_on,
                   f"Your pharmacy can fill your medicine until {human(window.ends_on)}. "
                   "After that day you would have to start the month's steps again.",
                   window.ends_at)
        elif left == 0:
            remind("window_last_day", f"{course.id}:{window.ends_on}", window.ends_on,
                   "Today is the last day your pharmacy can fill your medicine. It must "
                   f"fill it by {mailer.in_words(window.ends_at)}.", window.ends_at)
    after = view.plan.get(PlanItemKind.POST_TREATMENT_TEST)
    if after is not None and after.starts_on is not None and after.starts_on <= today \
            and not any(t.kind is TestKind.POST_TREATMENT for t in view.facts.tests):
        remind("post_treatment_test", str(course.id), None,
               f"Your test after the end of treatment is due from {human(after.starts_on)}. "
               "Your prescriber can tell you where to take it.",
               view.now + timedelta(days=30))
    return found


def prescriber_step_closing(view: CourseView) -> date | None:
    """The last day of this course's window, when it closes within two days and a step of
    the prescriber's still stands in the way of the fill."""
    window = view.window
    if window is None or window.ends_on is None:
        return None
    if not 0 <= (window.ends_on - view.today).days <= WINDOW_NOTICE_DAYS:
        return None
    if not any(f.actor is Actor.PRESCRIBER for f in view.decision.unmet):
        return None
    return window.ends_on


def _digest(user_id: int, days: list[date], today: date, zone) -> Reminder:
    by, count = min(days), len(days)
    patients = "1 of your patients has" if count == 1 else f"{count} of your patients have"
    return Reminder("patients_due", user_id, f"patients_due:{user_id}:{today}",
                    f"Patients need a step from you by {human(by)}",
                    f"{patients} a fill window that closes by {human(by)}, and your step for "
                    "them is not done yet. Your worklist shows who and what.",
                    end_of_day(by, zone), "prescriber.home")


def _certifications(db: Session, today: date, zone) -> list[Reminder]:
    """Prescribers and pharmacies whose certification ends within 30 days."""
    soon = today + timedelta(days=CERTIFICATION_NOTICE_DAYS)
    certified = CertificationStatus.CERTIFIED.value
    found = []
    for prescriber in db.scalars(select(PrescriberProfile).where(
            PrescriberProfile.certification_status == certified,
            PrescriberProfile.certification_expires_on > today,
            PrescriberProfile.certification_expires_on <= soon)):
        found.append(_certification("prescriber_certification", prescriber.user_id,
                                    prescriber.certification_expires_on, zone,
                                    "Your program certification", "prescribe"))
    for pharmacy in db.scalars(select(Pharmacy).where(
            Pharmacy.certification_status == certified,
            Pharmacy.responsible_pharmacist_id.is_not(None),
            Pharmacy.certification_expires_on > today,
            Pharmacy.certification_expires_on <= soon)):
        found.append(_certification("pharmacy_certification", pharmacy.responsible_pharmacist_id,
                                    pharmacy.certification_expires_on, zone,
                                    "Your pharmacy's program certification", "fill"))
    return found


def _certification(kind: str, user_id: int, expires_on: date, zone, whose: str,
                   verb: str) -> Reminder:
    last_day = expires_on - timedelta(days=1)  # `expires_on` is the first day not covered
    return Reminder(kind, user_id, f"{kind}:{user_id}:{expires_on}",
                    f"{whose} ends on {human(last_day)}",
                    f"{whose} covers you until {human(last_day)}. Renew it before then to "
                    f"keep being able to {verb} in the program.", end_of_day(last_day, zone))


def _expiring_rmas(db: Session, today: date) -> list[Reminder]:
    """Authorizations whose last day is today and that are not filled, to the pharmacist
    who asked for them (or the pharmacy's responsible pharmacist)."""
    found = []
    query = (select(Rma, Pharmacy.responsible_pharmacist_id)
             .join(Pharmacy, Pharmacy.id == Rma.pharmacy_id)
             .where(Rma.status == RmaStatus.ISSUED, Rma.do_not_dispense_after == today))
    for rma, responsible in db.execute(query):
        user_id = rma.requested_by_id or responsible
        if user_id is None:
            continue
        found.append(Reminder(
            "rma_expiring", user_id, f"rma_expiring:{rma.id}",
            "An authorization expires today",
            f"Authorization {rma.rma_number} has not been filled and ends on "
            f"{mailer.in_words(rma.window_closes_at)}. After that it can no longer be used.",
            rma.window_closes_at, "pharmacist.home"))
    return found


def _write(db: Session, found: list[Reminder], now: datetime) -> int:
    """Write each reminder its recipient still wants and can read; the others are dropped
    (a switched-off kind, a deactivated or never activated account)."""
    if not found:
        return 0
    ids = {reminder.user_id for reminder in found}
    users = {user.id: user for user in db.scalars(select(User).where(
        User.id.in_(ids), User.is_active, User.password_hash.is_not(None)))}
    off = {tuple(row) for row in db.execute(select(ReminderOptOut.user_id, ReminderOptOut.kind)
                         .where(ReminderOptOut.user_id.in_(ids)))}
    written = 0
    for reminder in found:
        user = users.get(reminder.user_id)
        unwanted = (reminder.user_id, reminder.kind) in off and not KINDS[reminder.kind].required
        if user is None or unwanted:
            continue
        written += outbox.enqueue(
            db, to=user, kind=reminder.kind, deadline=reminder.deadline, now=now,
            once_key=reminder.key, template="reminder", subject=reminder.subject,
            sentence=reminder.sentence, endpoint=reminder.endpoint) is not None
    return written
