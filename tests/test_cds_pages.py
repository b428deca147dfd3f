"""The pages around CDS Hooks: an admin registers an EHR, a prescriber links the EHR's
identifier of their own patient; everyone else is turned away."""

from sqlalchemy import select

from compliance.models import AuditEvent, CdsClient, EhrPatientLink, User
from tests.cds_helpers import RSA_KEY, public_pem
from tests.conftest import post_form
from tests.form_helpers import fast_sign_in

CLIENTS = "/admin/cds-clients"


def _link_url(patient) -> str:
    return f"/prescriber/patients/{patient.id}/ehr-identifier"


def test_an_admin_registers_a_client_and_refusals_keep_the_values(client, db, factory):
    fast_sign_in(client, db, factory.user("admin"))
    refused = post_form(client, CLIENTS, {"name": "Clinic EHR", "issuer": "https://ehr.test",
                                          "public_key": "not a key", "jwks_url": ""})
    assert refused.status_code == 422
    assert "This is not a PEM public key nor a public JWK." in refused.text
    assert 'value="https://ehr.test"' in refused.text and "not a key" in refused.text
    done = post_form(client, CLIENTS, {"name": "Clinic EHR", "issuer": "https://ehr.test",
                                       "public_key": public_pem(RSA_KEY), "jwks_url": ""})
    assert done.status_code == 302
    assert db.scalar(select(CdsClient.issuer)) == "https://ehr.test"
    assert "https://ehr.test" in client.get(CLIENTS).text
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "cds.client_registered"))


def test_only_admins_see_the_clients_page(client, db, factory):
    fast_sign_in(client, db, db.get(User, factory.prescriber().user_id))
    assert client.get(CLIENTS).status_code == 403


def test_the_prescriber_links_an_ehr_identifier(client, db, factory):
    prescriber = factory.prescriber()
    patient = factory.patient(prescriber)
    fast_sign_in(client, db, db.get(User, prescriber.user_id))
    page = f"/prescriber/patients/{patient.id}"
    assert "Link your EHR" in client.get(page).text
    done = post_form(client, _link_url(patient), {"ehr-ehr_identifier": "urn:oid:1.2|77"},
                     token_from=page)
    assert done.status_code == 302
    link = db.scalar(select(EhrPatientLink))
    assert (link.prescriber_id, link.patient_id, link.ehr_identifier) == (
        prescriber.id, patient.id, "urn:oid:1.2|77")
    again = post_form(client, _link_url(patient), {"ehr-ehr_identifier": "urn:oid:1.2|77"},
                      token_from=page)
    assert again.status_code == 422
    assert "already linked to one of your patients" in again.text
    assert 'value="urn:oid:1.2|77"' in again.text


def test_no_one_else_links_the_patient(client, db, factory):
    patient = factory.patient(factory.prescriber())
    other = factory.prescriber()
    fast_sign_in(client, db, db.get(User, other.user_id))
    answer = post_form(client, _link_url(patient), {"ehr-ehr_identifier": "x"},
                       token_from="/prescriber/")
    assert answer.status_code == 404
    fast_sign_in(client, db, factory.pharmacist(factory.pharmacy()))
    answer = post_form(client, _link_url(patient), {"ehr-ehr_identifier": "x"},
                       token_from="/login")
    assert answer.status_code == 403
    assert db.scalar(select(EhrPatientLink)) is None
