"""Emergency access pages ("break-glass"): a prescriber opens an hour's read of another
prescriber's patient, with a reason, and reads the patient's whole record meanwhile."""

from flask import Blueprint, abort, flash, redirect, url_for
from flask_login import current_user

from compliance import clock
from compliance.db import get_session
from compliance.models import PatientProfile
from compliance.services import emergency_access
from compliance.services.errors import Throttled
from compliance.web import record_export
from compliance.web.forms_clinical import EmergencyAccessForm
from compliance.web.pages import form_page, words
from compliance.web.prescriber import current_prescriber, prescriber_only

bp = Blueprint("emergency", __name__, url_prefix="/prescriber/emergency")


@bp.route("/", methods=["GET", "POST"])
@prescriber_only
def access():
    """The form (patient card and reason) and the prescriber's open grants."""
    db, form = get_session(), EmergencyAccessForm()
    if form.validate_on_submit():
        with form.refusals():
            grant = emergency_access.grant(
                db, user=current_user.user, prescriber=current_prescriber(),
                typed_id=form.patient_id.data, born=form.date_of_birth.data,
                reason=form.reason.data, now=clock.now())
        if form.refused is None:
            flash(f"Emergency access is open until {words(grant.expires_at)}. The program "
                  "administrators have been told.", "warning")
            return redirect(url_for("emergency.record", patient_id=grant.patient_id))
    page, status = form_page("prescriber/emergency_access.html", form,
                             grants=emergency_access.of_user(db, user_id=current_user.id,
                                                             now=clock.now()))
    if isinstance(form.refused, Throttled):
        return page, 429, {"Retry-After": str(form.refused.retry_after)}
    return page, status


def patient_under_grant(patient_id: int) -> PatientProfile:
    """The patient under an open grant of the signed-in prescriber, the read audited;
    403 once the grant has ended, 404 where there never was one."""
    db = get_session()
    grant = emergency_access.open_grant(db, user_id=current_user.id, patient_id=patient_id,
                                        now=clock.now())
    if grant is None:
        abort(403 if emergency_access.ever_granted(db, user_id=current_user.id,
                                                   patient_id=patient_id) else 404)
    emergency_access.use(db, access=grant)
    return db.get(PatientProfile, patient_id)


record_export.add_routes(bp, "/<int:patient_id>/record", "record", guard=prescriber_only,
                         patient_of=patient_under_grant)
