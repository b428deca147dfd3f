"""The program administrator's pages: prescribers, pharmacies, pharmacists, accounts."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from compliance import clock
from compliance.auth import get_or_404, roles_required
from compliance.db import get_session
from compliance.models import PatientProfile, PharmacistProfile, Pharmacy, PrescriberProfile, User
from compliance.services import accounts, api_keys, invitations, organisations, second_factor
from compliance.web import record_export
from compliance.web.forms import (
    ActionForm,
    CertificationForm,
    DeactivateForm,
    PharmacistForm,
    PharmacyForm,
    PrescriberForm,
)
from compliance.web.pages import Page, emailed, form_page, patient_of_account
from workflows.dates import add_months

bp = Blueprint("admin", __name__, url_prefix="/admin")
admin_only = roles_required("admin")


@bp.get("/")
@admin_only
def home():
    db = get_session()
    counts = {label: db.scalar(select(func.count()).select_from(model)) for label, model in (
        ("Prescribers", PrescriberProfile), ("Pharmacies", Pharmacy),
        ("Patients", PatientProfile), ("Accounts", User))}
    return render_template("admin/home.html", counts=counts)


@bp.get("/prescribers")
@admin_only
def prescribers():
    query = (select(PrescriberProfile, User).join(User, User.id == PrescriberProfile.user_id)
             .order_by(User.name, PrescriberProfile.id))
    page = Page.of(get_session(), query, request.args.get("page"))
    return render_template("admin/prescribers.html", page=page)


@bp.route("/prescribers/new", methods=["GET", "POST"])
@admin_only
def new_prescriber():
    form = PrescriberForm()
    if form.validate_on_submit():
        with form.refusals():
            organisations.create_prescriber(
                get_session(), data=form.values(), now=clock.now(),
                invitation_days=current_app.config["INVITATION_VALID_DAYS"])
        if form.refused is None:
            flash(f"Prescriber {form.name.data} registered. {emailed(form.email.data)}",
                  "success")
            return redirect(url_for("admin.prescribers"))
    return form_page("admin/prescriber_new.html", form)


@bp.route("/prescribers/<int:prescriber_id>/certification", methods=["GET", "POST"])
@admin_only
def prescriber_certification(prescriber_id: int):
    db = get_session()
    profile = get_or_404(db, PrescriberProfile, prescriber_id)
    owner = db.get(User, profile.user_id)
    return _certification_page(profile, f"{owner.name} (NPI {profile.npi})",
                               url_for("admin.prescribers"))


@bp.get("/pharmacies")
@admin_only
def pharmacies():
    query = select(Pharmacy).order_by(Pharmacy.name, Pharmacy.id)
    page = Page.of(get_session(), query, request.args.get("page"))
    return render_template("admin/pharmacies.html", page=page)


@bp.route("/pharmacies/new", methods=["GET", "POST"])
@admin_only
def new_pharmacy():
    form = PharmacyForm()
    if form.validate_on_submit():
        with form.refusals():
            pharmacy = organisations.create_pharmacy(get_session(), data=form.values())
        if form.refused is None:
            flash(f"Pharmacy {pharmacy.name} registered; certify it when ready.", "success")
            return redirect(url_for("admin.pharmacy", pharmacy_id=pharmacy.id))
    return form_page("admin/pharmacy_new.html", form)


@bp.route("/pharmacies/<int:pharmacy_id>", methods=["GET", "POST"])
@admin_only
def pharmacy(pharmacy_id: int):
    """A pharmacy's details and staff, with the form that adds a pharmacist."""
    db = get_session()
    site = get_or_404(db, Pharmacy, pharmacy_id)
    form = PharmacistForm()
    if form.validate_on_submit():
        with form.refusals():
            user, _ = organisations.add_pharmacist(
                db, data={**form.values(), "pharmacy_id": site.id}, now=clock.now(),
                invitation_days=current_app.config["INVITATION_VALID_DAYS"])
        if form.refused is None:
            flash(f"Pharmacist {user.name} added to {site.name}. {emailed(user.email)}",
                  "success")
            return redirect(url_for("admin.pharmacy", pharmacy_id=site.id))
    staff = db.scalars(select(User).join(PharmacistProfile, PharmacistProfile.user_id == User.id)
                       .where(PharmacistProfile.pharmacy_id == site.id).order_by(User.name))
    return form_page("admin/pharmacy.html", form, pharmacy=site, staff=list(staff))


@bp.route("/pharmacies/<int:pharmacy_id>/certification", methods=["GET", "POST"])
@admin_only
def pharmacy_certification(pharmacy_id: int):
    site = get_or_404(get_session(), Pharmacy, pharmacy_id)
    return _certification_page(site, f"{site.name} (NCPDP {site.ncpdp_id})",
                               url_for("admin.pharmacy", pharmacy_id=site.id))


@bp.get("/users")
@admin_only
def users():
    db = get_session()
    query = select(User).order_by(User.role, User.name, User.id)
    page = Page.of(db, query, request.args.get("page"))
    enrolled = second_factor.enrolled_among(db, [user.id for user in page.items])
    return render_template("admin/users.html", page=page, action_form=ActionForm(),
                           enrolled=enrolled)


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
@admin_only
def deactivate_user(user_id: int):
    """What deactivation does, the reason asked, and the button that confirms it."""
    db = get_session()
    user, form = get_or_404(db, User, user_id), DeactivateForm()
    if form.validate_on_submit():
        with form.refusals():
            accounts.set_active(db, user_id=user.id, active=False, reason=form.reason.data,
                                acting_user_id=current_user.id, now=clock.now(),
                                hand_keys_on=form.hand_keys_on.data)
        if form.refused is None:
            flash(f"{user.name} is now deactivated.", "success")
            return redirect(url_for("admin.users"))
    return form_page("admin/deactivate.html", form, user=user,
                     keys=api_keys.live_keys_created_by(db, user.id, clock.now()),
                     heir=accounts.key_heir(db, user))


@bp.post("/users/<int:user_id>/reactivate")
@admin_only
def reactivate_user(user_id: int):
    form = ActionForm()
    if form.validate_on_submit():
        with form.refusals():
            user = accounts.set_active(get_session(), user_id=user_id, active=True,
                                       acting_user_id=current_user.id, now=clock.now())
        if form.refused is None:
            flash(f"{user.name} is now active.", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/invitation")
@admin_only
def reissue_invitation(user_id: int):
    db = get_session()
    user, form = get_or_404(db, User, user_id), ActionForm()
    if not form.validate_on_submit():
        return redirect(url_for("admin.users"))
    with form.refusals():
        organisations.reissue_account_invitation(
            db, user=user, now=clock.now(),
            invitation_days=current_app.config["INVITATION_VALID_DAYS"])
    if form.refused is None:
        flash(emailed(user.email, again=True), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/reset")
@admin_only
def send_reset(user_id: int):
    """Email a password-reset link to an account whose owner is locked out or forgot."""
    form = ActionForm()
    if form.validate_on_submit():
        with form.refusals():
            user = invitations.send_reset(get_session(), user_id=user_id, now=clock.now())
        if form.refused is None:
            hours = int(invitations.ADMIN_RESET_VALID.total_seconds() // 3600)
            flash(f"A link to choose a new password was emailed to {user.email}; it works "
                  f"once, for {hours} hours.", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/two-step/reset")
@admin_only
def reset_two_step(user_id: int):
    """Clear a lost or stolen phone: the account's sessions end, and staff set up a new app
    at their next sign-in."""
    form = ActionForm()
    if form.validate_on_submit():
        with form.refusals():
            user = accounts.reset_second_factor(get_session(), user_id=user_id,
                                                acting_user_id=current_user.id, now=clock.now())
        if form.refused is None:
            flash(f"Two-step sign-in of {user.name} is reset; their sessions have ended.",
                  "success")
    return redirect(url_for("admin.users"))


def _certification_page(target, label: str, back: str):
    """The certification form; never certified yet, it starts from today for the program's
    full period."""
    today = clock.today()
    starts = target.certified_on or today
    form = CertificationForm(data={"status": target.certification_status,
                                   "certified_on": starts,
                                   "expires_on": target.certification_expires_on or add_months(
                                       starts, organisations.certification_months(target, starts)),
                                   "staff_trained_on": getattr(target, "staff_trained_on",
                                                               None)})
    if not isinstance(target, Pharmacy):
        del form.staff_trained_on  # a prescriber has no staff-training record
    if form.validate_on_submit():
        with form.refusals():
            organisations.certify(get_session(), target=target, data=form.values())
        if form.refused is None:
            flash(f"Certification of {label} saved.", "success")
            return redirect(back)
    return form_page("admin/certification.html", form, label=label, back=back)


# A patient's whole record, printable and as JSON, for inspection (404 for other accounts).
record_export.add_routes(bp, "/users/<int:user_id>/record", "patient_record", guard=admin_only,
                         patient_of=patient_of_account)
