"""The FHIR routes: public definitions, and `$rems-etasu` for a pharmacy's key."""

from fhir.resources.R4B.parameters import Parameters
from flask import current_app, g, request
from pydantic import ValidationError

from compliance import clock
from compliance.api.auth import keyed_pharmacy
from compliance.auth import public
from compliance.db import get_session
from compliance.fhir import bp, definitions, etasu
from compliance.fhir.outcomes import FHIR_JSON, invalid, outcome, resource
from compliance.services.errors import Refused, Throttled

ACCEPTED = frozenset({FHIR_JSON, "application/json"})


@bp.get("/metadata")
@public
def metadata():
    """The CapabilityStatement: what this server answers and how to call it."""
    base = (current_app.config.get("PUBLIC_URL") or request.url_root).rstrip("/")
    return resource(definitions.capability(base + bp.url_prefix))


@bp.get("/<any(CodeSystem, StructureDefinition, OperationDefinition):kind>/<name>")
@public
def published(kind: str, name: str):
    """One of our published definitions (CodeSystem, StructureDefinition, OperationDefinition)."""
    build = definitions.PUBLISHED.get((kind, name))
    if build is None:
        return outcome(404, f"No {kind} named {name!r} is published here.")
    return resource(build())


@bp.post("/GuidanceResponse/$rems-etasu")
@keyed_pharmacy(outcome)
def rems_etasu():
    """The status of every requirement for one patient, as this pharmacy may know it."""
    if request.mimetype not in ACCEPTED:
        return outcome(415, "Send the Parameters as application/fhir+json.")
    try:
        given = Parameters.model_validate_json(request.get_data(cache=True) or b"")
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            return outcome(400, "The body is not valid JSON.")
        return invalid(exc)
    try:
        ask = etasu.read_ask(given)
        answer = etasu.etasu(get_session(), pharmacy=g.api_pharmacy, ask=ask,
                             now=clock.now())
    except Throttled as exc:
        return outcome(429, " ".join(exc.errors.values()),
                       headers={"Retry-After": str(exc.retry_after)})
    except Refused as exc:
        return outcome(422, "The operation's parameters are incomplete.",
                       issues=list(exc.errors.items()))
    return resource(answer)
