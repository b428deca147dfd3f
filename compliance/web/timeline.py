"""A picture of a course: what happened and what is due, as inline SVG and as a list.

Pure functions: `course_events` turns a course's rows, facts and plan into dated events, and
`render_svg` draws them down a vertical spine (one row per event, so it reads on a phone
without zooming; a range such as a dispensing window or a method in use is a bar beside
the spine spanning the rows it covers). The page shows the same events as an ordered list,
the text equivalent. Every piece of text is escaped.
"""

import textwrap
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from compliance.services.course_view import Plan, PlanItemKind
from compliance.services.worklist import plain_day
from workflows.facts import CourseFacts, TestResult

ROW, TOP, WIDTH = 38, 16, 360
SPINE_X, LABEL_X, DATE_X = 104, 118, 6
LANE_XS = (94, 86, 78, 70)
COLOURS = {"milestone": "#12324f", "method": "#2f6f9f", "test": "#1f7a3a",
           "positive": "#b3261e", "window": "#b36b00", "authorization": "#6b3fa0",
           "fill": "#0b6e6e", "upcoming": "#57606a", "correction": "#8a5a00"}
DISTANT_ITEMS = (PlanItemKind.PRESCRIBER_REACTIVATION, PlanItemKind.PHARMACY_REACTIVATION)


@dataclass(frozen=True)
class Event:
    """Something on a day (or from a day to a day) in the course's life."""

    starts_on: date
    kind: str
    label: str
    ends_on: date | None = None
    upcoming: bool = False


def plain_instant(instant: datetime, zone: ZoneInfo, today: date | None = None) -> str:
    """ "Dec 3, 11:59 pm Eastern" for an aware instant, in the program's zone."""
    local = instant.astimezone(zone)
    hour = local.strftime("%I").lstrip("0")
    place = "Eastern" if zone.key == "America/New_York" else zone.key
    return f"{plain_day(local.date(), today)}, {hour}:{local:%M} {local:%p}".replace(
        "AM", "am").replace("PM", "pm") + f" {place}"


def span(event: Event, today: date | None = None) -> str:
    """The event's date or date range in words."""
    if event.ends_on is None or event.ends_on == event.starts_on:
        return plain_day(event.starts_on, today)
    return f"{plain_day(event.starts_on, today)} to {plain_day(event.ends_on, today)}"


def course_events(*, rows, facts: CourseFacts, plan: Plan, zone: ZoneInfo, today: date,
                  window_days: int | None) -> list[Event]:
    """Every dated event of a course (its `services.course_view`), oldest first."""
    course, events = rows.course, []
    events.append(Event(course.enrolled_at.astimezone(zone).date(), "milestone", "Enrolled"))
    if course.counseled_on:
        events.append(Event(course.counseled_on, "milestone", "Counseling recorded"))
    for method in rows.methods:
        if method.in_error_at is not None:
            events.append(Event(method.in_error_at.astimezone(zone).date(), "correction",
                                f"Method {_words(method.method)} marked as entered in error"))
            continue
        events.append(Event(method.started_on, "method", f"Method: {_words(method.method)}",
                            method.stopped_on or today))
    for test in rows.tests:
        if test.in_error_at is not None:
            events.append(Event(test.in_error_at.astimezone(zone).date(), "correction",
                                f"{_words(test.kind)} test of {plain_day(test.specimen_on)} "
                                "marked as entered in error"))
            continue
        positive = test.result == TestResult.POSITIVE
        events.append(Event(test.specimen_on, "positive" if positive else "test",
                            f"{_words(test.kind)} test: {test.result} ({test.setting})"))
        if window_days and test.result == TestResult.NEGATIVE and test.kind in (
                "confirmation", "monthly"):
            closes = test.specimen_on + timedelta(days=window_days - 1)
            events.append(Event(test.specimen_on, "window", "Dispensing window", closes))
    events += _cycle_events(rows.cycle, facts, zone)
    for fill in facts.fills:
        events.append(Event(fill.dispensed_on, "fill", f"Filled: {fill.days_supply} days"))
    if course.last_dose_on:
        events.append(Event(course.last_dose_on, "milestone", "Last dose"))
    if course.suspended_at:
        events.append(Event(course.suspended_at.astimezone(zone).date(), "positive",
                            "Course suspended: positive test"))
    events += _upcoming(plan, today)
    return sorted(events, key=lambda e: (e.starts_on, e.upcoming))


def _cycle_events(cycle, facts: CourseFacts, zone: ZoneInfo) -> list[Event]:
    events = []
    if cycle is not None and cycle.prescriber_confirmed_at:
        events.append(Event(cycle.prescriber_confirmed_at.astimezone(zone).date(), "milestone",
                            f"Month {cycle.number} confirmed by the prescriber"))
    if cycle is not None and cycle.patient_attested_at:
        events.append(Event(cycle.patient_attested_at.astimezone(zone).date(), "milestone",
                            f"Month {cycle.number} answered by the patient"))
    for rma in facts.cycle.authorizations if facts.cycle else ():
        dndpa = plain_day(rma.do_not_dispense_after)
        state = "reversed" if rma.reversed else f"do not dispense after {dndpa}"
        events.append(Event(rma.do_not_dispense_after, "authorization",
                            f"Authorization ({state})"))
    return events


def _upcoming(plan: Plan, today: date) -> list[Event]:
    events = []
    for item in plan.items:
        start = item.starts_on or item.ends_on
        if start is None or (item.kind in DISTANT_ITEMS
                             and start > today + timedelta(days=60)):
            continue
        if (item.ends_on or start) < today:
            continue
        events.append(Event(max(start, today), "upcoming", item.message, item.ends_on,
                            upcoming=True))
    return events


def _words(code: str) -> str:
    return code.replace("_", " ").capitalize()


def render_svg(events: list[Event], *, today: date, title: str) -> Markup:
    """The events down a spine, one row each; ranges as bars in lanes beside it."""
    if not events:
        return Markup()
    rows = list(events)
    today_row = next((i for i, e in enumerate(rows) if e.upcoming or e.starts_on > today),
                     len(rows))
    height = TOP * 2 + ROW * (len(rows) + 1)
    desc = (f"{len(rows)} events from {plain_day(rows[0].starts_on, today)} to "
            f"{plain_day(rows[-1].ends_on or rows[-1].starts_on, today)}; today is "
            f"{plain_day(today, today)}. The same events are listed below the picture.")
    parts = [f'<svg class="timeline" viewBox="0 0 {WIDTH} {height}" role="img" '
             f'aria-labelledby="timeline-title timeline-desc" '
             f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="timeline-title">{escape(title)}</title>',
             f'<desc id="timeline-desc">{escape(desc)}</desc>',
             f'<line x1="{SPINE_X}" y1="{TOP}" x2="{SPINE_X}" y2="{height - TOP}" '
             'stroke="#8c959f" stroke-width="2"/>']
    parts += _bars(rows, today_row)
    for index, event in enumerate(rows):
        parts.append(_row(event, _y(index, today_row), today))
    parts.append(_today_line(_y(today_row, today_row) - ROW / 2, today))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above went through escape)  # nosec


def _y(index: int, today_row: int) -> float:
    """Rows after today's marker move down one row to leave room for it."""
    return TOP + ROW * (index + (1 if index >= today_row else 0)) + ROW / 2


def _bars(rows: list[Event], today_row: int) -> list[str]:
    """A bar for each range, from its row to the last row it still covers."""
    lanes_end: list[int] = []
    parts = []
    for index, event in enumerate(rows):
        if event.ends_on is None or event.ends_on == event.starts_on:
            continue
        last = max(i for i, other in enumerate(rows) if other.starts_on <= event.ends_on)
        lane = next((n for n, end in enumerate(lanes_end) if end < index), len(lanes_end))
        if lane == len(lanes_end):
            lanes_end.append(last)
        lanes_end[lane] = last
        x = LANE_XS[min(lane, len(LANE_XS) - 1)]
        y1, y2 = _y(index, today_row), _y(last, today_row) + 8
        dash = ' stroke-dasharray="4 3"' if event.upcoming else ""
        parts.append(f'<line x1="{x}" y1="{y1:.0f}" x2="{x}" y2="{y2:.0f}" '
                     f'stroke="{COLOURS[event.kind]}" stroke-width="5" '
                     f'stroke-linecap="round"{dash}/>')
    return parts


def _row(event: Event, y: float, today: date) -> str:
    colour = COLOURS[event.kind]
    fill = "#fff" if event.upcoming else colour
    lines = textwrap.wrap(event.label, 32, max_lines=2, placeholder="…") or [""]
    first_y = y - (7 if len(lines) > 1 else -4)
    text = "".join(f'<tspan x="{LABEL_X}" y="{first_y + 15 * n:.0f}">{escape(line)}</tspan>'
                   for n, line in enumerate(lines))
    when = plain_day(event.starts_on, today)
    return (f'<g class="tl-{event.kind}"><title>{escape(span(event, today))}: '
            f'{escape(event.label)}</title>'
            f'<text x="{DATE_X}" y="{y + 4:.0f}" font-size="13" fill="#1f2328">'
            f'{escape(when)}</text>'
            f'<circle cx="{SPINE_X}" cy="{y:.0f}" r="6" fill="{fill}" stroke="{colour}" '
            f'stroke-width="2"/>'
            f'<text font-size="13" fill="#1f2328">{text}</text></g>')


def _today_line(y: float, today: date) -> str:
    return (f'<line x1="{DATE_X}" y1="{y:.0f}" x2="{WIDTH - 6}" y2="{y:.0f}" stroke="#b36b00" '
            f'stroke-dasharray="6 4"/><text x="{LABEL_X}" y="{y - 4:.0f}" font-size="12" '
            f'fill="#8a5200" font-weight="700">Today, {escape(plain_day(today, today))}</text>')
