"""Can a patient subscribe their calendar app to a secret address that stays current,
replace it or stop it, and does each read show up in the audit trail?"""

import re
from datetime import timedelta

import icalendar
import pytest
from sqlalchemy import select

from compliance.models import AuditEvent, CalendarFeed, User
from tests.conftest import post_form, sign_in
from tests.test_monthly_services import walk
from tests.test_patient_pages import bank

ADDRESS = re.compile(r'value="(https?://[^"]+/feeds/calendar/([^"/]+)\.ics)"')


@pytest.fixture
def patient(app, db, factory, frozen):
    """A patient in their first window (Nov 23 to 29), signed in."""
    with app.app_context():
        bank(db)
        profile, user, _ = walk(db, factory.prescriber())
    client = app.test_client()
    sign_in(client, user.email)
    return client, profile, user


def subscribe(client) -> tuple[str, str]:
    """Make the address as the patient does; its URL path and the page that showed it."""
    page = post_form(client, "/patient/calendar/address", {}, token_from="/patient/calendar")
    assert page.status_code == 200
    url, _ = ADDRESS.search(page.text).groups()
    return url.split("://", 1)[1].split("/", 1)[1], page.text


def read(app, path: str):
    """The feed as a calendar app reads it: no cookies, no session."""
    return app.test_client().get("/" + path)


def events(response) -> list:
    return list(icalendar.Calendar.from_ical(response.data).walk("VEVENT"))


def test_the_address_is_shown_once_with_a_webcal_link(app, patient):
    """Does making the address show it (https and webcal) on that answer only?"""
    client, _, _ = patient
    assert "Your calendar address is off." in client.get("/patient/calendar").text
    path, shown = subscribe(client)
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    assert f'href="webcal://localhost/{path}"' in shown
    assert "shown only this once" in shown
    later = client.get("/patient/calendar").text
    assert token not in later
    assert "has not checked it yet" in later


def test_a_calendar_app_reads_the_feed_without_signing_in(app, db, patient):
    """Does the address answer a calendar with the window's last day, its time, and no
    caching by shared proxies; and does the patient see when it was last read?"""
    client, profile, user = patient
    path, _ = subscribe(client)
    response = read(app, path)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Cache-Control"] == "private, no-cache"
    [window] = [e for e in events(response) if "pharmacy can fill" in str(e["SUMMARY"])]
    assert str(window["SUMMARY"]) == "Last day your pharmacy can fill (until 11:59 pm Eastern)"
    assert str(window["DTSTART"].dt) == "2026-11-29"
    assert str(window["DTEND"].dt) == "2026-11-30"
    assert "Nov 29, 11:59 pm Eastern time" in str(window["DESCRIPTION"])
    assert "last checked it on Nov 23, 2026" in client.get("/patient/calendar").text
    reads = db.scalars(select(AuditEvent).where(AuditEvent.action == "calendar_feed.read")).all()
    assert [(e.object_id, e.actor_user_id, e.actor_role) for e in reads] == [
        (str(profile.id), user.id, "patient")]


def test_every_event_is_one_day_with_two_alarms(app, patient):
    """Does each date remind the day before at 9 am and on the day at 8 am?"""
    client, _, _ = patient
    path, _ = subscribe(client)
    found = events(read(app, path))
    assert found
    for event in found:
        assert event["DTEND"].dt - event["DTSTART"].dt == timedelta(days=1)
        assert str(event["TRANSP"]) == "TRANSPARENT"
        triggers = sorted(alarm["TRIGGER"].dt for alarm in event.walk("VALARM"))
        assert triggers == [timedelta(hours=-15), timedelta(hours=8)]


def test_uids_stay_the_same_from_day_to_day(app, patient, frozen):
    """Does a calendar app that reads again tomorrow update the events it has instead of
    adding copies (same UIDs)?"""
    client, _, _ = patient
    path, _ = subscribe(client)
    today = {str(e["UID"]) for e in events(read(app, path))}
    frozen.tick(timedelta(days=3))
    later = {str(e["UID"]) for e in events(read(app, path))}
    assert today and today == later


def test_a_new_address_ends_the_old_one_and_stopping_ends_both(app, db, patient):
    """Does replacing the address stop the old one at once, and stopping stop the new?"""
    client, profile, _ = patient
    first, _ = subscribe(client)
    second, _ = subscribe(client)
    assert first != second
    assert read(app, first).status_code == 404
    assert read(app, second).status_code == 200
    stopped = post_form(client, "/patient/calendar/address/stop", {},
                        token_from="/patient/calendar", follow_redirects=True)
    assert "Your calendar address is stopped." in stopped.text
    assert "Your calendar address is off." in stopped.text
    assert read(app, second).status_code == 404
    assert db.scalar(select(CalendarFeed)) is None
    actions = db.scalars(select(AuditEvent.action).where(
        AuditEvent.action.like("calendar_feed.%"), AuditEvent.object_id == str(profile.id))
        .order_by(AuditEvent.id)).all()
    assert actions == ["calendar_feed.started", "calendar_feed.replaced", "calendar_feed.read",
                       "calendar_feed.stopped"]


@pytest.mark.parametrize("path", ["feeds/calendar/not-a-token.ics", "feeds/calendar/.ics",
                                  "feeds/calendar/" + "x" * 5000 + ".ics"])
def test_an_unknown_address_is_not_found(app, patient, path):
    """Does a made-up address answer 404, saying nothing about anyone?"""
    response = read(app, path)
    assert response.status_code == 404
    assert "Casey" not in response.text


def test_a_deactivated_patient_s_address_stops(app, db, patient):
    """Does deactivating the account end the calendar too?"""
    client, _, user = patient
    path, _ = subscribe(client)
    db.get(User, user.id).is_active = False
    db.commit()
    assert read(app, path).status_code == 404


def test_only_the_hash_of_the_address_is_stored(app, db, patient):
    """Is the secret itself absent from the database?"""
    client, _, _ = patient
    path, _ = subscribe(client)
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    feed = db.scalar(select(CalendarFeed))
    assert token not in feed.token_hash and len(feed.token_hash) == 64
