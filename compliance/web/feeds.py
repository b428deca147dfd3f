"""The patient's calendar as a calendar app reads it: at a secret address, without signing in.

A calendar app cannot sign in, so the address's secret is the only key (see
`services.calendar_feeds`); anything that is not a live address answers the same 404.
"""

from flask import Blueprint, Response, abort

from compliance import clock
from compliance.auth import public
from compliance.db import get_session
from compliance.services import calendar_feeds, course_view, courses
from compliance.web import calendar

bp = Blueprint("feeds", __name__, url_prefix="/feeds")


@bp.get("/calendar/<token>.ics")
@public
def calendar_feed(token: str):
    db, now = get_session(), clock.now()
    patient = calendar_feeds.read(db, token=token, now=now)
    if patient is None:
        abort(404)
    course = courses.course_of(db, patient)
    view = course_view.view_course(db, course, now) if course else None
    return Response(calendar.ics(view), mimetype="text/calendar", headers={
        "Cache-Control": "private, no-cache", "X-Robots-Tag": "noindex"})
