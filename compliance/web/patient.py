"""The patient's own pages."""

from flask import Blueprint, abort, render_template
from flask_login import current_user
from sqlalchemy import select

from compliance.auth import roles_required
from compliance.db import get_session
from compliance.models import PatientProfile, PrescriberProfile, User
from compliance.services import patients

bp = Blueprint("patient", __name__, url_prefix="/patient")


@bp.get("/")
@roles_required("patient")
def home():
    db = get_session()
    profile = db.scalar(select(PatientProfile).where(PatientProfile.user_id == current_user.id))
    if profile is None:
        abort(404)
    patients.view_patient(db, patient=profile)
    prescriber = db.execute(
        select(PrescriberProfile, User).join(User, User.id == PrescriberProfile.user_id)
        .where(PrescriberProfile.id == profile.prescriber_id)).one()
    return render_template("patient/home.html", patient=profile, prescriber=prescriber)
