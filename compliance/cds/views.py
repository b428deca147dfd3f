"""Discovery, the three hooks and the feedback endpoint.

Each hook call is one transaction: the JWT's `jti` is spent, the cards are recorded and
the read of the patient is audited together, in the commit that precedes the answer. A
refusal is a 401 with a JSON error naming no patient, audited with what was refused.
"""

from datetime import datetime
from functools import wraps

from flask import current_app, g, jsonify, request
from sqlalchemy import select

from compliance import audit, clock
from compliance.auth import public
from compliance.cds import bp, cards, jwt_auth, matching, prefetch
from compliance.db import get_session
from compliance.models import CdsCard, CdsFeedback
from compliance.programs import DEFAULT_PROGRAM, program
from compliance.services import courses
from compliance.services.course_view import view_course
from compliance.services.facts import prescriber_certified_today

ROLE = "cds_client"
SERVICES = {
    "rems-order-sign": ("order-sign", "REMS requirements when a prescription is signed"),
    "rems-order-select": ("order-select", "REMS requirements when the drug is chosen"),
    "rems-patient-view": ("patient-view", "REMS status and the next dispensing window"),
}
PREFETCH = prefetch.templates(prefetch.PATIENT, prefetch.PRACTITIONER,
                              prefetch.MEDICATION_REQUESTS)
OUTCOMES = {"accepted", "overridden"}


def signed_by_client(view):
    """Admit a call carrying a registered client's valid JWT for this URL; `g.cds_caller`."""

    @wraps(view)
    def guarded(*args, **kwargs):
        db = get_session()
        audience = current_app.config["PUBLIC_URL"].rstrip("/") + request.path
        try:
            g.cds_caller = jwt_auth.authenticate(db, request.headers.get("Authorization"),
                                                 audience=audience, now=clock.now())
        except jwt_auth.Refused as refused:
            db.rollback()
            audit.record(db, "cds.refused", "cds_service", request.path,
                         summary={"reason": str(refused)}, actor_role=ROLE)
            db.commit()
            return _error(401, "unauthorized", str(refused))
        return view(*args, **kwargs)

    guarded.required_roles = (ROLE,)
    return guarded


@bp.get("")
@public
def discovery():
    """The services an EHR may call, with what each wants prefetched."""
    return jsonify({"services": [
        {"hook": hook, "id": service_id, "title": f"{program(DEFAULT_PROGRAM).name}: {title}",
         "description": title + ", with what blocks the next fill and who must act.",
         "prefetch": PREFETCH}
        for service_id, (hook, title) in SERVICES.items()]})


@bp.post("/<service_id>")
@signed_by_client
def hook(service_id: str):
    """The cards for this hook call, or an empty list when there is nothing to say."""
    if service_id not in SERVICES:
        return _error(404, "not_found", "No such CDS service.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or body.get("hook") != SERVICES[service_id][0]:
        return _error(400, "bad_request",
                      f"Send a JSON hook request with hook {SERVICES[service_id][0]!r}.")
    try:
        resources = prefetch.gather(body)
    except prefetch.FetchFailed as failed:
        return _error(412, "prefetch_unavailable", str(failed))
    answer = _answer(service_id, body, resources, clock.now())
    db = get_session()
    for card in answer:
        db.add(CdsCard(uuid=card.uuid, service_id=service_id, client_id=g.cds_caller.client.id,
                       patient_id=g.get("cds_patient_id")))
    db.commit()
    return jsonify({"cards": [card.as_json() for card in answer]})


def _answer(service_id: str, body: dict, resources: prefetch.Resources,
            now: datetime) -> list[cards.Card]:
    db = get_session()
    context = body.get("context") or {}
    if service_id != "rems-patient-view" and not _medication_requests(context):
        return []  # an order with no medication in it: nothing to say
    found = matching.match(db, resources.practitioner, resources.patient)
    prog = program(DEFAULT_PROGRAM)
    name, today = prog.name, now.astimezone(prog.zone).date()
    if found.prescriber is None or not prescriber_certified_today(found.prescriber, today):
        _audit_answer(found, "prescriber_not_certified")
        return [cards.not_certified(name)]
    course = found.patient and courses.course_of(db, found.patient)
    if course is None:
        _audit_answer(found, "no_match")
        return [cards.enroll_or_link(name)]
    view = view_course(db, course, now)
    g.cds_patient_id = found.patient.id
    _audit_answer(found, str(view.decision.outcome),
                  reasons=[f.code for f in view.decision.unmet], patient_id=found.patient.id)
    orders = _medication_requests(context)
    return cards.course_cards(
        view, patient_id=found.patient.id,
        ehr_patient=f"Patient/{context['patientId']}" if context.get("patientId") else None,
        practitioner=context.get("userId"),
        medication_request=f"MedicationRequest/{orders[0]['id']}"
        if orders and orders[0].get("id") else None, now=now)


def _medication_requests(context: dict) -> list[dict]:
    """The MedicationRequests of order-sign's or order-select's draftOrders bundle."""
    bundle = context.get("draftOrders") or {}
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    return [e["resource"] for e in entries or []
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)
            and e["resource"].get("resourceType") == "MedicationRequest"]


def _audit_answer(found: matching.Match, outcome: str, *, reasons=(),
                  patient_id: int | None = None) -> None:
    caller = g.cds_caller
    audit.record(get_session(), "cds.hook_answered", "patient" if patient_id else "cds_service",
                 patient_id or request.path,
                 summary={"client": caller.client.id, "outcome": outcome,
                          "reasons": list(reasons)},
                 actor_id=found.prescriber.user_id if found.prescriber else None,
                 actor_role=ROLE)


@bp.post("/<service_id>/feedback")
@signed_by_client
def feedback(service_id: str):
    """Accepted and overridden cards, each one we issued to this client."""
    db = get_session()
    body = request.get_json(silent=True)
    items = body.get("feedback") if isinstance(body, dict) else None
    if service_id not in SERVICES or not isinstance(items, list) or not items:
        return _error(400, "bad_request", "Send {\"feedback\": [...]} for a known service.")
    for item in items:
        error = _record_feedback(db, service_id, item)
        if error:
            db.rollback()
            return _error(400, "bad_request", error)
    db.commit()
    return jsonify({}), 200


def _record_feedback(db, service_id: str, item) -> str | None:
    if not isinstance(item, dict) or item.get("outcome") not in OUTCOMES:
        return "Each feedback needs card and an outcome of accepted or overridden."
    card = db.scalar(select(CdsCard).where(CdsCard.uuid == str(item.get("card")),
                                           CdsCard.service_id == service_id,
                                           CdsCard.client_id == g.cds_caller.client.id))
    if card is None:
        return "The feedback names a card this service did not issue to you."
    reasons = item.get("overrideReasons") or []
    reason = reasons[0] if reasons and isinstance(reasons[0], dict) else {}
    coding = reason.get("reason") or {}
    try:
        outcome_at = datetime.fromisoformat(str(item.get("outcomeTimestamp")))
    except ValueError:
        return "outcomeTimestamp must be an ISO 8601 instant."
    if outcome_at.tzinfo is None:
        return "outcomeTimestamp must carry its offset."
    db.add(CdsFeedback(card_id=card.id, outcome=item["outcome"],
                       override_reason=str(coding.get("display") or coding.get("code") or "")
                       [:500],
                       override_comment=str(reason.get("userComment") or "")[:1000],
                       outcome_at=outcome_at))
    audit.record(db, "cds.feedback", "cds_card", card.id,
                 summary={"outcome": item["outcome"], "client": g.cds_caller.client.id},
                 actor_role=ROLE)
    return None


def _error(status: int, code: str, message: str):
    return jsonify({"error": code, "message": message}), status

