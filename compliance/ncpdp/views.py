"""POST /ncpdp/script: one message in, its answer out, decided by the same services as the
JSON API (eligibility, request_rma, record_dispense, reverse) for the caller's pharmacy.

Every message is answered once per MessageID (`api.idempotency.once`): a retry gets the
first answer, a different message under a used MessageID is refused, so a fill is never
recorded twice. Answers speak the pharmacy's words only (docs/api.md, minimum necessary).
"""

from datetime import date
from http import HTTPStatus

from flask import Response, g, request
from lxml.builder import E

from compliance import clock
from compliance.api.auth import keyed_pharmacy
from compliance.api.idempotency import once
from compliance.db import get_session
from compliance.ncpdp import bp, messages
from compliance.ncpdp.messages import BadMessage, Incoming, Unmet
from compliance.programs import program
from compliance.services import eligibility, rma, rma_requests
from compliance.services.errors import Conflict, NotFound, Refused, Throttled

XML = "application/xml"
ACCEPTED = frozenset({XML, "text/xml"})


def error(status_code: int, detail: str, *, kind: str | None = None,
          headers: dict | None = None) -> Response:
    """An NCPDP Error answer: 900 (rejected) for the sender's fault, 602 for ours."""
    code = "602" if status_code >= 500 else "900"
    phrase = HTTPStatus(status_code).phrase
    body = messages.status(code, error=True, description=detail or phrase,
                           description_code=kind or phrase.lower().replace(" ", "-"))
    response = Response(messages.answer(g.get("ncpdp_incoming"), body, clock.now()),
                        status=status_code, mimetype=XML)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@bp.post("/script")
@keyed_pharmacy(error)
def script():
    """Answer one REMSInitiationRequest, REMSRequest or RxFill."""
    if request.mimetype not in ACCEPTED:
        return error(415, "Send the message as application/xml.", kind="unsupported-media-type")
    try:
        incoming = messages.read(request.get_data(cache=True))
    except BadMessage as exc:
        return error(400, exc.detail, kind="schema-invalid")
    g.ncpdp_incoming = incoming
    return once(incoming.message_id, lambda: _answered(incoming), refuse=error,
                named="MessageID")


def _answered(incoming: Incoming) -> Response:
    try:
        body = HANDLERS[incoming.kind](incoming)
    except BadMessage as exc:
        return error(422, exc.detail, kind="incomplete")
    except Throttled as exc:
        return error(429, _sentence(exc), kind="too-many-lookups",
                     headers={"Retry-After": str(exc.retry_after)})
    except Refused as exc:
        status_code = 404 if isinstance(exc, NotFound) else 409 \
            if isinstance(exc, Conflict) else 422
        return error(status_code, _sentence(exc), kind="refused")
    return Response(messages.answer(incoming, body, clock.now()), mimetype=XML)


def _initiation(incoming: Incoming):
    """What stands between the patient and the next fill now; nothing is issued."""
    patient_id, born = messages.patient_card(incoming.body)
    reference = E.REMSReferenceID(incoming.body.findtext("REMSReferenceID"))
    try:
        found = eligibility.eligibility(get_session(), pharmacy=g.api_pharmacy,
                                        patient_id=patient_id, date_of_birth=born,
                                        now=clock.now())
    except NotFound as miss:
        return E.REMSInitiationResponse(reference, E.Response(E.ResponseStatus(E.Closed(
            E.ReasonCode("PATIENT_NOT_FOUND"), E.REMSNote(_sentence(miss))))))
    verdict, case = found.decision, found.patient.program_patient_id
    opened = E.Open(E.REMSCaseID(case), E.Eligible("true" if verdict.authorized else "false"))
    if verdict.authorized:
        zone = program(verdict.program).zone
        opened.append(messages.period(verdict.decided_on, verdict.do_not_dispense_after,
                             verdict.window_closes_at.astimezone(zone)))
    for told in found.reasons:
        opened.append(messages.unmet_element("UnmetRequirement", Unmet(
            str(told.code), str(told.actor), told.message, told.eligible_on)))
    return E.REMSInitiationResponse(
        reference, E.Patient(E.HumanPatient(E.Identification(E.REMSPatientID(case)))),
        E.Response(E.ResponseStatus(opened)))


def _request(incoming: Incoming):
    """An RMA asked for exactly as through the JSON API, recorded either way."""
    recorded = rma_requests.request_rma(get_session(), pharmacy=g.api_pharmacy,
                                        data=messages.rma_ask(incoming.body), now=clock.now())
    reference = E.REMSReferenceID(incoming.body.findtext("REMSReferenceID"))
    case = recorded.program_patient_id
    if recorded.rma is not None:
        issued, zone = recorded.rma, program(recorded.program).zone
        approved = E.Approved(E.REMSCaseID(case), E.REMSAuthorizationNumber(issued.rma_number),
                              messages.period(recorded.requested_at.astimezone(zone).date(),
                                     issued.do_not_dispense_after,
                                     issued.window_closes_at.astimezone(zone)))
        return E.REMSResponse(reference, E.Response(E.ResponseStatus(approved)))
    reasons = [Unmet(r["code"], r["actor"] or "pharmacy", r["message"],
                     _day(r["eligible_on"])) for r in recorded.reasons]
    denied = E.Denied(*([E.REMSCaseID(case)] if case else []),
                      E.DeniedReasonCode(reasons[0].code), E.REMSNote(reasons[0].note),
                      *(messages.unmet_element("DeniedReason", reason) for reason in reasons))
    return E.REMSResponse(reference, E.Response(E.ResponseStatus(denied)))


def _fill(incoming: Incoming):
    """A dispense recorded under the RMA, or the RMA reversed when it was not dispensed."""
    number, entry = messages.fill(incoming.body)
    db, pharmacy, now = get_session(), g.api_pharmacy, clock.now()
    if entry is None:
        reversed_rma = rma.reverse(db, pharmacy=pharmacy, rma_number=number, now=now)
        return messages.status("000", description_code="reversed",
                               authorization=reversed_rma.rma_number,
                               description="The RMA is reversed: the month is free for a new "
                                           "RMA.")
    row = rma.record_dispense(db, pharmacy=pharmacy, data=entry, now=now)
    return messages.status("000", description_code="dispensed", authorization=number,
                           description=f"Fill recorded: {row.quantity} units, "
                                       f"{row.days_supply} days, on "
                                       f"{row.dispensed_on.isoformat()}.")


HANDLERS = {"REMSInitiationRequest": _initiation, "REMSRequest": _request, "RxFill": _fill}


def _sentence(exc: Refused) -> str:
    return " ".join(exc.errors.values())


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None
