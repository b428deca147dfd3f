"""Does the patient's calendar file hold their upcoming dates as a calendar app reads them
(RFC 5545: CRLF, folded lines, escaped text), and do the deadlines read right in Eastern time?"""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import icalendar
import pytest

from compliance.web.calendar import closing_time, signed_time
from tests.conftest import sign_in
from tests.test_monthly_services import walk
from tests.test_patient_pages import bank

EASTERN = ZoneInfo("America/New_York")


@pytest.fixture
def browser(app, db, factory, frozen):
    with app.app_context():
        bank(db)
        _, user, _ = walk(db, factory.prescriber())
    client = app.test_client()
    sign_in(client, user.email)
    return client


def test_the_calendar_file_is_well_formed(browser):
    """Is it text/calendar with CRLF line endings and no line over 75 octets?"""
    response = browser.get("/patient/calendar.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    body = response.data
    assert body.startswith(b"BEGIN:VCALENDAR\r\n") and body.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in body.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))


def test_the_fill_deadline_is_a_one_day_event_with_escaped_text(browser):
    """Is the dispensing window's last day one all-day event with its closing time, commas
    escaped, under a UID that names the course and the month?"""
    body = browser.get("/patient/calendar.ics").data
    unfolded = body.replace(b"\r\n ", b"").decode()
    assert "DTSTART;VALUE=DATE:20261129" in unfolded
    assert "DTEND;VALUE=DATE:20261130" in unfolded  # exclusive: Nov 29 only
    assert "SUMMARY:Last day your pharmacy can fill (until 11:59 pm Eastern)" in unfolded
    assert "Fill by November 29\\, 2026" in unfolded
    calendar = icalendar.Calendar.from_ical(body)
    [event] = [e for e in calendar.walk("VEVENT") if "pharmacy" in str(e["SUMMARY"])]
    assert re.fullmatch(r"course-\d+-dispensing_window-month-1@rems-compliance",
                        str(event["UID"]))
    assert event["DTSTAMP"].dt == datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    assert event["DESCRIPTION"] == (
        "Your pharmacy must fill your medicine by Nov 29, 11:59 pm Eastern time. "
        "Fill by November 29, 2026 (the do-not-dispense-after date).")


def test_a_patient_without_a_course_gets_no_calendar(app, factory, frozen):
    """Is the calendar absent (404) for a patient whose course has not started?"""
    patient = factory.patient(factory.prescriber())
    client = app.test_client()
    from compliance.models import Course, User

    factory.db.query(Course).filter_by(patient_id=patient.id).delete()
    factory.db.commit()

    sign_in(client, factory.db.get(User, patient.user_id).email)
    assert client.get("/patient/calendar.ics").status_code == 404


@pytest.mark.parametrize(("instant", "closing", "signed"), [
    (datetime(2026, 12, 4, 4, 59, 59, tzinfo=UTC), "Dec 3, 11:59 pm Eastern",
     "Dec 3, 2026 at 11:59 pm Eastern"),
    (datetime(2026, 7, 5, 3, 59, tzinfo=UTC), "Jul 4, 11:59 pm Eastern",
     "Jul 4, 2026 at 11:59 pm Eastern"),
    (datetime(2026, 11, 23, 17, 0, tzinfo=UTC), "Nov 23, 12:00 pm Eastern",
     "Nov 23, 2026 at 12:00 pm Eastern"),
    (datetime(2026, 3, 8, 5, 5, tzinfo=UTC), "Mar 8, 12:05 am Eastern",
     "Mar 8, 2026 at 12:05 am Eastern"),
])
def test_times_read_in_eastern_time_across_daylight_saving(instant, closing, signed):
    """Do deadlines and signature times read in Eastern time, summer and winter alike?"""
    assert closing_time(instant, EASTERN) == closing
    assert signed_time(instant, EASTERN) == signed
