"""The pharmacist's pages: their pharmacy and its standing with the program."""

from flask import Blueprint, abort, render_template
from flask_login import current_user
from sqlalchemy import select

from compliance.auth import roles_required
from compliance.db import get_session
from compliance.models import PharmacistProfile, Pharmacy, User

bp = Blueprint("pharmacist", __name__, url_prefix="/pharmacist")


@bp.get("/")
@roles_required("pharmacist")
def home():
    db = get_session()
    site = current_pharmacy()
    staff = db.scalars(select(User).join(PharmacistProfile, PharmacistProfile.user_id == User.id)
                       .where(PharmacistProfile.pharmacy_id == site.id).order_by(User.name))
    return render_template("pharmacist/home.html", pharmacy=site, staff=list(staff))


def current_pharmacy() -> Pharmacy:
    """The pharmacy the signed-in pharmacist works for."""
    site = get_session().scalar(
        select(Pharmacy).join(PharmacistProfile, PharmacistProfile.pharmacy_id == Pharmacy.id)
        .where(PharmacistProfile.user_id == current_user.id))
    if site is None:
        abort(404)
    return site
