"""The pharmacist's pages: the pharmacy, its open RMAs, and the counter's tools.

One blueprint in three modules: this one (the home page and what every page shares),
`pharmacy_counter` (find a patient, ask for an RMA, record the fill, reverse) and
`pharmacy_keys` (the pharmacy's API keys). Every view is `@pharmacist_only` and reads
only rows of `current_pharmacy()`; another pharmacy's RMA or key answers 404.
"""

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from compliance import audit, clock
from compliance.auth import roles_required
from compliance.db import get_session
from compliance.models import (
    Course,
    PatientProfile,
    PharmacistProfile,
    Pharmacy,
    Rma,
    RmaStatus,
    User,
)
from compliance.services import rma as rmas
from compliance.services import worklist
from compliance.web import chart
from compliance.web.pages import Page

bp = Blueprint("pharmacist", __name__, url_prefix="/pharmacist")
pharmacist_only = roles_required("pharmacist")
OPEN_PER_PAGE = 25
HISTORY_ROWS = 20


@bp.context_processor
def _words() -> dict:
    """Dates in words ("Dec 3", "Dec 3, 11:59 pm Eastern") and RMA numbers in groups."""
    return {**chart.wording(), "grouped": grouped, "today": clock.today()}


@bp.get("/")
@pharmacist_only
def home():
    """The pharmacy, its staff, and its open RMAs: those expiring today first."""
    db, site = get_session(), current_pharmacy()
    expire_overdue(site)
    staff = db.scalars(select(User).join(PharmacistProfile, PharmacistProfile.user_id == User.id)
                       .where(PharmacistProfile.pharmacy_id == site.id).order_by(User.name))
    page = Page.of(db, open_rmas(site), request.args.get("page"), per_page=OPEN_PER_PAGE)
    history = db.execute(recent_rmas(site)).all()
    audit.record(db, "rma.list_viewed", "pharmacy", site.id,
                 summary={"open": len(page.items), "recent": len(history)})
    db.commit()
    return render_template("pharmacist/home.html", pharmacy=site, staff=list(staff),
                           page=page, history=history, responsible=is_responsible(site))


def open_rmas(site: Pharmacy):
    """Issued, unexpired RMAs with their patient, by DNDPA (today's first since none is
    older); reads `ix_rma_pharmacy_open` (pharmacy_id, status, do_not_dispense_after)."""
    return (select(Rma, PatientProfile)
            .join(Course, Course.id == Rma.course_id)
            .join(PatientProfile, PatientProfile.id == Course.patient_id)
            .where(Rma.pharmacy_id == site.id,
                   Rma.status == RmaStatus.ISSUED.value,
                   Rma.do_not_dispense_after >= clock.today())
            .order_by(Rma.do_not_dispense_after, Rma.id))


def recent_rmas(site: Pharmacy):
    """The pharmacy's latest RMAs whatever became of them (dispensed, reversed, expired,
    voided), newest first; reads `ix_rma_pharmacy_issued` (pharmacy_id, issued_at)."""
    return (select(Rma, PatientProfile)
            .join(Course, Course.id == Rma.course_id)
            .join(PatientProfile, PatientProfile.id == Course.patient_id)
            .where(Rma.pharmacy_id == site.id,
                   Rma.status != RmaStatus.ISSUED.value)
            .order_by(Rma.issued_at.desc(), Rma.id.desc())
            .limit(HISTORY_ROWS))


def expire_overdue(site: Pharmacy) -> int:
    """Expire this pharmacy's unused RMAs past their DNDPA (checked at read time, so the
    list never shows one that can no longer be filled); returns how many."""
    db, now = get_session(), clock.now()
    overdue = db.scalars(select(Rma).where(
        Rma.pharmacy_id == site.id, Rma.status == RmaStatus.ISSUED.value,
        Rma.do_not_dispense_after < clock.today())).all()
    expired = [row for row in overdue if rmas.expire_if_overdue(db, row, now)]
    for row in expired:
        worklist.refresh(db, db.get(Course, row.course_id), now)
    if expired:
        db.commit()
    return len(expired)


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


# The other modules add their routes to `bp`; imported last because they import it.
from compliance.web import pharmacy_counter, pharmacy_keys  # noqa: E402, F401
