"""The pages around CDS Hooks: an admin registers an EHR as a client, and a prescriber links
the EHR's identifier of one of their own patients so hooks find that patient by it.

The link form is shown on the prescriber's patient page (a context processor hands it to
`prescriber/_ehr_link.html`); a refused link re-renders that page with the typed value
and the message by the field.
"""

from flask import Blueprint, flash, g, redirect, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from compliance import audit
from compliance.auth import roles_required
from compliance.cds import clients
from compliance.db import get_session
from compliance.models import CdsClient, EhrPatientLink
from compliance.services.errors import Refused
from compliance.web import chart
from compliance.web.forms import REQUIRED, ServiceForm
from compliance.web.pages import form_page
from compliance.web.prescriber import certification_banner, current_prescriber, own_patient

admin_bp = Blueprint("cds_admin", __name__, url_prefix="/admin/cds-clients")
links_bp = Blueprint("cds_links", __name__, url_prefix="/prescriber/patients")
# A refused link shows the prescriber's patient page, with the words and banner it has there.
links_bp.context_processor(chart.wording)
links_bp.context_processor(certification_banner)


class ClientForm(ServiceForm):
    name = StringField("EHR name", validators=[REQUIRED, Length(max=200)])
    issuer = StringField("Issuer (iss)", validators=[REQUIRED, Length(max=500)],
                         description="Exactly as the EHR's JWTs carry it.")
    public_key = TextAreaField("Public key (PEM or JWK)", validators=[Length(max=8000)],
                               description="Leave empty when giving a JWKS URL.")
    jwks_url = StringField("JWKS URL", validators=[Length(max=500)],
                           description="Leave empty when giving a public key.")


class EhrLinkForm(ServiceForm):
    ehr_identifier = StringField("The EHR's patient identifier",
                                 validators=[REQUIRED, Length(max=200)],
                                 description="As system|value (e.g. "
                                             "urn:oid:1.2.3|12345), or Patient/<id>.")


@admin_bp.route("", methods=["GET", "POST"])
@roles_required("admin")
def clients_page():
    """The registered EHRs and the form that adds one."""
    form = ClientForm()
    if form.validate_on_submit():
        with form.refusals():
            client = clients.register(get_session(), **form.values())
        if form.refused is None:
            flash(f"CDS client {client.name} registered.", "success")
            return redirect(url_for("cds_admin.clients_page"))
    registered = get_session().scalars(select(CdsClient).order_by(CdsClient.name)).all()
    return form_page("admin/cds_clients.html", form, registered=registered)


@links_bp.post("/<int:patient_id>/ehr-identifier")
@roles_required("prescriber")
def link_patient(patient_id: int):
    """Record the EHR's identifier of this patient, once per prescriber and identifier."""
    profile = own_patient(patient_id)
    form = EhrLinkForm(prefix="ehr")
    if form.validate_on_submit():
        with form.refusals():
            _link(profile, form.ehr_identifier.data.strip())
        if form.refused is None:
            flash("The EHR's identifier is linked to this patient.", "success")
            return redirect(url_for("prescriber.patient", patient_id=patient_id))
    g.cds_ehr_form = form
    return chart.render(profile, status=422)


def _link(profile, identifier: str) -> None:
    db = get_session()
    prescriber = current_prescriber()
    db.add(EhrPatientLink(prescriber_id=prescriber.id, patient_id=profile.id,
                          ehr_identifier=identifier))
    audit.record(db, "patient.ehr_identifier_linked", "patient", profile.id,
                 summary={"ehr_identifier": identifier})
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        raise Refused({"ehr_identifier": "This identifier is already linked to one of your "
                                         "patients."}) from None


@links_bp.app_context_processor
def _ehr_link_form() -> dict:
    """The empty link form for the patient page, unless a refused one was handed in."""
    if request.blueprint not in ("prescriber", "cds_links"):  # any page that shows a chart
        return {}
    return {"ehr_form": g.get("cds_ehr_form") or EhrLinkForm(prefix="ehr", formdata=None)}
