"""The counter: find a patient, ask for an RMA, record the fill, reverse an unused RMA.

A pharmacy sees only what a fill needs (docs/api.md): the patient's name and IDs, what still
blocks the next fill and who must act; never contraception methods, test results or
history. Every request goes through `services.rma_requests`, which records it granted or not;
each read of a patient or an RMA writes an audit event.
"""

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from compliance import audit, clock
from compliance.auth import owned_or_404
from compliance.db import get_session
from compliance.identifiers import normalise_program_patient_id
from compliance.models import (
    Course,
    PatientProfile,
    Pharmacy,
    PrescriberProfile,
    Rma,
    RmaRequest,
    User,
)
from compliance.programs import DEFAULT_PROGRAM
from compliance.programs import max_days_supply as max_days_in_force
from compliance.services import eligibility, lookups, patients, rma_requests
from compliance.services import rma as rmas
from compliance.services.cycles import VOIDED_REASON
from compliance.services.errors import Conflict, NotFound, Refused, Throttled
from compliance.web.forms_pharmacy import (
    DispenseForm,
    FindPatientForm,
    ReverseForm,
    RmaRequestForm,
)
from compliance.web.pages import form_page
from compliance.web.pharmacist.site import current_pharmacy, grouped, pharmacist_only
from workflows.pharmacy_reasons import PharmacyCode

NO_MATCH = "No patient matches this ID and date of birth."
ID_TYPO = ("This patient ID is not valid: one character is mistyped (its check character "
           "does not match). Compare it with the patient's program card.")
WHO = {"prescriber": "The prescriber", "patient": "The patient",
       "pharmacy": "Your pharmacy", "program": "The program administrator"}
WHO_HOLDS = "The pharmacy holding the RMA"
ASKED = ("patient_id", "patient_date_of_birth", "prescriber_npi", "ndc", "strength_mg",
         "quantity", "days_supply")  # what a denied request is asked again with


@pharmacist_only
def find_patient():
    """Both identifiers must match; a mismatch says only that nothing matched."""
    form = FindPatientForm()
    if form.validate_on_submit():
        typed = normalise_program_patient_id(form.patient_id.data)
        site, patient = current_pharmacy(), None
        with form.refusals():
            patient = typed and lookups.find(
                get_session(), typed_id=typed, born=form.date_of_birth.data, now=clock.now(),
                asker=lookups.asker(pharmacy_id=site.id, user_id=current_user.id),
                pharmacy_id=site.id)
            get_session().commit()  # a miss counts and is audited
        if patient:
            return patient_page(patient, RmaRequestForm(
                formdata=None, patient_id=patient.program_patient_id,
                patient_date_of_birth=patient.date_of_birth.isoformat()))
        if form.refused is None:
            form.show_refusal(Refused({"patient_id": ID_TYPO} if typed is None else NO_MATCH))
        elif isinstance(form.refused, Throttled):
            return form_page("pharmacist/find.html", form)[0], 429, \
                {"Retry-After": str(form.refused.retry_after)}
    return form_page("pharmacist/find.html", form)


@pharmacist_only
def request_rma():
    """Ask for an RMA; the decision, granted or not, is recorded and shown on its own page."""
    db, site, form = get_session(), current_pharmacy(), RmaRequestForm()
    if form.validate_on_submit():
        with form.refusals():
            record = rma_requests.request_rma(db, pharmacy=site, data=form.values(),
                                              now=clock.now(), requested_by=current_user.id)
        if form.refused is None:
            flash("RMA issued." if record.decision == "authorized" else
                  "No RMA: see the reasons below.",
                  "success" if record.decision == "authorized" else "error")
            return redirect(url_for("pharmacist.rma_request", request_id=record.id))
    patient = patients.on_card(get_session(), form.patient_id.data,
                               _date(form.patient_date_of_birth.data))
    if patient is None:
        find = FindPatientForm(formdata=None)
        find.show_refusal(Refused(NO_MATCH))
        return render_template("pharmacist/find.html", form=find), 422
    return patient_page(patient, form, status=422)


@pharmacist_only
def rma_request(request_id: str):
    """One decision: the RMA number and when to fill by, or every reason and who acts."""
    db, site = get_session(), current_pharmacy()
    record = db.get(RmaRequest, request_id)
    owned_or_404(record, record is not None and record.pharmacy_id == site.id)
    issued = record.authorization_id and db.get(Rma, record.authorization_id)
    if issued:
        issued = rmas.find_rma(db, pharmacy=site, rma_number=issued.rma_number, now=clock.now())
    patient = record.patient_id and db.get(PatientProfile, record.patient_id)
    audit.record(db, "rma_request.viewed", "rma_request", record.id,
                 summary={"pharmacy": site.id})
    db.commit()
    ask_again = None if issued or not patient else RmaRequestForm(
        formdata=None, **{name: record.request.get(name) for name in ASKED})
    return render_template("pharmacist/decision.html", record=record, rma=issued,
                           patient=patient, reasons=reasons(record.reasons),
                           voided_reason=VOIDED_REASON[1], ask_again=ask_again)


@pharmacist_only
def rma(rma_number: str):
    """An RMA of this pharmacy, with the forms to record its fill or reverse it."""
    return rma_page(own_rma(current_pharmacy(), rma_number))


@pharmacist_only
def record_dispense():
    """Record the fill made under an RMA; a conflict (used, expired) is said plainly."""
    db, site = get_session(), current_pharmacy()
    form = DispenseForm(max_days=max_days_supply(), rma_number=request.args.get("rma", "")[:20])
    status = 422 if form.is_submitted() else 200
    if form.validate_on_submit():
        with form.refusals():
            fill = rmas.record_dispense(db, pharmacy=site, data=form.values(), now=clock.now(),
                                        recorded_by=current_user.id)
        if form.refused is None:
            number = db.get(Rma, fill.authorization_id).rma_number
            flash(f"Dispense recorded under RMA {grouped(number)}.", "success")
            return redirect(url_for("pharmacist.rma", rma_number=number))
        status = status_of(form.refused)
    return render_template("pharmacist/dispense.html", form=form), status


@pharmacist_only
def reverse_rma(rma_number: str):
    """Reverse an unused RMA after an explicit confirmation."""
    db, site = get_session(), current_pharmacy()
    issued, form = own_rma(site, rma_number), ReverseForm()
    status = 422
    if form.validate_on_submit():
        with form.refusals():
            rmas.reverse(db, pharmacy=site, rma_number=issued.rma_number, now=clock.now())
        if form.refused is None:
            flash(f"RMA {grouped(issued.rma_number)} reversed.", "success")
            return redirect(url_for("pharmacist.rma", rma_number=issued.rma_number))
        status = status_of(form.refused)
    return rma_page(own_rma(site, rma_number), status=status, reverse_form=form)


def patient_page(patient: PatientProfile, form: RmaRequestForm, *, status: int = 200):
    """What a fill needs to know about a matched patient; the read is audited."""
    db, site = get_session(), current_pharmacy()
    course = db.scalar(select(Course).where(Course.patient_id == patient.id)
                       .order_by(Course.id.desc()).limit(1))
    blocking, open_rma = [], None
    if course is not None:
        found = eligibility.next_fill(db, pharmacy=site, course=course, now=clock.now())
        blocking, open_rma = reasons(found.reasons), found.open_rma
    prescriber = db.execute(select(User.name, PrescriberProfile.npi).join(
        PrescriberProfile, PrescriberProfile.user_id == User.id)
        .where(PrescriberProfile.id == patient.prescriber_id)).first()
    audit.record(db, "patient.viewed_by_pharmacy", "patient", patient.id,
                 summary={"pharmacy": site.id})
    db.commit()
    return render_template("pharmacist/patient.html", patient=patient, form=form,
                           has_course=course is not None, blocking=blocking,
                           open_rma=open_rma, prescriber=prescriber), status


def rma_page(issued: Rma, *, status: int = 200, reverse_form=None):
    """The RMA with its patient; the read is audited."""
    db = get_session()
    patient = db.get(PatientProfile, db.get(Course, issued.course_id).patient_id)
    audit.record(db, "rma.viewed", "rma", issued.rma_number)
    db.commit()
    dispense_form = DispenseForm(formdata=None, max_days=max_days_supply(issued.program),
                                 rma_number=grouped(issued.rma_number),
                                 quantity=issued.quantity, days_supply=issued.days_supply)
    return render_template("pharmacist/rma.html", rma=issued, patient=patient,
                           dispense_form=dispense_form, voided_reason=VOIDED_REASON[1],
                           reverse_form=reverse_form or ReverseForm(formdata=None)), status


def reasons(items) -> list[dict]:
    """Pharmacy reasons (stored dicts or fresh ones) as the page words them: what, who acts,
    from when."""
    shown = []
    for item in items:
        get = item.get if isinstance(item, dict) else lambda key, i=item: getattr(i, key, None)
        when, code = get("eligible_on"), str(get("code"))
        who = WHO_HOLDS if code == PharmacyCode.RMA_OPEN_ELSEWHERE else \
            WHO.get(str(get("actor")), "The program")
        shown.append({"code": code, "message": get("message"), "who": who,
                      "when": date.fromisoformat(when) if isinstance(when, str) else when})
    return shown


def own_rma(site: Pharmacy, rma_number: str) -> Rma:
    """This pharmacy's RMA (expired first if overdue); 404 for any other number."""
    try:
        return rmas.find_rma(get_session(), pharmacy=site, rma_number=rma_number,
                             now=clock.now())
    except NotFound:
        abort(404)


def max_days_supply(code: str = DEFAULT_PROGRAM) -> int:
    """The days' supply limit of the program's version in force today, in its zone."""
    return max_days_in_force(code, clock.today(code))


def status_of(refusal: Refused) -> int:
    return 404 if isinstance(refusal, NotFound) else 409 if isinstance(refusal, Conflict) \
        else 422


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        return None
