"""RFC 9457 problem details: every API error is `application/problem+json`."""

from http import HTTPStatus

from flask import Response, g, json

from compliance.services.errors import Conflict, NotFound, Refused, Throttled

PROBLEM_TYPE_BASE = "https://rems-compliance.dev/problems/"


def problem(status: int, detail: str, *, kind: str | None = None,
            errors: list[dict] | None = None, headers: dict | None = None) -> Response:
    """Build a problem response; `kind` names the problem type (defaults to the status)."""
    title = HTTPStatus(status).phrase
    body = {
        "type": PROBLEM_TYPE_BASE + (kind or title.lower().replace(" ", "-").replace("'", "")),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": f"urn:request:{g.get('request_id', '')}",
    }
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def refusal(exc: Refused) -> Response:
    """The problem for a service's refusal: 404, 409, 429, or 422 with one error per field."""
    detail = " ".join(exc.errors.values())
    if isinstance(exc, Throttled):
        return problem(429, detail, kind="too-many-lookups",
                       headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, NotFound):
        return problem(404, detail)
    if isinstance(exc, Conflict):
        return problem(409, detail, kind="conflict")
    return invalid(exc.errors)


def invalid(errors: dict[str, str]) -> Response:
    """422 for a well-formed body whose values the rules refuse."""
    listed = [{"field": field, "message": message} for field, message in errors.items()]
    return problem(422, "The request has invalid fields: " +
                   ", ".join(e["field"] or "(body)" for e in listed) + ".",
                   kind="validation-error", errors=listed)
