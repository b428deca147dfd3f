"""The prescriber's pages: the worklist, registering a patient, and the patient's course.

Every clinical action is its own small POST route: it loads the prescriber's own patient
(404 for anyone else's), binds its form, calls one course service and redirects with a
flash (PRG); a refusal rolls back and shows the patient page again (422) with what was
typed and the message next to the field.
"""

from collections.abc import Callable

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from compliance import clock
from compliance.auth import owned_or_404, roles_required
from compliance.db import get_session
from compliance.models import PatientProfile, PrescriberProfile, User
from compliance.services import (
    courses,
    methods,
    monthly,
    organisations,
    patients,
    pregnancy_case,
    worklist,
)
from compliance.web import chart, record_export
from compliance.web.forms import ActionForm, PatientForm
from compliance.web.pages import PER_PAGE, Page, emailed, form_page, parse_page

bp = Blueprint("prescriber", __name__, url_prefix="/prescriber")
prescriber_only = roles_required("prescriber")


@bp.context_processor
def _words() -> dict:
    """Dates and instants in plain words, in the program's zone."""
    return chart.wording()


@bp.get("/")
@prescriber_only
def home():
    """The worklist: each patient's one next action, filtered and sorted."""
    db, prescriber = get_session(), current_prescriber()
    action = request.args.get("action", "")[:40]
    sort = request.args.get("sort") if request.args.get("sort") in worklist.SORTS else "date"
    number = parse_page(request.args.get("page"))
    found = worklist.worklist_page(db, prescriber_id=prescriber.id, action=action,
                                   sort=sort, page=number, per_page=PER_PAGE, now=clock.now())
    return render_template("prescriber/home.html", action=action, sort=sort,
                           codes={code: worklist.short_label(code, None)
                                  for code in sorted(found.counts) if code},
                           page=Page(items=found.rows, number=number, total=found.total))


@bp.route("/patients/new", methods=["GET", "POST"])
@prescriber_only
def new_patient():
    form = PatientForm()
    if form.validate_on_submit():
        with form.refusals():
            patient, _ = patients.register_patient(
                get_session(), prescriber=current_prescriber(), data=form.values(),
                now=clock.now(), today=clock.today(),
                invitation_days=current_app.config["INVITATION_VALID_DAYS"])
        if form.refused is None:
            flash(f"{patient.display_name} is enrolled with patient ID "
                  f"{patient.program_patient_id}. {emailed(form.email.data)}", "success")
            return redirect(url_for("prescriber.patient", patient_id=patient.id))
    return form_page("prescriber/patient_new.html", form)


@bp.get("/patients/<int:patient_id>")
@prescriber_only
def patient(patient_id: int):
    """The course at a glance, its timeline, and a form for each next step."""
    return chart.render(own_patient(patient_id))


@bp.post("/patients/<int:patient_id>/invitation")
@prescriber_only
def reissue_invitation(patient_id: int):
    db = get_session()
    profile, form = own_patient(patient_id), ActionForm()
    if not form.validate_on_submit():
        return redirect(url_for("prescriber.patient", patient_id=profile.id))
    account = db.get(User, profile.user_id)
    with form.refusals():
        organisations.reissue_account_invitation(
            db, user=account, now=clock.now(),
            invitation_days=current_app.config["INVITATION_VALID_DAYS"])
    if form.refused is None:
        flash(f"{emailed(account.email, again=True)}", "success")
    return redirect(url_for("prescriber.patient", patient_id=profile.id))


@bp.post("/patients/<int:patient_id>/counseling")
@prescriber_only
def record_counseling(patient_id: int):
    return act(patient_id, "counseling_form", "Counseling recorded.", lambda db, c, f, _p:
               courses.record_counseling(db, course=c, counseled_on=f.counseled_on.data,
                                         today=clock.today(), now=clock.now()))


@bp.post("/patients/<int:patient_id>/methods")
@prescriber_only
def add_method(patient_id: int):
    return act(patient_id, "method_form", "Method recorded.", lambda db, c, f, _p:
               methods.add_method(db, course=c, data=f.values(), today=clock.today(),
                                  entered_by=current_user.id, now=clock.now()))


@bp.post("/patients/<int:patient_id>/methods/change")
@prescriber_only
def change_method(patient_id: int):
    return act(patient_id, "change_form", "Method changed.", lambda db, c, f, _p:
               methods.change_method(
                   db, course=c, method_id=f.method_id.data, stopped_on=f.stopped_on.data,
                   data={"method": f.method.data, "started_on": f.started_on.data},
                   today=clock.today(), entered_by=current_user.id, now=clock.now()))


@bp.post("/patients/<int:patient_id>/methods/stop")
@prescriber_only
def stop_method(patient_id: int):
    return act(patient_id, "stop_form", "Method stopped.", lambda db, c, f, _p:
               methods.stop_method(db, course=c, method_id=f.method_id.data,
                                   stopped_on=f.stopped_on.data, today=clock.today(),
                                   now=clock.now()))


@bp.post("/patients/<int:patient_id>/tests")
@prescriber_only
def record_test(patient_id: int):
    return act(patient_id, "test_form", "Test result saved.", lambda db, c, f, _p:
               courses.record_test(db, course=c, data=f.values(), today=clock.today(),
                                   entered_by=current_user.id, now=clock.now()))


@bp.post("/patients/<int:patient_id>/pregnancy")
@prescriber_only
def report_pregnancy(patient_id: int):
    """A positive test: the course is suspended at once."""
    def report(db, course, form, _profile):
        data = form.values()
        data.pop("confirm")
        courses.report_pregnancy(db, course=course, data=data, today=clock.today(),
                                 entered_by=current_user.id, now=clock.now())
    return act(patient_id, "pregnancy_form", "Positive test recorded; the course is "
               "suspended.", report)


@bp.post("/patients/<int:patient_id>/in-error")
@prescriber_only
def mark_in_error(patient_id: int):
    """A test or a method entered in error: marked with a reason, never deleted."""
    def mark(db, course, form, _profile):
        kind, _, entry_id = form.entry.data.partition("-")
        courses.mark_in_error(db, course=course, kind=kind, entry_id=int(entry_id),
                              reason=form.reason.data, now=clock.now())
    return act(patient_id, "error_form", "Entry marked as made in error; the course was "
               "decided again.", mark)


@bp.post("/patients/<int:patient_id>/registry-report")
@prescriber_only
def record_registry_report(patient_id: int):
    return act(patient_id, "registry_form", "Registry report recorded.", lambda db, c, f, _p:
               pregnancy_case.record_registry_report(
                   db, course=c, reported_on=f.reported_on.data, reference=f.reference.data,
                   today=clock.today(), now=clock.now()))


@bp.post("/patients/<int:patient_id>/resume")
@prescriber_only
def resume_course(patient_id: int):
    """Resume a suspended course on a later negative test and a signed statement [P]."""
    return act(patient_id, "resume_form", "Course resumed: it qualifies again, month by "
               "month.", lambda db, c, f, _p: pregnancy_case.resume(
                   db, course=c, prescriber_user=db.get(User, current_user.id),
                   statement=f.statement.data,
                   password=f.password.data, today=clock.today(), now=clock.now()))


@bp.post("/patients/<int:patient_id>/confirmation")
@prescriber_only
def confirm_month(patient_id: int):
    return act(patient_id, "confirm_form", "This month is confirmed and signed.",
               lambda db, c, f, _p: monthly.confirm_month(
                   db, course=c, prescriber_user=db.get(User, current_user.id),
                   password=f.password.data, now=clock.now()))


@bp.post("/patients/<int:patient_id>/reeducation")
@prescriber_only
def record_reeducation(patient_id: int):
    """After the month's wrong tries, the prescriber went over the program; the patient
    may answer again."""
    return act(patient_id, "reeducation_form", "Recorded: you went over the program with "
               "the patient, who can answer this month's questions again.",
               lambda db, c, f, _p: monthly.record_reeducation(
                   db, course=c, note=f.note.data or "", now=clock.now()))


@bp.post("/patients/<int:patient_id>/home-testing")
@prescriber_only
def set_home_testing(patient_id: int):
    return act(patient_id, "home_form", "Home testing setting saved.", lambda db, c, f, _p:
               courses.set_home_testing(db, course=c, enabled=f.enabled.data == "1",
                                        today=clock.today(), now=clock.now()))


@bp.post("/patients/<int:patient_id>/category")
@prescriber_only
def change_category(patient_id: int):
    return act(patient_id, "category_form", "Category changed.", lambda db, c, f, p:
               courses.change_category(db, patient=p, course=c, category=f.category.data,
                                       reason=f.reason.data, changed_by=current_user.id,
                                       now=clock.now()))


@bp.post("/patients/<int:patient_id>/end")
@prescriber_only
def end_treatment(patient_id: int):
    return act(patient_id, "end_form", "End of treatment recorded; the post-treatment test "
               "is now due.", lambda db, c, f, _p:
               courses.end_treatment(db, course=c, last_dose_on=f.last_dose_on.data,
                                     today=clock.today(), now=clock.now()))


def act(patient_id: int, form_name: str, success: str, perform: Callable):
    """Validate the named form, run `perform(db, course, form, patient)`; PRG on success,
    the patient page with the kept values and the refusal (422) otherwise."""
    db, profile = get_session(), own_patient(patient_id)
    course = courses.course_of(db, profile)
    if course is None:
        abort(404)
    form = chart.bound_form(form_name, course, profile)
    if form.validate_on_submit():
        with form.refusals():
            perform(db, course, form, profile)
        if form.refused is None:
            flash(success, "success")
            return redirect(url_for("prescriber.patient", patient_id=profile.id))
    db.rollback()
    return chart.render(own_patient(patient_id), status=422, **{form_name: form})


@bp.context_processor
def certification_banner() -> dict:
    """The pending or lapsed certification, on every page of the prescriber's."""
    if not current_user.is_authenticated or current_user.role != "prescriber":
        return {}
    profile = get_session().scalar(
        select(PrescriberProfile).where(PrescriberProfile.user_id == current_user.id))
    return {"certification_notice": profile and patients.certification_notice(
        profile, clock.today())}


def current_prescriber() -> PrescriberProfile:
    """The signed-in prescriber's profile (an account without one has nothing here)."""
    profile = get_session().scalar(
        select(PrescriberProfile).where(PrescriberProfile.user_id == current_user.id))
    if profile is None:
        abort(404)
    return profile


def own_patient(patient_id: int) -> PatientProfile:
    """The patient if the signed-in prescriber enrolled them; 404 for anyone else's."""
    profile = get_session().get(PatientProfile, patient_id)
    return owned_or_404(profile, profile is not None
                        and profile.prescriber_id == current_prescriber().id)


# Everything held about a patient, printable and as JSON (the prescriber of record only).
record_export.add_routes(bp, "/patients/<int:patient_id>/record", "patient_record",
                         guard=prescriber_only,
                         patient_of=own_patient)

