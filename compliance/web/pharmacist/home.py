"""The pharmacist's home: the pharmacy, its staff, its open RMAs and its recent ones."""

from flask import render_template, request
from sqlalchemy import select

from compliance import audit, clock
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
from compliance.web.pages import Page
from compliance.web.pharmacist.site import current_pharmacy, is_responsible, pharmacist_only

OPEN_PER_PAGE = 25
HISTORY_ROWS = 20


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
