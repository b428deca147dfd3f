"""The prescriber's pages: their patients, and registering a new one."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from compliance import clock
from compliance.auth import owned_or_404, roles_required
from compliance.db import get_session
from compliance.models import PatientProfile, PrescriberProfile, User
from compliance.services import organisations, patients
from compliance.services.errors import Refused
from compliance.web.forms import ActionForm, PatientForm
from compliance.web.pages import Page, form_page, parse_page, show_invitation

bp = Blueprint("prescriber", __name__, url_prefix="/prescriber")
prescriber_only = roles_required("prescriber")


@bp.get("/")
@prescriber_only
def home():
    number = parse_page(request.args.get("page"))
    rows, total = patients.list_patients(get_session(), prescriber=current_prescriber(),
                                         page=number, per_page=50)
    return render_template("prescriber/home.html",
                           page=Page(items=rows, number=number, total=total, per_page=50))


@bp.route("/patients/new", methods=["GET", "POST"])
@prescriber_only
def new_patient():
    form = PatientForm()
    if form.validate_on_submit():
        try:
            patient, token = patients.register_patient(
                get_session(), prescriber=current_prescriber(), data=form.values(),
                now=clock.now(), today=clock.today(),
                invitation_days=current_app.config["INVITATION_VALID_DAYS"])
        except Refused as exc:
            form.show_refusal(exc)
        else:
            return show_invitation(token, f"{patient.display_name} is enrolled with patient "
                                          f"ID {patient.program_patient_id}.")
    return form_page("prescriber/patient_new.html", form)


@bp.get("/patients/<int:patient_id>")
@prescriber_only
def patient(patient_id: int):
    db = get_session()
    profile = own_patient(patient_id)
    account = patients.view_patient(db, patient=profile)
    return render_template("prescriber/patient.html", patient=profile, account=account,
                           action_form=ActionForm())


@bp.post("/patients/<int:patient_id>/invitation")
@prescriber_only
def reissue_invitation(patient_id: int):
    db = get_session()
    profile = own_patient(patient_id)
    if not ActionForm().validate_on_submit():
        return redirect(url_for("prescriber.patient", patient_id=profile.id))
    try:
        token = organisations.reissue_account_invitation(
            db, user=db.get(User, profile.user_id), now=clock.now(),
            invitation_days=current_app.config["INVITATION_VALID_DAYS"])
    except Refused as exc:
        flash(exc.errors[""], "error")
        return redirect(url_for("prescriber.patient", patient_id=profile.id))
    return show_invitation(token, f"New invitation link for {profile.display_name}.")


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
