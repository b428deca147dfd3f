"""The patient's dates: what to do now in plain words, and the same plan as a calendar file.

Both read the course's view (`services.course_view`: the planner's "what is due and by
when", today's decision and the course's state), so the home page, the calendar and the
pharmacy's decision never disagree. Dates are shown
in the program's zone (America/New_York for iPLEDGE), the zone its windows close in.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, vDuration

from compliance.services.course_view import CourseView, PlanItem, PlanItemKind
from workflows.findings import ReasonCode
from workflows.machines import CourseState

ZONE_WORDS = {"America/New_York": "Eastern", "America/Chicago": "Central",
              "America/Denver": "Mountain", "America/Los_Angeles": "Pacific"}

@dataclass(frozen=True)
class Entry:
    """How a plan item reads in the patient's calendar: one day, its first or its last."""

    summary: str
    on_last_day: bool = False


# What a patient's calendar holds: their own dates, not the prescriber's paperwork.
PATIENT_ITEMS = {
    PlanItemKind.PREGNANCY_TEST: Entry("Pregnancy test due", on_last_day=True),
    PlanItemKind.DISPENSING_WINDOW: Entry("Last day your pharmacy can fill", on_last_day=True),
    PlanItemKind.REFILL: Entry("Next fill possible"),
    PlanItemKind.POST_TREATMENT_TEST: Entry("Post-treatment pregnancy test"),
    PlanItemKind.CONTRACEPTION_AFTER_TREATMENT: Entry("Last day to keep using birth control",
                                                      on_last_day=True),
    PlanItemKind.NO_BLOOD_DONATION: Entry("Last day not to donate blood", on_last_day=True),
}
# A calendar app shows each day's reminder at 9 am the day before and 8 am on the day.
ALARMS = (timedelta(hours=-15), timedelta(hours=8))
KEPT_PAST = timedelta(days=31)  # a day older than this has left the calendar
REFRESH = timedelta(hours=1)  # how often a subscribed calendar app should read the feed again


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


def time_of_day(instant: datetime, zone: ZoneInfo) -> str:
    """ "11:59 pm Eastern" """
    local = instant.astimezone(zone)
    hour = local.hour % 12 or 12
    half = "am" if local.hour < 12 else "pm"
    return f"{hour}:{local:%M} {half} {ZONE_WORDS.get(zone.key, local.tzname())}"


def closing_time(instant: datetime, zone: ZoneInfo) -> str:
    """ "Dec 3, 11:59 pm Eastern" """
    return f"{short_day(instant.astimezone(zone).date())}, {time_of_day(instant, zone)}"


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


def ics(view: CourseView | None) -> bytes:
    """The patient's dates as an iCalendar file (RFC 5545): one all-day event per date, each
    with two alarms, under a UID that stays the same while the date it names moves, so a
    calendar app updates an event instead of adding a second one. No course: no events."""
    calendar = Calendar()
    calendar.add("prodid", "-//REMS Compliance//Patient plan//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "My treatment program")
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH).to_ical().decode())
    for item in view.plan.items if view else ():
        entry = PATIENT_ITEMS.get(item.kind)
        if entry is None:
            continue
        on = (item.ends_on if entry.on_last_day else None) or item.starts_on
        if on is None or on < view.today - KEPT_PAST:
            continue
        calendar.add_component(_event(view, item, entry, on))
    return calendar.to_ical()


def _event(view: CourseView, item: PlanItem, entry: Entry, on: date) -> Event:
    summary, description = entry.summary, item.message
    if item.kind is PlanItemKind.DISPENSING_WINDOW and item.ends_at is not None:
        summary = f"{summary} (until {time_of_day(item.ends_at, view.program.zone)})"
        description = (f"Your pharmacy must fill your medicine by "
                       f"{closing_time(item.ends_at, view.program.zone)} time. {item.message}")
    event = Event()
    event.add("uid", f"course-{view.rows.course.id}-{_occurrence(view, item.kind)}"
                     "@rems-compliance")
    event.add("dtstamp", view.now)
    event.add("dtstart", on)
    event.add("dtend", on + timedelta(days=1))  # exclusive: the one day
    event.add("transp", "TRANSPARENT")  # a reminder, not a busy day
    event.add("summary", summary)
    event.add("description", description)
    for trigger in ALARMS:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary)
        alarm.add("trigger", trigger)
        event.add_component(alarm)
    return event


def _occurrence(view: CourseView, kind: PlanItemKind) -> str:
    """Which test or month an item is about: the next test is named by how many tests came
    before it, a window or a refill by its month, the dates after treatment by their kind."""
    if kind is PlanItemKind.PREGNANCY_TEST:
        return f"{kind}-{len(view.rows.tests) + 1}"
    if kind in (PlanItemKind.DISPENSING_WINDOW, PlanItemKind.REFILL):
        return f"{kind}-month-{view.rows.cycle.number if view.rows.cycle else 0}"
    return str(kind)
