"""The patient's own pages: home, enrollment signature, the month's steps, history, calendar.

The patient is always resolved from the signed-in account, never from the URL, so a
patient can reach nothing but their own records.
"""

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from compliance import clock
from compliance.auth import roles_required
from compliance.db import get_session
from compliance.mailer import link
from compliance.models import (
    Dispense,
    Pharmacy,
    PregnancyTest,
    PrescriberProfile,
    Rma,
    User,
)
from compliance.programs import method_choices, program
from compliance.services import (
    calendar_feeds,
    course_view,
    courses,
    monthly,
    patients,
    question_banks,
    signatures,
)
from compliance.services.errors import Refused
from compliance.web import calendar, program_card, record_export
from compliance.web.forms import ActionForm
from compliance.web.forms_patient import AttestationForm, EnrollmentForm, quiz_form
from compliance.web.pages import form_page, patient_of_account

bp = Blueprint("patient", __name__, url_prefix="/patient")
patient_only = roles_required("patient")


class Mine:
    """The signed-in patient's profile, account, latest course and its view now."""

    def __init__(self):
        self.db = get_session()
        self.patient = patient_of_account(current_user.id)
        self.user = self.db.get(User, self.patient.user_id)
        self.course = courses.course_of(self.db, self.patient)
        self.view = course_view.view_course(self.db, self.course, clock.now()) \
            if self.course else None
        self.rows = self.view.rows if self.view else None
        self.zone = program(self.patient.program).zone
        self.program_name = program(self.patient.program).versions[-1].program_name

    def signed_time(self, instant) -> str:
        return calendar.signed_time(instant, self.zone)


@bp.get("/")
@patient_only
def home():
    mine = Mine()
    patients.view_patient(mine.db, patient=mine.patient)
    prescriber = mine.db.execute(
        select(PrescriberProfile, User).join(User, User.id == PrescriberProfile.user_id)
        .where(PrescriberProfile.id == mine.patient.prescriber_id)).one()
    todos = calendar.todos(mine.view) if mine.view else []
    enrollment = signatures.find(mine.db, mine.course and mine.course.enrollment_signature_id)
    return render_template("patient/home.html", patient=mine.patient, prescriber=prescriber,
                           course=mine.course, todos=todos, enrollment=enrollment, mine=mine,
                           qr=program_card.qr_image(mine.patient.program_patient_id),
                           program_name=mine.program_name)


@bp.get("/card")
@patient_only
def card():
    """The program card alone, to print on one card-sized page."""
    mine = Mine()
    patients.view_patient(mine.db, patient=mine.patient)
    return render_template("patient/card.html", patient=mine.patient, mine=mine,
                           qr=program_card.qr_image(mine.patient.program_patient_id),
                           program_name=mine.program_name)


@bp.route("/enrollment", methods=["GET", "POST"])
@patient_only
def enrollment():
    """The informed consent, signed with the password; afterwards, who signed and when."""
    mine = Mine()
    if mine.course is None:
        abort(404)
    form = EnrollmentForm()
    if mine.course.enrollment_signature_id is None and form.validate_on_submit():
        with form.refusals():
            monthly.sign_enrollment(mine.db, course=mine.course, patient_user=mine.user,
                                    password=form.password.data, now=clock.now())
        if form.refused is None:
            flash("Your enrollment is signed.", "success")
            return redirect(url_for("patient.enrollment"))
    signature = signatures.find(mine.db, mine.course.enrollment_signature_id)
    return form_page("patient/enrollment.html", form, consent=signatures.ENROLLMENT,
                     signature=signature, mine=mine)


@bp.get("/month")
@patient_only
def month():
    return _month_page(Mine())


@bp.post("/month/answers")
@patient_only
def answer_questions():
    """Check the month's answers; a wrong try shows why and the questions again."""
    mine = Mine()
    if mine.course is None or _bank(mine) is None:
        abort(404)
    try:
        form = quiz_form(monthly.month_questions(mine.db, course=mine.course, now=clock.now()))
    except Refused as refused:
        flash(str(refused), "error")
        return redirect(url_for("patient.month"))
    if not form.validate_on_submit():
        return _month_page(mine, show_quiz_errors=True, status=422)
    with form.refusals():
        outcome = monthly.answer_quiz(mine.db, course=mine.course, answers=form.values(),
                                      now=clock.now())
    if form.refused is not None:
        return redirect(url_for("patient.month"))
    if outcome.passed:
        flash("All your answers are right. Now " + (
            "confirm your birth control." if monthly.confirms_methods(mine.course, clock.today())
            else "sign for this month."), "success")
        return redirect(url_for("patient.month"))
    return _month_page(Mine(), outcome=outcome, status=422)


@bp.post("/month/attestation")
@patient_only
def attest():
    mine = Mine()
    if mine.course is None:
        abort(404)
    form = _attestation_form(mine)
    if form.validate_on_submit():
        with form.refusals():
            monthly.attest(mine.db, course=mine.course, patient_user=mine.user,
                           methods=form.methods.data if "methods" in form else [],
                           password=form.password.data,
                           now=clock.now())
        if form.refused is None:
            flash("Thank you: this month is signed. Your pharmacy can now fill your "
                  "prescription once everything else is ready.", "success")
            return redirect(url_for("patient.month"))
    return _month_page(Mine(), attestation=form, status=422)


@bp.get("/history")
@patient_only
def history():
    mine = Mine()
    tests = list(mine.db.scalars(select(PregnancyTest).where(
        PregnancyTest.course_id == mine.course.id).order_by(
        PregnancyTest.specimen_on.desc(), PregnancyTest.id.desc()))) if mine.course else []
    signed = monthly.attestations(mine.db, mine.course) if mine.course else []
    fills = mine.db.execute(select(Dispense, Pharmacy.name).join(
        Rma, Rma.id == Dispense.authorization_id).join(
        Pharmacy, Pharmacy.id == Rma.pharmacy_id).where(
        Dispense.course_id == mine.course.id).order_by(
        Dispense.dispensed_on.desc(), Dispense.id.desc())).all() if mine.course else []
    patients.view_patient(mine.db, patient=mine.patient)
    return render_template("patient/history.html", tests=tests, attestations=signed,
                           fills=fills, methods=method_choices(mine.patient.program),
                           mine=mine)


@bp.get("/calendar.ics")
@patient_only
def calendar_file():
    mine = Mine()
    if mine.rows is None:
        abort(404)
    body = calendar.ics(mine.view)
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": 'attachment; filename="my-program.ics"',
        "Cache-Control": "private, no-store"})


@bp.get("/calendar")
@patient_only
def calendar_page():
    """Whether the patient's calendar address is on, when their calendar app last read it,
    and the buttons to make a new one or stop it."""
    mine = Mine()
    return render_template("patient/calendar.html", mine=mine, form=ActionForm(),
                           feed=calendar_feeds.feed_of(mine.db, mine.patient), address=None)


@bp.post("/calendar/address")
@patient_only
def start_calendar():
    """A new secret address, shown on this answer only: only its hash is kept."""
    mine, form = Mine(), ActionForm()
    if not form.validate_on_submit():
        return redirect(url_for("patient.calendar_page"))
    token = calendar_feeds.start(mine.db, patient=mine.patient, now=clock.now())
    address = link("feeds.calendar_feed", token=token)
    return render_template("patient/calendar.html", mine=mine, form=ActionForm(),
                           feed=calendar_feeds.feed_of(mine.db, mine.patient), address=address,
                           webcal="webcal://" + address.split("://", 1)[1])


@bp.post("/calendar/address/stop")
@patient_only
def stop_calendar():
    mine, form = Mine(), ActionForm()
    if form.validate_on_submit() and calendar_feeds.stop(mine.db, patient=mine.patient):
        flash("Your calendar address is stopped. Your calendar app no longer receives your "
              "dates; you can remove the calendar from it.", "success")
    return redirect(url_for("patient.calendar_page"))


def _bank(mine: Mine):
    return question_banks.active_bank(mine.db, program=mine.patient.program,
                                      category=mine.patient.category)


def _attestation_form(mine: Mine) -> AttestationForm:
    """The month's signature; the methods only where the program asks the patient for them."""
    form = AttestationForm()
    if mine.course is not None and not monthly.confirms_methods(mine.course, clock.today()):
        del form.methods
        return form
    form.methods.choices = method_choices(mine.patient.program)
    return form


def _month_page(mine: Mine, *, outcome=None, attestation=None, show_quiz_errors=False,
                status=200):
    """The month's step the patient is at: waiting, the questions, the methods, or done."""
    rows, cycle = mine.rows, mine.rows.cycle if mine.rows else None
    now = clock.now()
    today = now.astimezone(mine.zone).date()
    step, questions, quiz, bank = "done", [], None, _bank(mine)
    if rows is None or not mine.view.patient_answers_needed:
        step = "not_needed"
    elif mine.course.enrollment_signature_id is None:
        step = "sign_first"
    elif cycle is None or cycle.prescriber_confirmed_at is None:
        step = "waiting"
    elif cycle.patient_attested_at is None and not cycle.quiz_passed:
        step = "quiz" if bank is not None else "no_bank"
        if monthly.quiz_locked(cycle, mine.course.program, now):
            step = "talk_to_prescriber"
    elif cycle.patient_attested_at is None:
        step = "methods"
    if step == "quiz":  # a new order each time; a wrong try keeps the chosen answers
        questions = question_banks.shuffled(
            monthly.month_questions(mine.db, course=mine.course, now=now))
        quiz = quiz_form(questions)
        if show_quiz_errors:
            quiz.validate()
    window = mine.view.window if mine.view else None
    return render_template(
        "patient/month.html", step=step, questions=questions, quiz=quiz, outcome=outcome,
        attestation=attestation or _attestation_form(mine), cycle=cycle, mine=mine,
        meaning=signatures.PATIENT_MONTHLY if mine.course is None
        or monthly.confirms_methods(mine.course, today) else signatures.PATIENT_MONTHLY_ANSWERS,
        window_closes=calendar.closing_time(window.ends_at, mine.zone)
        if window and window.ends_at else None,
        talk_to_prescriber=monthly.talk_to_prescriber(cycle.failed_quiz_attempts)
        if step == "talk_to_prescriber" else None), status


# The patient's own copy of their whole record (right of access), without the methods
# their prescriber entered.
record_export.add_routes(bp, "/record", "record", guard=patient_only, for_patient=True,
                         patient_of=lambda: patient_of_account(current_user.id))
