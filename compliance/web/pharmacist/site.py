"""What every pharmacist page shares: the audience, the pharmacy of the signed-in
pharmacist, and RMA numbers read aloud."""

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from compliance.auth import roles_required
from compliance.db import get_session
from compliance.models import PharmacistProfile, Pharmacy

pharmacist_only = roles_required("pharmacist")


def current_pharmacy() -> Pharmacy:
    """The pharmacy the signed-in pharmacist works for."""
    site = get_session().scalar(
        select(Pharmacy).join(PharmacistProfile, PharmacistProfile.pharmacy_id == Pharmacy.id)
        .where(PharmacistProfile.user_id == current_user.id))
    if site is None:
        abort(404)
    return site


def is_responsible(site: Pharmacy) -> bool:
    """Is the signed-in pharmacist the pharmacy's responsible pharmacist?"""
    return site.responsible_pharmacist_id == current_user.id


def grouped(number: str | None) -> str:
    """An RMA number in groups of four for reading aloud: 1948 6201 7077."""
    number = number or ""
    return " ".join(number[i:i + 4] for i in range(0, len(number), 4))
