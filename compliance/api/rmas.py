"""RMA requests, dispenses and reversals: thin views over `compliance.services.rma_requests`
and `compliance.services.rma`."""

import re

from flask import g

from compliance import audit, clock
from compliance.api import bp, presenters, schemas
from compliance.api.auth import pharmacy_system
from compliance.api.idempotency import idempotent
from compliance.api.operations import answer, body, operation
from compliance.db import get_session
from compliance.models import Rma
from compliance.services import rma, rma_requests
from compliance.services.errors import NotFound

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
WRITE_PROBLEMS = (400, 401, 403, 404, 409, 422)


@bp.post("/rma-requests")
@pharmacy_system
@idempotent
@operation(summary="Ask for an RMA for one fill", body=schemas.RmaRequestBody,
           answer=schemas.RmaDecision, status=201, problems=(400, 401, 403, 409, 422, 429),
           idempotent=True, description="Every request is recorded and answered 201 with a "
           "decision, authorized or denied with its reasons.")
def create_rma_request():
    db = get_session()
    ask = body(schemas.RmaRequestBody)
    recorded = rma_requests.request_rma(db, pharmacy=g.api_pharmacy, data=ask,
                                        now=clock.now())
    return answer(presenters.decision(recorded), 201)


@bp.get("/rma-requests/<request_id>")
@pharmacy_system
@operation(summary="Read a decision again", answer=schemas.RmaDecision,
           problems=(401, 403, 404))
def show_rma_request(request_id: str):
    db = get_session()
    recorded = UUID.fullmatch(request_id) and rma_requests.recorded_request(
        db, pharmacy_id=g.api_pharmacy.id, request_id=request_id)
    if not recorded:
        raise NotFound({"id": "No RMA request with this id was made by this pharmacy."})
    audit.record(db, "rma_request.read", "rma_request", recorded.id)
    return answer(presenters.decision(recorded))


@bp.post("/dispenses")
@pharmacy_system
@idempotent(required=True)  # a fill recorded twice would read as a second fill
@operation(summary="Record the fill made under an RMA", body=schemas.DispenseBody,
           answer=schemas.DispenseRecord, status=201, problems=WRITE_PROBLEMS,
           idempotent="required",
           description="409 names why an RMA cannot be filled, in the pharmacy's words: "
           "already dispensed, past its do-not-dispense-after date, reversed, voided because "
           "the course stopped, or a course or certification that no longer allows it.")
def create_dispense():
    db = get_session()
    entry = body(schemas.DispenseBody)
    row = rma.record_dispense(db, pharmacy=g.api_pharmacy, data=entry, now=clock.now())
    return answer(presenters.dispense(row, db.get(Rma, row.authorization_id)), 201)


@bp.post("/rmas/<rma_number>/reversal")
@pharmacy_system
@idempotent
@operation(summary="Reverse an unused RMA", answer=schemas.Reversal,
           problems=WRITE_PROBLEMS, idempotent=True)
def reverse_rma(rma_number: str):
    reversed_rma = rma.reverse(get_session(), pharmacy=g.api_pharmacy, rma_number=rma_number,
                               now=clock.now())
    return answer(presenters.reversal(reversed_rma))
