"""The prescriber's patient page as data: the course, what blocks it, and a form per step.

`render` asks `services.course_view` for the course once (its rows, today's decision and
plan), builds the timeline and the forms from that, and writes the audit event of the read
(`patients.view_patient`). The POST routes hand in their bound form, which replaces the
empty one so the refused values and messages show where the prescriber typed them.
"""

from datetime import date

from flask import render_template
from sqlalchemy import select

from compliance import clock
from compliance.db import get_session
from compliance.models import CategoryChange, Course, PatientProfile, Signature
from compliance.programs import DEFAULT_PROGRAM, method_choices, program
from compliance.services import course_view, courses, invitations, monthly, patients
from compliance.services.course_view import CourseRows
from compliance.services.worklist import plain_day, short_label
from compliance.web import timeline
from compliance.web.forms import ActionForm
from compliance.web.forms_clinical import PATIENT_FORMS


def wording() -> dict:
    """Template helpers: "Dec 3" and "Dec 3, 11:59 pm Eastern" in the program's zone."""
    zone, today = program(DEFAULT_PROGRAM).zone, clock.today()
    return {"day": lambda d: plain_day(d, today) if d else "",
            "instant": lambda t: timeline.plain_instant(t, zone, today) if t else ""}


def bound_form(name: str, course: Course, patient: PatientProfile, *, bound: bool = True,
               rows: CourseRows | None = None):
    """The named form of the patient page, bound to the request or shown empty; the forms
    that list the course's entries read its `rows` (loaded here if not given)."""
    form_class, prefix = PATIENT_FORMS[name]
    kwargs: dict = {"prefix": prefix}
    if not bound:
        kwargs["formdata"] = None
    if name in ("method_form", "change_form", "category_form"):
        kwargs["program"] = course.program
    if name in ("change_form", "stop_form", "error_form") and rows is None:
        rows = course_view.course_rows(get_session(), course)
    if name in ("change_form", "stop_form"):
        kwargs["current"] = _methods_in_use(course, rows)
    if name == "error_form":
        kwargs["entries"] = _correctable(course, rows)
    return form_class(**kwargs)


def render(profile: PatientProfile, *, status: int = 200, **given_forms):
    """The patient page; `given_forms` are the bound forms of a refused submission."""
    db = get_session()
    account = patients.view_patient(db, patient=profile)
    course = courses.course_of(db, profile)
    context, forms = {}, {}
    if course is not None:
        view = course_view.view_course(db, course, clock.now())
        context = course_context(db, view, profile)
        forms = {name: given_forms.get(name)
                 or bound_form(name, course, profile, bound=False, rows=view.rows)
                 for name in PATIENT_FORMS}
        _defaults(forms, course, context)
    html = render_template("prescriber/patient.html", patient=profile, account=account,
                           link=invitations.latest_link(db, account.id), now=clock.now(),
                           course=course, action_form=ActionForm(), **context, **forms)
    return html, status


def course_context(db, view: course_view.CourseView, profile: PatientProfile) -> dict:
    """What the page shows about the course of its view."""
    course, rows, version, today = view.rows.course, view.rows, view.version, view.today
    action = view.action
    events = timeline.course_events(rows=rows, facts=view.facts, plan=view.plan,
                                    zone=view.program.zone, today=today,
                                    window_days=version.window_days.value)
    return {
        "rows": rows, "version": version, "decision": view.decision, "plan": view.plan,
        "window": view.window,
        "action": action, "action_label": short_label(action.code, action.on, today),
        "events": events, "span": lambda e: timeline.span(e, today),
        "timeline_svg": timeline.render_svg(
            events, today=today, title=f"Course timeline of {profile.display_name}"),
        "signatures": _signatures(db, course, rows.cycle),
        "category_changes": list(db.scalars(
            select(CategoryChange).where(CategoryChange.patient_id == profile.id)
            .order_by(CategoryChange.changed_at))),
        "method_labels": method_choices(course.program),
        "home_testing_allowed": view.home_testing_allowed,
        "monthly_confirmation_needed": view.monthly_confirmation_needed,
        "patient_answers_needed": view.patient_answers_needed,
        "can_get_pregnant": view.can_get_pregnant,
        "quiz_locked": monthly.quiz_locked(rows.cycle, course.program, view.now),
        "positive_test": next((t for t in rows.tests if t.result == "positive"), None),
    }


def _signatures(db, course: Course, cycle) -> dict:
    ids = {"enrollment": course.enrollment_signature_id,
           "prescriber_monthly": cycle.prescriber_signature_id if cycle else None,
           "patient_monthly": cycle.patient_signature_id if cycle else None}
    wanted = [i for i in ids.values() if i is not None]
    found = {s.id: s for s in db.scalars(select(Signature).where(Signature.id.in_(wanted)))
             } if wanted else {}
    return {name: found.get(i) for name, i in ids.items()}


def _methods_in_use(course: Course, rows: CourseRows) -> dict[int, str]:
    labels = method_choices(course.program)
    return {m.id: f"{labels.get(m.method, m.method)} (since {plain_day(m.started_on)})"
            for m in rows.methods if m.stopped_on is None and m.in_error_at is None}


def _correctable(course: Course, rows: CourseRows) -> dict[str, str]:
    """Entries that may be marked in error: "test-3" or "method-2" to a label (a positive
    result is never one: a new negative test and a signed statement resume the course)."""
    labels = method_choices(course.program)
    tests = {f"test-{t.id}": f"Test: {t.kind.replace('_', ' ')} of {plain_day(t.specimen_on)}, "
             f"{t.result}" for t in rows.tests
             if t.in_error_at is None and t.result != "positive"}
    methods = {f"method-{m.id}": f"Method: {labels.get(m.method, m.method)} from "
               f"{plain_day(m.started_on)}" for m in rows.methods if m.in_error_at is None}
    return tests | methods


def _defaults(forms: dict, course: Course, context: dict) -> None:
    """Sensible first values on empty forms: today's dates, the expected kind of test."""
    today: date = clock.today()
    for form in forms.values():
        if form.is_submitted() and form.errors:
            continue
        for field in form:
            typed = getattr(field, "raw_data", None)
            if field.type == "DateField" and field.data is None and not typed:
                field.data = today
    test_form = forms["test_form"]
    if not test_form.errors and not test_form.kind.data:
        test_form.kind.data = _expected_kind(course, context["rows"].tests)
    forms["home_form"].enabled.data = "0" if course.home_testing_enabled else "1"


def _expected_kind(course: Course, tests) -> str:
    kinds = {t.kind for t in tests}
    if course.last_dose_on is not None:
        return "post_treatment"
    if "screening" not in kinds:
        return "screening"
    if "confirmation" not in kinds:
        return "confirmation"
    return "monthly"
