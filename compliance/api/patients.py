"""What a patient still needs for the next fill, read by a pharmacy without asking for an RMA."""

from flask import g

from compliance import clock
from compliance.api import bp, presenters, schemas
from compliance.api.auth import pharmacy_system
from compliance.api.operations import answer, operation, query
from compliance.db import get_session
from compliance.services.eligibility import eligibility


@bp.get("/patients/<patient_id>/eligibility")
@pharmacy_system
@operation(summary="What is missing for the next fill", answer=schemas.Eligibility,
           query=schemas.EligibilityQuery, problems=(401, 403, 404, 422, 429),
           description="The date of birth must match the patient ID, or the answer is 404.")
def patient_eligibility(patient_id: str):
    asked = query(schemas.EligibilityQuery)
    found = eligibility(get_session(), pharmacy=g.api_pharmacy, patient_id=patient_id,
                        date_of_birth=asked.date_of_birth, now=clock.now())
    return answer(presenters.eligibility(found))
