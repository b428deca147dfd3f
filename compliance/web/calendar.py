"""The patient's dates: what to do now in plain words, and the same plan as a calendar file.

Both read the course's view (`services.course_view`: the planner's "what is due and by
when", today's decision and the course's state), so the home page, the calendar and the
pharmacy's decision never disagree. Dates are shown
in the program's zone (America/New_York for iPLEDGE), the zone its windows close in.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from compliance.services.course_view import CourseView, PlanItemKind
from workflows.findings import ReasonCode
from workflows.machines import CourseState

ZONE_WORDS = {"America/New_York": "Eastern", "America/Chicago": "Central",
              "America/Denver": "Mountain", "America/Los_Angeles": "Pacific"}

# What a patient's calendar holds: their own dates, not the prescriber's paperwork.
PATIENT_ITEMS = {
    PlanItemKind.PREGNANCY_TEST: "Pregnancy test",
    PlanItemKind.DISPENSING_WINDOW: "Last day your pharmacy can fill",
    PlanItemKind.REFILL: "Next fill possible",
    PlanItemKind.POST_TREATMENT_TEST: "Post-treatment pregnancy test",
    PlanItemKind.CONTRACEPTION_AFTER_TREATMENT: "Keep using two birth control methods",
    PlanItemKind.NO_BLOOD_DONATION: "Do not donate blood",
}


# While one of these stands, this month is not done, whatever the patient answered.
PRESCRIBER_STEPS = frozenset({ReasonCode.WINDOW_EXPIRED, ReasonCode.PREGNANCY_TEST_MISSING,
                              ReasonCode.LOCKOUT_19_DAY})


@dataclass(frozen=True)
class Todo:
    """One line of "what to do now": a sentence, an optional link, and who acts."""

    text: str
    endpoint: str | None = None
    waiting: bool = False  # someone else must act; the patient only waits


def short_day(day: date) -> str:
    """ "Dec 3" """
    return f"{day:%b} {day.day}"


def closing_time(instant: datetime, zone: ZoneInfo) -> str:
    """ "Dec 3, 11:59 pm Eastern" """
    local = instant.astimezone(zone)
    hour = local.hour % 12 or 12
    half = "am" if local.hour < 12 else "pm"
    return (f"{short_day(local.date())}, {hour}:{local:%M} {half} "
            f"{ZONE_WORDS.get(zone.key, local.tzname())}")


def signed_time(instant: datetime, zone: ZoneInfo) -> str:
    """ "Nov 23, 2026 at 12:00 pm Eastern" """
    local = instant.astimezone(zone)
    day, rest = closing_time(local, zone).split(", ", 1)
    return f"{day}, {local.year} at {rest}"


def todos(view: CourseView) -> list[Todo]:
    """What the patient should do (or is waiting for) now, most pressing first."""
    course, cycle = view.rows.course, view.rows.cycle
    zone = view.program.zone
    if course.state == CourseState.SUSPENDED:
        return [Todo("Your course is stopped because a pregnancy test was positive. Do not "
                     "take any more of this medicine and call your prescriber now.")]
    if course.state in (CourseState.COMPLETED, CourseState.WITHDRAWN):
        return [Todo("Your course has ended. Nothing more to do.")]
    plan, window = view.plan, view.window
    items: list[Todo] = []
    if course.enrollment_signature_id is None:
        items.append(Todo("Sign your enrollment", "patient.enrollment"))
    if course.counseled_on is None:
        items.append(Todo("Waiting for your prescriber to record your counseling", waiting=True))
    if (course.enrollment_signature_id is not None and course.last_dose_on is None
            and view.patient_answers_needed):
        unmet = view.unmet
        if ReasonCode.PRESCRIBER_CONFIRMATION_MISSING in unmet or cycle is None \
                or cycle.prescriber_confirmed_at is None:
            items.append(Todo("Waiting for your prescriber to confirm this month", waiting=True))
        elif cycle.patient_attested_at is None:
            by = f" by {short_day(window.ends_on)}" if window and window.ends_on else ""
            items.append(Todo(f"Answer this month's questions{by}", "patient.month"))
        elif not unmet & PRESCRIBER_STEPS:
            signed = cycle.patient_attested_at.astimezone(zone)
            items.append(Todo(f"You answered this month's questions on {short_day(signed.date())}"
                              ". Nothing more to do this month.", waiting=True))
    for item in plan.items:
        if item.kind is PlanItemKind.DISPENSING_WINDOW and item.ends_at is not None:
            items.append(Todo("Your pharmacy must fill by "
                              f"{closing_time(item.ends_at, zone)}", waiting=True))
        elif item.kind in PATIENT_ITEMS:
            items.append(Todo(item.message))
    if course.next_action == "WINDOW_EXPIRED":
        items.insert(0, Todo("The time to fill after your last pregnancy test has passed. "
                             "Your prescriber will arrange a new test.", waiting=True))
    return items


def ics(view: CourseView) -> bytes:
    """The patient's upcoming plan items as an iCalendar file (RFC 5545), all-day events."""
    today, now = view.today, view.now
    calendar = Calendar()
    calendar.add("prodid", "-//REMS Compliance//Patient plan//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "My treatment program")
    for item in view.plan.items:
        if item.kind not in PATIENT_ITEMS:
            continue
        first = item.starts_on or item.ends_on
        last = item.ends_on or item.starts_on
        if first is None or (last is not None and last < today):
            continue
        event = Event()
        event.add("uid", f"course-{view.rows.course.id}-{item.kind}-{first.isoformat()}"
                         "@rems-compliance")
        event.add("dtstamp", now)
        event.add("dtstart", first)
        event.add("dtend", (last or first) + timedelta(days=1))  # exclusive end
        event.add("summary", PATIENT_ITEMS[item.kind])
        event.add("description", item.message)
        calendar.add_component(event)
    return calendar.to_ical()
